//! A fully-buffered response, built by the API handlers and turned into hyper's by the server.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// Headers are boxed to keep `Result<_, Reply>` small.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: Box<HeaderMap>,
    pub(crate) body: Bytes,
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl Reply {
    pub(crate) fn json(code: u16, value: &Value) -> Self {
        let mut r = Self::raw(code, Bytes::from(value.to_string()));
        r.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        r
    }

    pub(crate) fn raw(code: u16, body: Bytes) -> Self {
        Self {
            status: status(code),
            headers: Box::default(),
            body,
        }
    }

    pub(crate) fn empty(code: u16) -> Self {
        Self::raw(code, Bytes::new())
    }

    pub(crate) fn text(code: u16, content_type: &'static str, body: String) -> Self {
        let mut r = Self::raw(code, Bytes::from(body));
        r.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    }

    /// The HTML page a proxy in front of an API answers with.
    pub(crate) fn html_error(code: u16) -> Self {
        let st = status(code);
        let title = format!(
            "{} {}",
            st.as_u16(),
            st.canonical_reason().unwrap_or("Error")
        );
        Self::text(
            code,
            "text/html",
            format!(
                "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
            ),
        )
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
        self
    }

    pub(crate) fn retry_after(mut self, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(RETRY_AFTER, v);
        }
        self
    }
}
