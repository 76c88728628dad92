//! [`HubSpotError`]: the error of every operation, and [`BuildError`]: the error of building a
//! client.

use std::borrow::Cow;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use integrations_http::{ApiError, DecodeError, ErrorDetail, HttpError};
use resilience_core::{Rejected, find_in_chain};

/// Everything that can go wrong with one HubSpot operation.
///
/// Built on the workspace's [`HttpError`]: a HubSpot error body is read leniently into an
/// [`ApiError`] (JSON with category, message and per-field errors, an HTML proxy page, an empty
/// body), and the predicates follow the workspace's shared classification. A `429` for the
/// account's **daily** limit is its own variant, [`HubSpotError::DailyLimit`], and is never
/// retryable: nothing changes before the reset (midnight in the account's time zone).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubSpotError {
    /// HubSpot answered with a status outside 2xx; the body is read in the [`ApiError`].
    #[error("hubspot {0}")]
    Api(#[source] ApiError),
    /// The account's daily request limit is spent (`429` with `policyName: DAILY`). Retrying
    /// before the daily reset cannot succeed.
    #[error("hubspot daily request limit reached; no request can succeed before the daily reset")]
    DailyLimit(#[source] ApiError),
    /// A 2xx body did not decode into the expected type; the error names the JSON path.
    #[error("hubspot {0}")]
    Decode(#[source] DecodeError),
    /// No answer was read: the transport failed, a timeout elapsed, or a local layer (breaker,
    /// rate limiter) refused the request. The [`HttpError`] says which.
    #[error("hubspot request failed: {0}")]
    Http(#[source] HttpError),
    /// The outcome of a write (create, update, batch create/update/upsert/archive) is unknown:
    /// the request may have reached HubSpot and been applied, but no answer says so. The
    /// connection dropped or a timeout (attempt or total) elapsed after the request may have
    /// been written, or HubSpot answered a 5xx other than `503` (which can come after the write
    /// was applied). It was not repeated, since repeating could create a second object, and it
    /// is not [retryable](Self::is_retryable): read the object back (by a unique property) before
    /// writing again. [`status`](Self::status), [`message`](Self::message) and
    /// [`correlation_id`](Self::correlation_id) still answer when there was an answer.
    #[error("outcome unknown: hubspot {operation} may or may not have been applied")]
    OutcomeUnknown {
        /// The operation, e.g. `contacts.create`.
        operation: Cow<'static, str>,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// The input was refused before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client was closed with [`HubSpotClient::close`](crate::HubSpotClient::close).
    #[error("the hubspot client is closed")]
    Closed,
    /// A list or search stream got back the cursor it had just sent, so the next page would be
    /// the same one again, forever; the stream yielded that page and ended with this error.
    #[error("hubspot paging did not advance: cursor `{after}` came back for the next page")]
    CursorLoop {
        /// The cursor HubSpot handed back.
        after: String,
    },
}

impl HubSpotError {
    /// The HTTP status HubSpot answered with, for [`Api`](Self::Api),
    /// [`DailyLimit`](Self::DailyLimit) and [`Decode`](Self::Decode) errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(api) | Self::DailyLimit(api) => Some(api.status()),
            Self::Decode(decode) => Some(decode.status()),
            Self::OutcomeUnknown { source, .. } => source.status(),
            _ => None,
        }
    }

    /// `true` for [`HubSpotError::OutcomeUnknown`]: a write may or may not have been applied.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// `true` for a `404`: the object (or the route) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// `true` when the request was throttled: HubSpot answered `429` (any policy, the daily
    /// limit included) or something the shared classifier calls throttling (`423`, `503` with
    /// `Retry-After`), or the local rate limiter refused to wait that long for a permit.
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Self::Api(api) => api.is_rate_limited(),
            Self::DailyLimit(_) => true,
            Self::Http(http @ HttpError::Rejected { .. }) => {
                find_in_chain::<Rejected>(http).is_some_and(|r| r.layer() == "rate_limiter")
            }
            _ => false,
        }
    }

    /// `true` for [`HubSpotError::DailyLimit`].
    pub fn is_daily_limit(&self) -> bool {
        matches!(self, Self::DailyLimit(_))
    }

    /// `true` when repeating the operation later may succeed: a 5xx, a burst `429`, a transport
    /// failure or a timeout. Never for the daily limit, a caller's 4xx, a decode failure, a
    /// local rejection, invalid input or a closed client.
    ///
    /// Never for [`OutcomeUnknown`](Self::OutcomeUnknown) either: a write that may have been
    /// applied is not repeated blindly.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(api) => api.is_retryable(),
            Self::Http(http) => http.is_retryable(),
            Self::OutcomeUnknown { .. }
            | Self::DailyLimit(_)
            | Self::Decode(_)
            | Self::InvalidInput(_)
            | Self::Closed
            | Self::CursorLoop { .. } => false,
        }
    }

    /// `true` when a timeout (attempt or total) elapsed (also for a write whose outcome that
    /// made unknown).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Http(http) | Self::OutcomeUnknown { source: http, .. } if http.is_timeout())
    }

    /// `true` when a local layer (an open circuit breaker, a rate-limit wait beyond the deadline)
    /// refused the request before it reached HubSpot.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Self::Http(HttpError::Rejected { .. }))
    }

    /// HubSpot's error category (`VALIDATION_ERROR`, `OBJECT_NOT_FOUND`, `RATE_LIMIT`, ...).
    pub fn category(&self) -> Option<&str> {
        self.api()?.category()
    }

    /// HubSpot's human-readable message.
    pub fn message(&self) -> Option<&str> {
        self.api()?.message()
    }

    /// The correlation id to quote to HubSpot support (from the body, or the
    /// `X-HubSpot-Correlation-Id` header).
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Api(api) | Self::DailyLimit(api) => api.correlation_id(),
            Self::Decode(decode) => decode.correlation_id(),
            Self::Http(http) | Self::OutcomeUnknown { source: http, .. } => http.correlation_id(),
            _ => None,
        }
    }

    /// HubSpot's per-field errors (`errors[]`: message, `in`, code, context).
    pub fn details(&self) -> &[ErrorDetail] {
        self.api().map_or(&[], ApiError::details)
    }

    /// The rate-limit policy a `429` names (`TEN_SECONDLY_ROLLING`, `SECONDLY`, `DAILY`).
    pub fn policy_name(&self) -> Option<&str> {
        self.api()?.json()?.get("policyName")?.as_str()
    }

    /// The wait HubSpot (`Retry-After`) or a local layer (an open breaker) asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(api) | Self::DailyLimit(api) => api.retry_after(),
            Self::Http(http) | Self::OutcomeUnknown { source: http, .. } => http.retry_after(),
            _ => None,
        }
    }

    /// The error body, for [`Api`](Self::Api) and [`DailyLimit`](Self::DailyLimit) errors, and
    /// for an [`OutcomeUnknown`](Self::OutcomeUnknown) that came with an answer (a 5xx).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) | Self::DailyLimit(api) => Some(api),
            Self::OutcomeUnknown { source, .. } => source.api(),
            _ => None,
        }
    }

    /// The JSON path that failed to decode, for [`Decode`](Self::Decode) errors.
    pub fn decode_path(&self) -> Option<&str> {
        match self {
            Self::Decode(decode) => Some(decode.path()),
            _ => None,
        }
    }
}

