//! [`ManyChatError`]: everything a client call can return, and [`InvalidArgument`].

use crate::message::ValidationError;
use http::StatusCode;
use integrations_http::{ApiError, HttpError};
use resilience_core::{Rejected, find_in_chain};
use std::fmt;
use std::time::Duration;

/// An argument the client refused before sending anything (an empty email, a bad field
/// combination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArgument {
    /// The argument or body field concerned.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl InvalidArgument {
    pub(crate) const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

impl fmt::Display for InvalidArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid argument {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidArgument {}

/// The error of a ManyChat call.
///
/// - The API refused the request: [`Api`](Self::Api), whatever the HTTP status (ManyChat also
///   refuses with `200 {"status":"error"}`).
/// - The call could not be completed: [`Http`](Self::Http) (transport, timeouts, an open
///   breaker, a rate-limit wait longer than the deadline, an undecodable body).
/// - A send or other write failed after it may have reached ManyChat:
///   [`OutcomeUnknown`](Self::OutcomeUnknown). It is never retried, since ManyChat has no
///   idempotency key; the workflow decides.
/// - Nothing was sent: [`InvalidMessage`](Self::InvalidMessage),
///   [`InvalidArgument`](Self::InvalidArgument), [`Closed`](Self::Closed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManyChatError {
    /// ManyChat answered `{"status":"error", ...}` (with any HTTP status, 200 included), or a
    /// non-2xx status; its message, `details` and `code` are in the [`ApiError`].
    #[error("manychat {operation} failed: {source}")]
    Api {
        /// The operation, e.g. `sending.send_content`.
        operation: &'static str,
        /// The API's answer.
        #[source]
        source: ApiError,
    },
    /// The outcome of a write is unknown: the request may have reached ManyChat (the connection
    /// dropped or a timeout fired after it was written, the answer could not be read, or it was
    /// a 5xx other than 503, which can come after the write was applied). It was not retried,
    /// because repeating it could deliver a message twice; [`status`](Self::status) and
    /// [`message`](Self::message) still answer when there was an answer.
    #[error("outcome unknown: manychat {operation} may or may not have been applied")]
    OutcomeUnknown {
        /// The operation, e.g. `sending.send_content`.
        operation: &'static str,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// The call did not complete: transport failure, timeout, local rejection (open breaker,
    /// rate limit), or an answer that could not be decoded.
    #[error("manychat {operation} failed")]
    Http {
        /// The operation, e.g. `page.info`.
        operation: &'static str,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// The message broke a validation rule; nothing was sent.
    #[error(transparent)]
    InvalidMessage(#[from] ValidationError),
    /// An argument was refused; nothing was sent.
    #[error(transparent)]
    InvalidArgument(#[from] InvalidArgument),
    /// The client was closed with [`close`](crate::ManyChatClient::close); nothing was sent.
    #[error("manychat client is closed")]
    Closed,
}

impl ManyChatError {
    /// The [`ApiError`], when ManyChat refused the request.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api { source, .. } => Some(source),
            Self::Http { source, .. } | Self::OutcomeUnknown { source, .. } => source.api(),
            _ => None,
        }
    }

    /// The HTTP status of ManyChat's answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { source, .. } => Some(source.status()),
            Self::Http { source, .. } | Self::OutcomeUnknown { source, .. } => source.status(),
            _ => None,
        }
    }

    /// ManyChat's numeric error `code` (e.g. 3011: message tag needed outside the 24-hour
    /// window), when the answer carried one.
    pub fn code(&self) -> Option<u32> {
        self.api()?.code()?.trim().parse().ok()
    }

    /// ManyChat's error message, when the answer carried one.
    pub fn message(&self) -> Option<&str> {
        self.api()?.message()
    }

