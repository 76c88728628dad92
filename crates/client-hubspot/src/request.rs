//! Building the HTTP request of one operation: path and query encoding, JSON body, and the
//! extensions (`Operation`, `Idempotent`, `Cacheable`) that tell the layers what it is.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, Uri, header};
use integrations_http::Body;
use integrations_http::{ApiError, decode_json};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use resilience_core::extensions::{Cacheable, Idempotent, Operation};
use resilience_ratelimit::{HUBSPOT_SEARCH_CLASS, RateClass};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::HubSpotError;
use crate::error::is_daily_limit_response;

/// Everything but RFC 3986 unreserved characters is encoded (path segments and query values).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment or query value.
pub(crate) fn encode(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, COMPONENT).into()
}

/// The operation names of one family, as `&'static str`s (`contacts.get`), so naming an
/// operation allocates nothing.
macro_rules! actions {
    ($family:literal, $action:expr) => {
        match $action {
            "get" => concat!($family, ".get"),
            "list" => concat!($family, ".list"),
            "create" => concat!($family, ".create"),
            "update" => concat!($family, ".update"),
            "archive" => concat!($family, ".archive"),
            "search" => concat!($family, ".search"),
            "batch_read" => concat!($family, ".batch_read"),
            "batch_create" => concat!($family, ".batch_create"),
            "batch_update" => concat!($family, ".batch_update"),
            "batch_upsert" => concat!($family, ".batch_upsert"),
            "batch_archive" => concat!($family, ".batch_archive"),
            _ => return None,
        }
    };
}

/// `KNOWN_TYPES` and the static name of `action` on a family.
macro_rules! families {
    ($($family:literal),* $(,)?) => {
        /// The object types whose operation names are spelled out (`contacts.get`); any other
        /// object type is labelled `objects.*`, so metric labels stay bounded.
        const KNOWN_TYPES: &[&str] = &[$($family),*];

        fn static_name(family: &str, action: &str) -> Option<&'static str> {
            Some(match family {
                $($family => actions!($family, action),)*
                "objects" => actions!("objects", action),
                _ => return None,
            })
        }
    };
}

families!(
    "contacts",
    "companies",
    "deals",
    "tickets",
    "products",
    "line_items",
    "quotes",
    "calls",
    "emails",
    "meetings",
    "notes",
    "tasks",
);

/// The bounded operation name of `action` on `object_type` (`contacts.get`, `objects.search`).
pub(crate) fn operation(object_type: &str, action: &str) -> Operation {
    let family = if KNOWN_TYPES.contains(&object_type) {
        object_type
    } else {
        "objects"
    };
    match static_name(family, action) {
        Some(name) => Operation::new(name),
        None => Operation(Cow::Owned(format!("{family}.{action}"))),
    }
}

/// Checks an object type or id before it goes into a path.
pub(crate) fn check_segment<'a>(what: &str, value: &'a str) -> Result<&'a str, HubSpotError> {
    if value.trim().is_empty() {
        Err(HubSpotError::InvalidInput(format!(
            "{what} must not be empty"
        )))
    } else {
        Ok(value)
    }
}

/// A query string under construction.
#[derive(Debug, Default)]
pub(crate) struct Query(String);

impl Query {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&mut self, name: &str, value: &str) -> &mut Self {
        self.0.push(if self.0.is_empty() { '?' } else { '&' });
        self.0.push_str(name);
        self.0.push('=');
        self.0.push_str(&encode(value));
        self
    }

    /// Adds an opaque paging cursor: verbatim when it is already query-safe (HubSpot may hand
    /// out cursors that are already percent-encoded), encoded otherwise.
    pub(crate) fn push_cursor(&mut self, name: &str, cursor: &str) -> &mut Self {
        let safe = cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b));
        if safe {
            self.0.push(if self.0.is_empty() { '?' } else { '&' });
            self.0.push_str(name);
            self.0.push('=');
            self.0.push_str(cursor);
            self
        } else {
            self.push(name, cursor)
        }
    }

    /// Adds a comma-separated list, if it is not empty.
    pub(crate) fn push_list(&mut self, name: &str, values: &[String]) -> &mut Self {
        if !values.is_empty() {
            self.0.push(if self.0.is_empty() { '?' } else { '&' });
            self.0.push_str(name);
            self.0.push('=');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(&encode(value));
            }
        }
        self
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Decodes a 2xx JSON body into `T` (a blank body reads as `null`); any other status is the
/// API's error ([`HubSpotError::DailyLimit`] exactly when [`is_daily_limit_response`] says so,
/// as the stack's classifier does).
///
/// The common case is one plain `serde_json` pass. Only when it fails is the body decoded again
/// by [`decode_json`], which tracks the JSON path to name where the body did not fit.
pub(crate) fn decode<T: DeserializeOwned>(response: &Response<Bytes>) -> Result<T, HubSpotError> {
    if response.status().is_success() {
        let body = response.body();
        let input: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            body
        };
        if let Ok(value) = serde_json::from_slice(input) {
            return Ok(value);
        }
    } else if is_daily_limit_response(response.status(), response.headers(), response.body()) {
        return Err(HubSpotError::DailyLimit(ApiError::from_response(response)));
    }
    decode_json(response).map_err(HubSpotError::from)
}

