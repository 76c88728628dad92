//! The HTTP error type: [`HttpError`], [`ApiError`] (the API's error body read leniently),
//! [`DecodeError`] and [`decode_json`].

mod api;
mod decode;
mod excerpt;

pub use api::{ApiError, ErrorDetail};
pub use decode::{DecodeError, decode_json};
pub use excerpt::MAX_BODY_EXCERPT;

use crate::client::TransportError;
use http::StatusCode;
use resilience_core::{BoxError, HttpClassifier, NotSent, Rejected, TimedOut, find_in_chain};
use std::time::Duration;

/// Everything that can go wrong with one HTTP call through the stack.
///
/// Build it from whatever a tower stack returned with `HttpError::from(box_error)`: known types
/// are recognised (this crate's errors, a tower timeout, the workspace's `TimedOut` and
/// `Rejected` markers), and anything else is kept as [`HttpError::Other`] with its chain. No
/// variant ever holds a request header, so a token cannot leak through it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The API answered with a status outside 2xx; the error body is read in the [`ApiError`].
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The request could not be sent, or the exchange failed (connection refused or reset, TLS
    /// failure, the server closing early). [`HttpError::is_not_sent`] tells whether it provably
    /// never reached the server.
    #[error("http transport failed")]
    Transport(#[source] TransportError),
    /// A 2xx body did not decode into the expected type; names the JSON path that failed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The response body was over the configured cap and was not read into memory.
    #[error("response body too large (limit {limit} bytes)")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
        /// The transport's error.
        #[source]
        source: TransportError,
    },
    /// The call ran out of time: a connect timeout, or a timeout layer (tower's `Elapsed`, or any
    /// error carrying the workspace's `TimedOut` marker).
    #[error("request timed out")]
    Timeout(#[source] BoxError),
    /// A local layer refused the request before it reached the server (an open circuit
    /// breaker, a rate-limit wait beyond the deadline, an exhausted retry budget).
    #[error("request rejected locally")]
    Rejected {
        /// When trying again may succeed, if the layer said.
        retry_after: Option<Duration>,
        /// The layer's error, which holds a `Rejected` marker.
        #[source]
        source: BoxError,
    },
    /// Any other error from the stack, kept with its whole chain.
    #[error("request failed")]
    Other(#[source] BoxError),
}

impl HttpError {
    /// The HTTP status, for an [`Api`](HttpError::Api) or [`Decode`](HttpError::Decode) error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(api) => Some(api.status()),
            Self::Decode(decode) => Some(decode.status()),
            _ => None,
        }
    }

    /// The API's correlation id, when the response carried one.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Api(api) => api.correlation_id(),
            Self::Decode(decode) => decode.correlation_id(),
            _ => None,
        }
    }

    /// `true` when repeating the call may succeed, by the workspace's shared classification
    /// ([`HttpClassifier`]): an API answer it calls failure or throttled, or an error it calls
    /// failure (transport errors and timeouts). A local rejection, a cancellation, a decode
    /// failure and a too-large body are not retryable (the same request would fail the same
    /// way).
    ///
    /// Whether a retry is *safe* is another question: see [`is_not_sent`](Self::is_not_sent).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(api) => api.is_retryable(),
            Self::Decode(_) | Self::BodyTooLarge { .. } => false,
            other => HttpClassifier::new().classify_error(other).is_retryable(),
        }
    }

    /// `true` for a 429, or an answer the classifier calls throttling (503/477 with
    /// `Retry-After`, HubSpot's 423).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::Api(api) if api.is_rate_limited())
    }

    /// The wait the server (throttling) or a local layer (an open breaker) asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(api) => api.retry_after(),
            Self::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// `true` when the request provably never reached the server (its chain holds
    /// [`NotSent`]), so even a non-idempotent request may be repeated.
    pub fn is_not_sent(&self) -> bool {
        find_in_chain::<NotSent>(self).is_some()
    }

    /// `true` for [`HttpError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// The [`ApiError`], for an [`Api`](HttpError::Api) error.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }
}

impl From<TransportError> for HttpError {
    fn from(error: TransportError) -> Self {
        if let Some(limit) = error.body_limit() {
            Self::BodyTooLarge {
                limit,
                source: error,
            }
        } else if error.is_timeout() {
            Self::Timeout(Box::new(error))
        } else {
            Self::Transport(error)
        }
    }
}