    /// The operation that failed, when a request was made.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Self::Api { operation, .. }
            | Self::OutcomeUnknown { operation, .. }
            | Self::Http { operation, .. } => Some(operation),
            _ => None,
        }
    }

    /// `true` when the outcome of a write is unknown (see
    /// [`OutcomeUnknown`](Self::OutcomeUnknown)).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// `true` when nothing was sent because of the message or an argument.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidMessage(_) | Self::InvalidArgument(_))
    }

    /// `true` for a rate-limit refusal by ManyChat (429) or a local rate-limit rejection.
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Self::Api { source, .. } => source.is_rate_limited(),
            Self::Http { source, .. } => {
                source.is_rate_limited() || self.rejected_by() == Some("rate_limiter")
            }
            _ => false,
        }
    }

    /// The name of the local layer that refused the call (`"circuit_breaker"`,
    /// `"rate_limiter"`, `"retry"`), for a [`is_rejected`](Self::is_rejected) error.
    pub fn rejected_by(&self) -> Option<&'static str> {
        match self {
            Self::Http {
                source: HttpError::Rejected { source, .. },
                ..
            } => find_in_chain::<Rejected>(&**source).map(Rejected::layer),
            _ => None,
        }
    }

    /// `true` when a local layer refused the call before it reached ManyChat (an open circuit
    /// breaker, a rate-limit wait longer than the deadline).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self,
            Self::Http {
                source: HttpError::Rejected { .. },
                ..
            }
        )
    }

    /// `true` when the call timed out and nothing suggests it reached ManyChat (a read, or a
    /// write whose connection never opened).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Http { source, .. } if source.is_timeout())
    }

    /// `true` when trying the same call again later may succeed: a transient failure or
    /// throttling by ManyChat, a timeout, or a local rejection (after its
    /// [`retry_after`](Self::retry_after)). Never for [`OutcomeUnknown`](Self::OutcomeUnknown)
    /// (check first), invalid input, or a refusal such as a missing message tag.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { source, .. } => source.is_retryable(),
            Self::Http { source, .. } => source.is_retryable() || self.is_rejected(),
            _ => false,
        }
    }

    /// How long ManyChat or a local layer asked to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { source, .. } => source.retry_after(),
            Self::Http { source, .. } => source.retry_after(),
            _ => None,
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
    #[error("no manychat token was given")]
    MissingToken,
    /// The base URL is not an http(s) URL with a host.
    #[error("invalid manychat base url")]
    BaseUrl(#[from] integrations_config::BaseUrlError),
    /// The base URL cannot be used as the API's base URI.
    #[error("invalid manychat base url")]
    BaseUri(#[from] integrations_http::InvalidBaseUri),
    /// The token cannot be sent as a bearer token.
    #[error("invalid manychat token")]
    Auth(#[from] integrations_http::InvalidBearerAuth),
    /// The transport could not be built.
    #[error("failed to build the http transport")]
    Transport(#[from] integrations_http::BuildError),
    /// A layer's settings were refused.
    #[error("invalid {layer} settings: {message}")]
    Layer {
        /// The layer (`retry`, `circuit_breaker`, `rate_limit`, `cache`, `metrics`).
        layer: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn api_errors_expose_manychat_fields() {
        let api = ApiError::from_parts(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"status":"error","message":"Subscriber's last interaction was more than 24 hours ago","code":3011}"#,
        );
        let error = ManyChatError::Api {
            operation: "sending.send_content",
            source: api,
        };
        assert_eq!(error.code(), Some(3011));
        assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
        assert!(!error.is_retryable() && !error.is_outcome_unknown());
        assert!(
            error
                .to_string()
                .starts_with("manychat sending.send_content failed: api error 400")
        );
    }

    #[test]
    fn outcome_unknown_says_so() {
        let error = ManyChatError::OutcomeUnknown {
            operation: "sending.send_content",
            source: HttpError::Other("connection reset".into()),
        };
        assert_eq!(
            error.to_string(),
            "outcome unknown: manychat sending.send_content may or may not have been applied"
        );
        assert!(error.is_outcome_unknown() && !error.is_retryable());
    }
}