/// One operation's request, before it becomes an `http::Request`.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    path: String,
    body: Option<Bytes>,
    operation: Operation,
    idempotent: bool,
    cacheable: bool,
    search: bool,
}

impl Call {
    pub(crate) fn new(method: Method, path: String, operation: Operation) -> Self {
        Self {
            method,
            path,
            body: None,
            operation,
            idempotent: false,
            cacheable: false,
            search: false,
        }
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self, HubSpotError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            HubSpotError::InvalidInput(format!("request body does not serialize: {e}"))
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Marks a `POST` that has no side effect (batch read, search), so retry may repeat it.
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Marks a read whose answer the cache layer may keep.
    pub(crate) fn cacheable(mut self) -> Self {
        self.cacheable = true;
        self
    }

    /// Marks a search, which the rate limiter keeps on its own bucket (HubSpot limits search
    /// separately and sends no rate-limit headers with it).
    pub(crate) fn search(mut self) -> Self {
        self.search = true;
        self
    }

    pub(crate) fn into_request(self) -> Result<Request<Body>, HubSpotError> {
        // The path's buffer becomes the URI's without a copy; the header values are static.
        let uri = Uri::from_maybe_shared(Bytes::from(self.path))
            .map_err(|e| HubSpotError::InvalidInput(format!("invalid request: {e}")))?;
        let json = HeaderValue::from_static("application/json");
        let has_body = self.body.is_some();
        let mut request = Request::new(Body::new(self.body.unwrap_or_default()));
        *request.method_mut() = self.method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(header::ACCEPT, json.clone());
        if has_body {
            headers.insert(header::CONTENT_TYPE, json);
        }
        let extensions = request.extensions_mut();
        extensions.insert(self.operation);
        if self.idempotent {
            extensions.insert(Idempotent);
        }
        if self.cacheable {
            extensions.insert(Cacheable);
        }
        if self.search {
            extensions.insert(RateClass::new(HUBSPOT_SEARCH_CLASS));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_segments_and_queries() {
        assert_eq!(encode("jon@website.com"), "jon%40website.com");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(encode("NTI1Cg%3D%3D"), "NTI1Cg%253D%253D");
        let mut q = Query::new();
        q.push("limit", "10")
            .push_list("properties", &["email".into(), "first name".into()])
            .push_list("associations", &[]);
        assert_eq!(q.as_str(), "?limit=10&properties=email,first%20name");
    }

    #[test]
    fn operation_names_are_bounded() {
        assert_eq!(operation("contacts", "get").as_str(), "contacts.get");
        assert_eq!(operation("2-12345", "get").as_str(), "objects.get");
    }

    #[test]
    fn requests_carry_their_markers() {
        let request = Call::new(
            Method::POST,
            "/crm/v3/objects/contacts/search".into(),
            operation("contacts", "search"),
        )
        .json(&serde_json::json!({"limit": 1}))
        .unwrap()
        .idempotent()
        .search()
        .into_request()
        .unwrap();
        assert!(request.extensions().get::<Idempotent>().is_some());
        assert!(request.extensions().get::<Cacheable>().is_none());
        assert_eq!(
            request.extensions().get::<Operation>().unwrap().as_str(),
            "contacts.search"
        );
        assert_eq!(request.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            request.extensions().get::<RateClass>(),
            Some(&RateClass::new("search"))
        );
        assert!(check_segment("id", " ").is_err());
    }
}