impl From<BoxError> for HttpError {
    /// Recognises the error a tower stack returned: this crate's own errors by type, then
    /// `Rejected`, `TimedOut` and tower's `Elapsed` anywhere in the chain; anything else is
    /// [`HttpError::Other`].
    fn from(error: BoxError) -> Self {
        let error = match error.downcast::<HttpError>() {
            Ok(error) => return *error,
            Err(error) => error,
        };
        let error = match error.downcast::<ApiError>() {
            Ok(error) => return Self::Api(*error),
            Err(error) => error,
        };
        let error = match error.downcast::<DecodeError>() {
            Ok(error) => return Self::Decode(*error),
            Err(error) => error,
        };
        let error = match error.downcast::<TransportError>() {
            Ok(error) => return Self::from(*error),
            Err(error) => error,
        };
        if let Some(rejected) = find_in_chain::<Rejected>(&*error) {
            return Self::Rejected {
                retry_after: rejected.retry_after(),
                source: error,
            };
        }
        if find_in_chain::<TimedOut>(&*error).is_some()
            || find_in_chain::<tower::timeout::error::Elapsed>(&*error).is_some()
        {
            return Self::Timeout(error);
        }
        Self::Other(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;
    use resilience_core::Cancelled;
    use std::error::Error;

    fn api(status: u16, headers: &[(&str, &str)]) -> ApiError {
        let mut response = Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        ApiError::from_response(&response.body(bytes::Bytes::new()).expect("response"))
    }

    #[test]
    fn api_predicates_follow_the_shared_classifier() {
        let throttled = HttpError::from(api(429, &[("retry-after", "7")]));
        assert!(throttled.is_rate_limited() && throttled.is_retryable());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));
        let unavailable = HttpError::from(api(503, &[("retry-after", "1")]));
        assert!(unavailable.is_rate_limited());
        let bad_gateway = HttpError::from(api(502, &[]));
        assert!(bad_gateway.is_retryable() && !bad_gateway.is_rate_limited());
        assert_eq!(bad_gateway.status(), Some(StatusCode::BAD_GATEWAY));
        let bad_request = HttpError::from(api(400, &[]));
        assert!(!bad_request.is_retryable() && !bad_request.is_rate_limited());
        assert!(bad_request.api().is_some() && !bad_request.is_not_sent());
    }

    #[test]
    fn boxed_errors_are_recognised() {
        let boxed: BoxError = Box::new(api(404, &[]));
        assert!(matches!(HttpError::from(boxed), HttpError::Api(_)));

        let boxed: BoxError = Box::new(HttpError::from(api(500, &[])));
        assert_eq!(
            HttpError::from(boxed).status(),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );

        let boxed: BoxError = Box::new(TransportError::body_too_large(10, None));
        assert!(matches!(
            HttpError::from(boxed),
            HttpError::BodyTooLarge { limit: 10, .. }
        ));

        let boxed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
        let err = HttpError::from(boxed);
        assert!(err.is_timeout() && err.is_retryable());

        let boxed: BoxError = Box::new(NotSent::with_source(TimedOut));
        let err = HttpError::from(boxed);
        assert!(err.is_timeout() && err.is_not_sent());

        let boxed: BoxError = Box::new(Rejected::new(
            "circuit_breaker",
            Some(Duration::from_secs(5)),
        ));
        let err = HttpError::from(boxed);
        assert!(matches!(err, HttpError::Rejected { .. }));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
        assert!(!err.is_retryable());

        let boxed: BoxError = Box::new(Cancelled);
        let err = HttpError::from(boxed);
        assert!(matches!(err, HttpError::Other(_)));
        assert!(!err.is_retryable());
        assert!(err.source().is_some_and(|s| s.is::<Cancelled>()));

        let boxed: BoxError = Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let err = HttpError::from(boxed);
        assert!(matches!(err, HttpError::Other(_)) && err.is_retryable());
        assert!(!err.is_not_sent());
    }

    #[test]
    fn decode_and_too_large_are_not_retryable() {
        let err = HttpError::from(TransportError::body_too_large(1, Some(2)));
        assert!(!err.is_retryable());
        assert_eq!(err.to_string(), "response body too large (limit 1 bytes)");
        assert_eq!(err.status(), None);
    }
}
