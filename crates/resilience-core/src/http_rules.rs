use crate::error::{Cancelled, Rejected, find_in_chain};
use crate::{AsDynError, Classify, Outcome, retry_after};
use http::{Response, StatusCode};
use std::error::Error;
use std::time::{Duration, SystemTime};

/// Status codes that mean the server or the path to it failed transiently.
///
/// 408 Request Timeout, 500, 502, 503 (without `Retry-After`), 504, and Cloudflare's 520–524,
/// which HubSpot's edge returns.
pub const TRANSIENT_STATUS_CODES: &[u16] = &[408, 500, 502, 503, 504, 520, 521, 522, 523, 524];

/// The wait assumed for HubSpot's 423 Locked, which its docs say to retry after 2 seconds.
pub const LOCKED_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The default HTTP classification rules.
///
/// | response | outcome |
/// | --- | --- |
/// | 2xx, 3xx | success |
/// | 429 | throttled, with `Retry-After` when given |
/// | 503 or 477 with a valid `Retry-After` | throttled, with that wait (477 without it: neutral) |
/// | 423 Locked | throttled, `Retry-After` or 2 s |
/// | 408, 500, 502, 503, 504, 520–524 | failure |
/// | other 4xx | neutral (the caller's own mistake says nothing about the server) |
/// | other 5xx and unknown codes | failure |
/// | error holding [`Cancelled`](crate::Cancelled) or [`Rejected`](crate::Rejected) | neutral |
/// | any other error (connect refused, reset, timeout) | failure |
///
/// HTTP-dates in `Retry-After` are measured against a clock, `SystemTime::now` by default;
/// tests inject their own with [`HttpClassifier::with_clock`].
#[derive(Debug, Clone, Copy)]
pub struct HttpClassifier {
    clock: fn() -> SystemTime,
}

impl Default for HttpClassifier {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClassifier {
    /// The default rules, reading HTTP-dates against the system clock.
    pub fn new() -> Self {
        Self {
            clock: SystemTime::now,
        }
    }

    /// The default rules, reading HTTP-dates against `clock`.
    pub fn with_clock(clock: fn() -> SystemTime) -> Self {
        Self { clock }
    }

    /// Classifies a response from its status and headers alone.
    pub fn classify_response_parts(
        &self,
        status: StatusCode,
        headers: &http::HeaderMap,
    ) -> Outcome {
        let code = status.as_u16();
        let hint = || retry_after::from_headers(headers, (self.clock)());
        match code {
            200..=399 => Outcome::Success,
            429 => Outcome::Throttled {
                retry_after: hint(),
            },
            423 => Outcome::Throttled {
                retry_after: Some(hint().unwrap_or(LOCKED_RETRY_AFTER)),
            },
            503 | 477 => match hint() {
                Some(wait) => Outcome::Throttled {
                    retry_after: Some(wait),
                },
                // 503 alone is a transient failure; 477 alone is an unexplained client-side code.
                None if code == 503 => Outcome::Failure,
                None => Outcome::Neutral,
            },
            _ if TRANSIENT_STATUS_CODES.contains(&code) => Outcome::Failure,
            400..=499 => Outcome::Neutral,
            _ => Outcome::Failure,
        }
    }

    /// Classifies an error by walking its source chain.
    pub fn classify_error(&self, error: &(dyn Error + 'static)) -> Outcome {
        if find_in_chain::<Cancelled>(error).is_some() || find_in_chain::<Rejected>(error).is_some()
        {
            Outcome::Neutral
        } else {
            Outcome::Failure
        }
    }
}

impl<B, E: AsDynError> Classify<Response<B>, E> for HttpClassifier {
    fn classify(&self, result: &Result<Response<B>, E>) -> Outcome {
        match result {
            Ok(response) => self.classify_response_parts(response.status(), response.headers()),
            Err(error) => self.classify_error(error.as_dyn_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BoxError, NotSent};

    fn epoch() -> SystemTime {
        SystemTime::UNIX_EPOCH
    }

    fn classify(status: u16, retry_after: Option<&str>) -> Outcome {
        let mut builder = Response::builder().status(status);
        if let Some(v) = retry_after {
            builder = builder.header("retry-after", v);
        }
        let result: Result<Response<()>, BoxError> = Ok(builder.body(()).unwrap());
        HttpClassifier::with_clock(epoch).classify(&result)
    }

    fn throttled(secs: Option<u64>) -> Outcome {
        Outcome::Throttled {
            retry_after: secs.map(Duration::from_secs),
        }
    }

    #[test]
    fn classification_table() {
        let table: &[(u16, Option<&str>, Outcome)] = &[
            (200, None, Outcome::Success),
            (201, None, Outcome::Success),
            (204, None, Outcome::Success),
            (207, None, Outcome::Success),
            (301, None, Outcome::Success),
            (304, None, Outcome::Success),
            (429, None, throttled(None)),
            (429, Some("10"), throttled(Some(10))),
            (429, Some("garbage"), throttled(None)),
            (503, Some("5"), throttled(Some(5))),
            (503, None, Outcome::Failure),
            (503, Some("garbage"), Outcome::Failure),
            (477, Some("30"), throttled(Some(30))),
            (477, None, Outcome::Neutral),
            (423, None, throttled(Some(2))),
            (423, Some("7"), throttled(Some(7))),
            (408, None, Outcome::Failure),
            (500, None, Outcome::Failure),
            (502, None, Outcome::Failure),
            (504, None, Outcome::Failure),
            (520, None, Outcome::Failure),
            (521, None, Outcome::Failure),
            (522, None, Outcome::Failure),
            (523, None, Outcome::Failure),
            (524, None, Outcome::Failure),
            (400, None, Outcome::Neutral),
            (401, None, Outcome::Neutral),
            (403, None, Outcome::Neutral),
            (404, None, Outcome::Neutral),
            (409, None, Outcome::Neutral),
            (422, None, Outcome::Neutral),
            (501, None, Outcome::Failure),
            (599, None, Outcome::Failure),
            (100, None, Outcome::Failure),
        ];
        for (status, hint, expected) in table {
            assert_eq!(
                classify(*status, *hint),
                *expected,
                "status {status} retry-after {hint:?}"
            );
        }
    }

    #[test]
    fn http_date_retry_after_uses_the_injected_clock() {
        // 1970-01-01T00:01:00Z is 60 s after the injected epoch clock.
        assert_eq!(
            classify(429, Some("Thu, 01 Jan 1970 00:01:00 GMT")),
            throttled(Some(60))
        );
    }

    #[test]
    fn errors() {
        let c = HttpClassifier::new();
        let refused: Result<Response<()>, BoxError> = Err(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(c.classify(&refused), Outcome::Failure);
        let not_sent: Result<Response<()>, BoxError> = Err(Box::new(NotSent::new()));
        assert_eq!(c.classify(&not_sent), Outcome::Failure);
        let cancelled: Result<Response<()>, BoxError> = Err(Box::new(Cancelled));
        assert_eq!(c.classify(&cancelled), Outcome::Neutral);
        let rejected: Result<Response<()>, BoxError> =
            Err(Box::new(Rejected::new("circuit_breaker", None)));
        assert_eq!(c.classify(&rejected), Outcome::Neutral);
        let io: Result<Response<()>, std::io::Error> =
            Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(c.classify(&io), Outcome::Failure);
    }
}
