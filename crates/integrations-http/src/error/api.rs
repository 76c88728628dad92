//! [`ApiError`]: a non-success answer with the API's error body, parsed leniently.

use super::excerpt::{self, MAX_BODY_EXCERPT};
use http::{HeaderMap, Response, StatusCode};
use resilience_core::{HttpClassifier, Outcome};
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// The longest message, category or detail an [`ApiError`] keeps, in bytes.
const MAX_FIELD: usize = 1024;
/// The most per-field details an [`ApiError`] keeps.
const MAX_DETAILS: usize = 100;
/// The longest correlation id kept from a header, in bytes.
const MAX_ID: usize = 128;

/// The API answered with an error: its status and its error body, read without ever failing.
///
/// The body is read as HubSpot's JSON (`{status, message, correlationId, category,
/// subCategory, errors: [{message, in, code, ...}], context}`), as ManyChat's
/// (`{status: "error", message, details: {messages: [...]}, code}`), or as any other JSON object
/// with a `message` (or `error`, `error_description`, `detail`, `title`). Anything else (an
/// HTML error page from a proxy, plain text, an empty body, bytes that are not UTF-8) is kept
/// as text cut to [`MAX_BODY_EXCERPT`] bytes on a character boundary; an HTML page's `<title>`
/// becomes the message.
///
/// The retry verdict is the workspace's shared one ([`HttpClassifier`]), taken from the status
/// and headers when the error is built.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    outcome: Outcome,
    // Boxed, so `Result<_, HttpError>` stays small.
    body: Box<ParsedBody>,
}

/// What was read from the body.
#[derive(Debug, Clone, Default)]
struct ParsedBody {
    message: Option<String>,
    category: Option<String>,
    sub_category: Option<String>,
    code: Option<String>,
    correlation_id: Option<String>,
    details: Vec<ErrorDetail>,
    context: Option<Value>,
    json: Option<Value>,
    body_text: String,
}

/// One item of an error body's list of problems: HubSpot's `errors[]`, ManyChat's
/// `details.messages`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// What is wrong.
    pub message: String,
    /// The field or parameter concerned (HubSpot's `in`), when given.
    pub field: Option<String>,
    /// A machine-readable code, when given.
    pub code: Option<String>,
    /// HubSpot's `subCategory`, when given (as text; an object is kept as compact JSON).
    pub sub_category: Option<String>,
    /// HubSpot's `context` (name to values), when given.
    pub context: Option<Value>,
}

impl ErrorDetail {
    fn message(message: String, field: Option<String>) -> Self {
        Self {
            message,
            field,
            code: None,
            sub_category: None,
            context: None,
        }
    }
}

impl ParsedBody {
    fn read_json(&mut self, map: &Map<String, Value>) {
        self.message = first_text(map, &["message", "error_description", "detail", "title"])
            .or_else(|| match map.get("error") {
                Some(Value::Object(inner)) => field_text(inner, "message"),
                Some(other) => text_of(other),
                None => None,
            });
        self.category = first_text(map, &["category", "errorType"]);
        self.sub_category = field_text(map, "subCategory");
        self.code = field_text(map, "code");
        self.correlation_id = field_text(map, "correlationId");
        self.context = map.get("context").filter(|v| !v.is_null()).cloned();
        if let Some(errors) = map.get("errors") {
            collect_details(errors, None, &mut self.details);
        }
        if let Some(details) = map.get("details") {
            let messages = details
                .as_object()
                .and_then(|d| d.get("messages"))
                .unwrap_or(details);
            collect_details(messages, None, &mut self.details);
        }
    }
}

impl ApiError {
    /// Reads an error from a whole response.
    pub fn from_response<B: AsRef<[u8]>>(response: &Response<B>) -> Self {
        Self::from_parts(
            response.status(),
            response.headers(),
            response.body().as_ref(),
        )
    }