impl HubSpotError {
    /// What a write's failure means to its caller: [`OutcomeUnknown`](Self::OutcomeUnknown)
    /// when the request may have reached HubSpot (a transport failure that is not a provable
    /// not-sent, a timeout, an unread body), the error as it is otherwise (a local rejection,
    /// a not-sent, an API answer).
    pub(crate) fn for_write(self, operation: Cow<'static, str>) -> Self {
        match self {
            Self::Http(source) if may_have_reached_hubspot(&source) => {
                Self::OutcomeUnknown { operation, source }
            }
            other => other,
        }
    }
}

/// `true` when a failure without an answer does not prove the request stayed local.
fn may_have_reached_hubspot(error: &HttpError) -> bool {
    !error.is_not_sent()
        && matches!(
            error,
            HttpError::Transport(_)
                | HttpError::Timeout(_)
                | HttpError::BodyTooLarge { .. }
                | HttpError::Other(_)
        )
}

/// `true` for an answer to a write that does not show whether it was applied: any 5xx but
/// `503` (a refusal before processing: overloaded, or throttling with `Retry-After`).
pub(crate) fn may_have_been_applied(status: StatusCode) -> bool {
    status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE
}

impl From<HttpError> for HubSpotError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Api(api) if is_daily_limit_error(&api) => Self::DailyLimit(api),
            HttpError::Api(api) => Self::Api(api),
            HttpError::Decode(decode) => Self::Decode(decode),
            other => Self::Http(other),
        }
    }
}

