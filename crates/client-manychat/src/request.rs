//! Building the HTTP request of one operation: the endpoint table entry, query encoding, JSON
//! body, and the extensions (`Operation`, `Cacheable`) that tell the layers what it is.

use std::borrow::Cow;

use bytes::Bytes;
use http::{Method, Request, header};
use integrations_http::Body;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use resilience_core::extensions::{Cacheable, Operation};
use serde::Serialize;

use crate::error::{InvalidArgument, ManyChatError};

/// Everything but RFC 3986 unreserved characters is encoded in query values.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one query value.
pub(crate) fn encode(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, COMPONENT).into()
}

/// One ManyChat endpoint: its bounded operation name (the metrics label), method, path, and
/// whether its answer may be cached. Every `POST` is a write; every `GET` a read.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) cacheable: bool,
}

impl Endpoint {
    /// A read.
    pub(crate) const fn get(operation: &'static str, path: &'static str) -> Self {
        Self {
            operation,
            method: Method::GET,
            path,
            cacheable: false,
        }
    }

    /// A read whose answer the cache may keep (page data).
    pub(crate) const fn cached(operation: &'static str, path: &'static str) -> Self {
        Self {
            operation,
            method: Method::GET,
            path,
            cacheable: true,
        }
    }

    /// A write (never repeated after an ambiguous failure).
    pub(crate) const fn post(operation: &'static str, path: &'static str) -> Self {
        Self {
            operation,
            method: Method::POST,
            path,
            cacheable: false,
        }
    }

    /// `true` for writes (sends included).
    pub(crate) fn is_write(&self) -> bool {
        self.method == Method::POST
    }
}

/// One operation's request, before it becomes an `http::Request`.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) endpoint: &'static Endpoint,
    query: String,
    body: Option<Bytes>,
}

impl Call {
    pub(crate) fn new(endpoint: &'static Endpoint) -> Self {
        Self {
            endpoint,
            query: String::new(),
            body: None,
        }
    }

    /// Adds a query parameter (the value is percent-encoded).
    pub(crate) fn query(mut self, name: &str, value: &str) -> Self {
        self.query
            .push(if self.query.is_empty() { '?' } else { '&' });
        self.query.push_str(name);
        self.query.push('=');
        self.query.push_str(&encode(value));
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self, ManyChatError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|_| InvalidArgument::new("body", "does not serialise to JSON"))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    pub(crate) fn into_request(self) -> Result<Request<Body>, ManyChatError> {
        let uri = format!("{}{}", self.endpoint.path, self.query);
        let mut builder = Request::builder()
            .method(self.endpoint.method.clone())
            .uri(uri)
            .header(header::ACCEPT, "application/json");
        if self.body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let mut request = builder
            .body(Body::new(self.body.unwrap_or_default()))
            .map_err(|_| InvalidArgument::new("request", "is not a valid HTTP request"))?;
        let extensions = request.extensions_mut();
        extensions.insert(Operation::new(self.endpoint.operation));
        if self.endpoint.cacheable {
            extensions.insert(Cacheable);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static INFO: Endpoint = Endpoint::cached("page.info", "/fb/page/getInfo");
    static FIND: Endpoint = Endpoint::get(
        "subscribers.find_by_system_field",
        "/fb/subscriber/findBySystemField",
    );
    static SEND: Endpoint = Endpoint::post("sending.send_content", "/fb/sending/sendContent");

    #[test]
    fn requests_carry_operation_and_cacheability() {
        let request = Call::new(&INFO).into_request().expect("request");
        assert_eq!(request.uri(), "/fb/page/getInfo");
        assert_eq!(
            request.extensions().get::<Operation>(),
            Some(&Operation::new("page.info"))
        );
        assert!(request.extensions().get::<Cacheable>().is_some());
        let request = Call::new(&FIND)
            .query("phone", "+1 540/000")
            .into_request()
            .expect("request");
        assert_eq!(
            request.uri(),
            "/fb/subscriber/findBySystemField?phone=%2B1%20540%2F000"
        );
        assert!(request.extensions().get::<Cacheable>().is_none());
        let request = Call::new(&SEND)
            .json(&serde_json::json!({"subscriber_id": 1}))
            .expect("json")
            .into_request()
            .expect("request");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.headers()[header::CONTENT_TYPE], "application/json");
        assert!(SEND.is_write() && !FIND.is_write());
    }
}