    /// Reads an error from a response's status, headers and body. Works for any status, so a
    /// client can also report an error body that came with a 200 (ManyChat does that).
    pub fn from_parts(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let outcome = HttpClassifier::new().classify_response_parts(status, headers);
        let mut error = ParsedBody {
            body_text: excerpt::head(body, MAX_BODY_EXCERPT),
            ..ParsedBody::default()
        };
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => {
                error.read_json(&map);
                error.json = Some(Value::Object(map));
            }
            _ => error.message = text_message(body),
        }
        if error.correlation_id.is_none() {
            error.correlation_id = header_text(headers, "x-hubspot-correlation-id")
                .or_else(|| header_text(headers, "x-request-id"))
                .or_else(|| {
                    error
                        .json
                        .as_ref()
                        .and_then(|json| field_text(json.as_object()?, "requestId"))
                });
        }
        Self {
            status,
            outcome,
            body: Box::new(error),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The shared classification of this answer ([`HttpClassifier`]).
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// `true` when repeating the request may succeed: the classifier says failure (5xx, 408,
    /// Cloudflare's 52x) or throttled (429, 423, 503/477 with `Retry-After`).
    pub fn is_retryable(&self) -> bool {
        self.outcome.is_retryable()
    }

    /// `true` for 429, and for any answer the classifier calls throttling.
    pub fn is_rate_limited(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS || self.outcome.is_throttled()
    }

    /// The wait the server asked for (`Retry-After`, or 2 s for HubSpot's 423), when throttled.
    pub fn retry_after(&self) -> Option<Duration> {
        self.outcome.retry_after()
    }

    /// The API's human-readable message (or an HTML page's title, or a text body's first line).
    pub fn message(&self) -> Option<&str> {
        self.body.message.as_deref()
    }

    /// HubSpot's `category` (or `errorType`, as in 429 bodies), e.g. `VALIDATION_ERROR`.
    pub fn category(&self) -> Option<&str> {
        self.body.category.as_deref()
    }

    /// HubSpot's `subCategory`, as text.
    pub fn sub_category(&self) -> Option<&str> {
        self.body.sub_category.as_deref()
    }

    /// The body's `code` (ManyChat's numeric codes such as `3011`, as text).
    pub fn code(&self) -> Option<&str> {
        self.body.code.as_deref()
    }

    /// The correlation id: the body's `correlationId`, else the `X-HubSpot-Correlation-Id` or
    /// `x-request-id` header, else the body's `requestId`.
    pub fn correlation_id(&self) -> Option<&str> {
        self.body.correlation_id.as_deref()
    }

    /// The body's list of per-field problems (HubSpot `errors`, ManyChat `details`).
    pub fn details(&self) -> &[ErrorDetail] {
        &self.body.details
    }

    /// HubSpot's `context` object, when given.
    pub fn context(&self) -> Option<&Value> {
        self.body.context.as_ref()
    }

    /// The whole body, when it was a JSON object.
    pub fn json(&self) -> Option<&Value> {
        self.body.json.as_ref()
    }

    /// The body's first [`MAX_BODY_EXCERPT`] bytes as text (`…` marks a cut; empty for an empty
    /// body).
    pub fn body_text(&self) -> &str {
        &self.body.body_text
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "api error {}", self.status.as_u16())?;
        if let Some(reason) = self.status.canonical_reason() {
            write!(f, " {reason}")?;
        }
        if let Some(message) = &self.body.message {
            write!(f, ": {message}")?;
        }
        match (&self.body.category, &self.body.correlation_id) {
            (Some(category), Some(id)) => write!(f, " ({category}, correlation id {id})"),
            (Some(category), None) => write!(f, " ({category})"),
            (None, Some(id)) => write!(f, " (correlation id {id})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}

/// A JSON value as short text: strings as they are, numbers and booleans printed, objects and
/// arrays as compact JSON; `null` is nothing.
fn text_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(excerpt::head(text.as_bytes(), MAX_FIELD))
}

fn field_text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(text_of)
}

fn first_text(map: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| field_text(map, key))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| excerpt::head(value.as_bytes(), MAX_ID))
}

/// Reads a list of problems in any of the shapes seen: an array of objects with a `message`
/// (and HubSpot's `in`, `code`, `subCategory`, `context`), an array of strings, a map of field
/// name to messages, or a single string.
fn collect_details(value: &Value, field: Option<&str>, out: &mut Vec<ErrorDetail>) {
    if out.len() >= MAX_DETAILS {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect_details(item, field, out);
            }
        }
        Value::Object(map) if map.contains_key("message") => {
            let mut detail = ErrorDetail::message(
                field_text(map, "message").unwrap_or_default(),
                first_text(map, &["in", "field"]).or_else(|| field.map(str::to_owned)),
            );
            detail.code = field_text(map, "code");
            detail.sub_category = field_text(map, "subCategory");
            detail.context = map.get("context").filter(|v| !v.is_null()).cloned();
            out.push(detail);
        }
        Value::Object(map) => {
            for (name, messages) in map {
                collect_details(messages, Some(name), out);
            }
        }
        Value::Null => {}
        other => {
            if let Some(message) = text_of(other) {
                out.push(ErrorDetail::message(message, field.map(str::to_owned)));
            }
        }
    }
}