impl From<resilience_core::BoxError> for HubSpotError {
    fn from(error: resilience_core::BoxError) -> Self {
        Self::from(HttpError::from(error))
    }
}

fn is_daily_limit_error(api: &ApiError) -> bool {
    if api.status() != StatusCode::TOO_MANY_REQUESTS {
        return false;
    }
    match api.json().and_then(|json| json.get("policyName")?.as_str()) {
        Some(policy) => policy.eq_ignore_ascii_case("DAILY"),
        None => api
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("daily limit")),
    }
}

/// `true` when a response is HubSpot's daily-limit `429`: `policyName` `DAILY` in the body, or,
/// for a body without a policy, a message that names the daily limit or
/// `X-HubSpot-RateLimit-Daily-Remaining: 0`.
///
/// The default stack's classifier uses it so that retry never repeats such a call, and the
/// typed operations use it to report such an answer as [`HubSpotError::DailyLimit`]: the two
/// always agree.
pub fn is_daily_limit_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> bool {
    if status != StatusCode::TOO_MANY_REQUESTS {
        return false;
    }
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let field = |name: &str| json.as_ref()?.get(name)?.as_str();
    match field("policyName") {
        Some(policy) => policy.eq_ignore_ascii_case("DAILY"),
        None => {
            field("message").is_some_and(|m| m.to_ascii_lowercase().contains("daily limit"))
                || headers
                    .get("x-hubspot-ratelimit-daily-remaining")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim() == "0")
        }
    }
}