/// The message of a body that is not a JSON object: an HTML page's `<title>`, else the first
/// non-blank line of text.
fn text_message(body: &[u8]) -> Option<String> {
    let start = excerpt::head(body, 4096);
    let lower = start.to_ascii_lowercase();
    if let Some(open) = lower.find("<title") {
        let after = open + lower[open..].find('>')? + 1;
        let close = after + lower[after..].find("</title")?;
        let title = start[after..close].trim();
        if !title.is_empty() {
            return Some(excerpt::head(title.as_bytes(), MAX_FIELD));
        }
    }
    if lower.trim_start().starts_with('<') {
        // Markup without a title: no line of it reads as a message.
        return None;
    }
    let line = start.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(excerpt::head(line.as_bytes(), 200))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn error(status: u16, headers: &[(&str, &str)], body: &str) -> ApiError {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        ApiError::from_parts(
            StatusCode::from_u16(status).expect("status"),
            &map,
            body.as_bytes(),
        )
    }

    #[test]
    fn hubspot_validation_error() {
        let body = r#"{"status":"error","message":"Property values were not valid","correlationId":"a43683b0-5717-4ceb-80b4-104d02915d8c","category":"VALIDATION_ERROR","subCategory":"crm.properties.INVALID","errors":[{"message":"Property \"emal\" does not exist","in":"emal","code":"PROPERTY_DOESNT_EXIST","context":{"propertyName":["emal"]}}],"context":{"invalidPropertyName":["emal"]}}"#;
        let err = error(400, &[], body);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(err.message(), Some("Property values were not valid"));
        assert_eq!(err.category(), Some("VALIDATION_ERROR"));
        assert_eq!(err.sub_category(), Some("crm.properties.INVALID"));
        assert_eq!(
            err.correlation_id(),
            Some("a43683b0-5717-4ceb-80b4-104d02915d8c")
        );
        assert_eq!(err.details().len(), 1);
        let detail = &err.details()[0];
        assert_eq!(detail.message, "Property \"emal\" does not exist");
        assert_eq!(detail.field.as_deref(), Some("emal"));
        assert_eq!(detail.code.as_deref(), Some("PROPERTY_DOESNT_EXIST"));
        assert_eq!(
            detail.context,
            Some(serde_json::json!({"propertyName": ["emal"]}))
        );
        assert_eq!(
            err.context(),
            Some(&serde_json::json!({"invalidPropertyName": ["emal"]}))
        );
        assert!(!err.is_retryable() && !err.is_rate_limited());
        assert_eq!(
            err.to_string(),
            "api error 400 Bad Request: Property values were not valid (VALIDATION_ERROR, \
             correlation id a43683b0-5717-4ceb-80b4-104d02915d8c)"
        );
    }

    #[test]
    fn hubspot_rate_limit_body_and_headers() {
        let body = r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c93e06a4","policyName":"TEN_SECONDLY_ROLLING","groupName":"publicapi:x"}"#;
        let err = error(429, &[("retry-after", "3")], body);
        assert!(err.is_rate_limited() && err.is_retryable());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(err.category(), Some("RATE_LIMIT"));
        assert_eq!(
            err.json().and_then(|j| j["policyName"].as_str()),
            Some("TEN_SECONDLY_ROLLING")
        );
        // 423 Locked is throttling with HubSpot's 2 s lock.
        let locked = error(423, &[], "");
        assert!(locked.is_rate_limited());
        assert_eq!(locked.retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn hubspot_spec_error_with_object_sub_category() {
        let body = r#"{"message":"Invalid input","correlationId":"aeb5","category":"VALIDATION_ERROR","subCategory":{"kind":"x"},"links":{"knowledge-base":"https://example.invalid"}}"#;
        let err = error(422, &[], body);
        assert_eq!(err.sub_category(), Some(r#"{"kind":"x"}"#));
        assert!(err.details().is_empty());
    }

    #[test]
    fn manychat_validation_error() {
        let body = r#"{"status":"error","message":"Validation error","details":{"messages":[{"message":"subscriber_id is required"},{"message":"text too long"}]}}"#;
        let err = error(400, &[], body);
        assert_eq!(err.message(), Some("Validation error"));
        let messages: Vec<&str> = err.details().iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["subscriber_id is required", "text too long"]);
        assert_eq!(err.correlation_id(), None);
        assert_eq!(
            err.to_string(),
            "api error 400 Bad Request: Validation error"
        );
    }

    #[test]
    fn manychat_other_detail_shapes_and_codes() {
        let by_field = r#"{"status":"error","message":"Validation error","details":{"messages":{"email":["is invalid","is taken"]}}}"#;
        let err = error(400, &[], by_field);
        assert_eq!(
            err.details(),
            &[
                ErrorDetail::message("is invalid".into(), Some("email".into())),
                ErrorDetail::message("is taken".into(), Some("email".into())),
            ]
        );
        let coded = r#"{"status":"error","message":"Subscriber not found","code":3011}"#;
        let err = error(400, &[], coded);
        assert_eq!(err.code(), Some("3011"));
        // ManyChat may report an error with a 200: the body is still read, the verdict is the
        // status's.
        let err = error(200, &[], coded);
        assert_eq!(err.message(), Some("Subscriber not found"));
        assert!(!err.is_retryable());
    }

    #[test]
    fn other_json_shapes() {
        assert_eq!(
            error(
                401,
                &[],
                r#"{"error":"invalid_token","error_description":"expired"}"#
            )
            .message(),
            Some("expired")
        );
        assert_eq!(
            error(500, &[], r#"{"error":{"message":"boom"}}"#).message(),
            Some("boom")
        );
        assert_eq!(
            error(404, &[], r#"{"error":"not found"}"#).message(),
            Some("not found")
        );
        // JSON that is not an object is text.
        let err = error(500, &[], r#"["a","b"]"#);
        assert!(err.json().is_none());
        assert_eq!(err.body_text(), r#"["a","b"]"#);
    }

    #[test]
    fn html_502_page_is_text_with_its_title() {
        let body = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>";
        let err = error(502, &[("x-hubspot-correlation-id", "corr-1")], body);
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(err.message(), Some("502 Bad Gateway"));
        assert_eq!(err.body_text(), body);
        assert!(err.json().is_none());
        assert_eq!(err.correlation_id(), Some("corr-1"));
        assert!(err.is_retryable() && !err.is_rate_limited());
        assert_eq!(
            err.to_string(),
            "api error 502 Bad Gateway: 502 Bad Gateway (correlation id corr-1)"
        );
        // Cloudflare's 524 has no canonical reason; markup without a title has no message.
        let err = error(524, &[], "<html><body>A timeout occurred</body></html>");
        assert_eq!(err.message(), None);
        assert_eq!(err.to_string(), "api error 524");
        assert!(err.is_retryable());
    }

    #[test]
    fn empty_and_plain_text_bodies() {
        let err = error(503, &[], "");
        assert_eq!(err.message(), None);
        assert_eq!(err.body_text(), "");
        assert!(err.details().is_empty() && err.json().is_none());
        assert_eq!(err.to_string(), "api error 503 Service Unavailable");
        let err = error(
            500,
            &[("x-request-id", "req-9")],
            "\n  upstream connect error\nmore",
        );
        assert_eq!(err.message(), Some("upstream connect error"));
        assert_eq!(err.correlation_id(), Some("req-9"));
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        // 511 ASCII bytes, then two-byte characters: byte 512 is inside a character.
        let body = format!("{}{}", "x".repeat(511), "é".repeat(300));
        let err = error(500, &[], &body);
        let text = err.body_text();
        assert!(text.len() <= MAX_BODY_EXCERPT + '…'.len_utf8());
        assert!(text.ends_with('…'));
        assert_eq!(text, format!("{}…", "x".repeat(511)));
        // Not UTF-8 at all: replaced, never a panic.
        let bytes: Vec<u8> = (0..2000).map(|i| (i % 256) as u8).collect();
        let err = ApiError::from_parts(StatusCode::BAD_GATEWAY, &HeaderMap::new(), &bytes);
        assert!(err.body_text().ends_with('…'));
    }

    #[test]
    fn correlation_id_prefers_the_body_then_headers_then_request_id() {
        let headers = [("x-hubspot-correlation-id", "from-header")];
        assert_eq!(
            error(400, &headers, r#"{"correlationId":"from-body"}"#).correlation_id(),
            Some("from-body")
        );
        assert_eq!(
            error(400, &headers, r#"{"requestId":"rid"}"#).correlation_id(),
            Some("from-header")
        );
        assert_eq!(
            error(400, &[], r#"{"requestId":"rid"}"#).correlation_id(),
            Some("rid")
        );
    }
}