/// The error of building a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration is invalid (every problem, each naming its variable or field).
    #[error(transparent)]
    Config(#[from] integrations_config::ConfigErrors),
    /// No token was given.
    #[error("no hubspot token was given")]
    MissingToken,
    /// The base URL is not an http(s) URL with a host.
    #[error("invalid hubspot base url")]
    BaseUrl(#[from] integrations_config::BaseUrlError),
    /// The base URL cannot be used as the API's base URI.
    #[error("invalid hubspot base url")]
    BaseUri(#[from] integrations_http::InvalidBaseUri),
    /// The token cannot be sent as a bearer token.
    #[error("invalid hubspot token")]
    Auth(#[from] integrations_http::InvalidBearerAuth),
    /// The transport could not be built.
    #[error("failed to build the http transport")]
    Transport(#[from] integrations_http::BuildError),
    /// A layer's settings were refused.
    #[error("invalid {layer} settings: {message}")]
    Layer {
        /// The layer (`retry`, `circuit_breaker`, `rate_limit`, `cache`).
        layer: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::Response;

    fn api_error(status: u16, headers: &[(&str, &str)], body: &str) -> HubSpotError {
        let mut response = Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        let response = response
            .body(Bytes::copy_from_slice(body.as_bytes()))
            .unwrap();
        HubSpotError::from(
            integrations_http::decode_json::<serde_json::Value>(&response).unwrap_err(),
        )
    }

    #[test]
    fn validation_error_carries_the_hubspot_body() {
        let err = api_error(
            400,
            &[],
            r#"{"status":"error","message":"Property values were not valid","correlationId":"c-1",
               "category":"VALIDATION_ERROR","errors":[{"message":"Property \"x\" does not exist","in":"x","code":"PROPERTY_DOESNT_EXIST"}]}"#,
        );
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(err.category(), Some("VALIDATION_ERROR"));
        assert_eq!(err.correlation_id(), Some("c-1"));
        assert_eq!(err.details()[0].field.as_deref(), Some("x"));
        assert!(!err.is_retryable() && !err.is_not_found() && !err.is_rate_limited());
        assert!(
            err.to_string().starts_with("hubspot api error 400"),
            "{err}"
        );
    }

    #[test]
    fn burst_429_is_rate_limited_and_retryable() {
        let err = api_error(
            429,
            &[("retry-after", "2")],
            r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c","policyName":"TEN_SECONDLY_ROLLING"}"#,
        );
        assert!(matches!(err, HubSpotError::Api(_)));
        assert!(err.is_rate_limited() && err.is_retryable() && !err.is_daily_limit());
        assert_eq!(err.policy_name(), Some("TEN_SECONDLY_ROLLING"));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(err.category(), Some("RATE_LIMIT"));
    }

    #[test]
    fn daily_429_is_its_own_variant_and_never_retryable() {
        let body = r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c033","policyName":"DAILY"}"#;
        let err = api_error(429, &[], body);
        assert!(err.is_daily_limit() && err.is_rate_limited());
        assert!(!err.is_retryable());
        assert_eq!(err.correlation_id(), Some("c033"));
        assert!(err.to_string().contains("daily"), "{err}");
        assert!(is_daily_limit_response(
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            body.as_bytes()
        ));
        let mut headers = HeaderMap::new();
        headers.insert("x-hubspot-ratelimit-daily-remaining", "0".parse().unwrap());
        assert!(is_daily_limit_response(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            b""
        ));
        assert!(!is_daily_limit_response(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            br#"{"policyName":"TEN_SECONDLY_ROLLING"}"#
        ));
        assert!(!is_daily_limit_response(
            StatusCode::OK,
            &headers,
            body.as_bytes()
        ));
        // Without a policy, the message names the daily limit: the classifier and the error
        // mapping agree.
        let message_only = r#"{"status":"error","message":"You have reached your daily limit."}"#;
        assert!(is_daily_limit_response(
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            message_only.as_bytes()
        ));
        assert!(api_error(429, &[], message_only).is_daily_limit());
    }

    #[test]
    fn a_daily_limit_known_only_from_the_headers_is_reported_as_such() {
        // No policy in the body, but `Daily-Remaining: 0`: the classifier calls it the daily
        // limit (so nothing retries it), and so does the typed error.
        let response = Response::builder()
            .status(429)
            .header("x-hubspot-ratelimit-daily-remaining", "0")
            .body(Bytes::from_static(
                br#"{"status":"error","message":"Too many"}"#,
            ))
            .unwrap();
        let err = crate::request::decode::<serde_json::Value>(&response).unwrap_err();
        assert!(err.is_daily_limit() && !err.is_retryable(), "{err:?}");
        let burst = Response::builder()
            .status(429)
            .body(Bytes::from_static(
                br#"{"policyName":"TEN_SECONDLY_ROLLING"}"#,
            ))
            .unwrap();
        let err = crate::request::decode::<serde_json::Value>(&burst).unwrap_err();
        assert!(!err.is_daily_limit() && err.is_retryable(), "{err:?}");
    }

    #[test]
    fn not_found_and_html_gateway_errors() {
        let err = api_error(
            404,
            &[],
            r#"{"category":"OBJECT_NOT_FOUND","message":"nope"}"#,
        );
        assert!(err.is_not_found() && !err.is_retryable());
        let err = api_error(
            502,
            &[],
            "<html><head><title>502 Bad Gateway</title></head></html>",
        );
        assert!(err.is_retryable() && !err.is_not_found());
        assert_eq!(err.message(), Some("502 Bad Gateway"));
        assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    }

    #[test]
    fn local_errors() {
        assert!(!HubSpotError::Closed.is_retryable());
        assert_eq!(
            HubSpotError::InvalidInput("empty id".into()).to_string(),
            "invalid input: empty id"
        );
        let rejected: resilience_core::BoxError = Box::new(resilience_core::Rejected::new(
            "circuit_breaker",
            Some(Duration::from_secs(1)),
        ));
        let err = HubSpotError::from(rejected);
        assert!(err.is_rejected() && !err.is_retryable());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    }
}
