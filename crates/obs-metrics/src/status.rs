//! The `status` label of `{prefix}_api_requests_total`, and how a result turns into one.
//!
//! | result | `status` |
//! | --- | --- |
//! | HTTP response | its class: `1xx`, `2xx`, `3xx`, `4xx`, `5xx` (`other` for codes ≥ 600) |
//! | error whose chain holds [`TimedOut`], tower's or tokio's `Elapsed` | `timeout` |
//! | error whose chain holds [`Rejected`] from layer `"circuit_breaker"` | `breaker_open` |
//! | error whose chain holds [`Rejected`] from layer `"rate_limiter"` | `rate_limited` |
//! | error whose chain holds another [`Rejected`] (a retry budget, a base-URI guard) | `rejected` |
//! | error whose chain holds [`Cancelled`] | `cancelled` |
//! | any other error | `error` |
//! | the response future was dropped before it finished | `cancelled` |
//!
//! A label is always a `&'static str`, so the label set stays bounded by construction. Services
//! that are not HTTP plug in their own [`StatusLabel`]: any closure
//! `Fn(&Result<T, E>) -> &'static str`, or [`ByOutcome`] over a
//! [`Classify`].

use http::{Response, StatusCode};
use resilience_core::{AsDynError, Cancelled, Classify, Rejected, TimedOut, find_in_chain};
use std::error::Error;

/// `status` of an informational response.
pub const INFORMATIONAL: &str = "1xx";
/// `status` of a successful response.
pub const SUCCESS: &str = "2xx";
/// `status` of a redirection.
pub const REDIRECTION: &str = "3xx";
/// `status` of a client error response.
pub const CLIENT_ERROR: &str = "4xx";
/// `status` of a server error response.
pub const SERVER_ERROR: &str = "5xx";
/// `status` of a response with a non-standard code (600 and above).
pub const OTHER: &str = "other";
/// `status` of an error that is none of the below.
pub const ERROR: &str = "error";
/// `status` of a call that ran out of time.
pub const TIMEOUT: &str = "timeout";
/// `status` of a call refused by an open circuit breaker.
pub const BREAKER_OPEN: &str = "breaker_open";
/// `status` of a call refused by the rate limiter.
pub const RATE_LIMITED: &str = "rate_limited";
/// `status` of a call refused by another local layer.
pub const REJECTED: &str = "rejected";
/// `status` of a call the caller gave up on (dropped, or an error holding `Cancelled`).
pub const CANCELLED: &str = "cancelled";

/// Every value the built-in labellers produce.
pub const ALL: &[&str] = &[
    INFORMATIONAL,
    SUCCESS,
    REDIRECTION,
    CLIENT_ERROR,
    SERVER_ERROR,
    OTHER,
    ERROR,
    TIMEOUT,
    BREAKER_OPEN,
    RATE_LIMITED,
    REJECTED,
    CANCELLED,
];

/// Turns a finished call into its `status` label.
///
/// Implemented by [`HttpStatus`] (the default), [`ByOutcome`] and every closure
/// `Fn(&Result<T, E>) -> &'static str`.
pub trait StatusLabel<T, E> {
    /// The label for one finished call. Return values from a small fixed set.
    fn status(&self, result: &Result<T, E>) -> &'static str;
}

impl<T, E, F> StatusLabel<T, E> for F
where
    F: Fn(&Result<T, E>) -> &'static str,
{
    fn status(&self, result: &Result<T, E>) -> &'static str {
        self(result)
    }
}

/// The default labeller for HTTP services: the status class of a response, or the error's kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpStatus;

impl<B, E: AsDynError> StatusLabel<Response<B>, E> for HttpStatus {
    fn status(&self, result: &Result<Response<B>, E>) -> &'static str {
        match result {
            Ok(response) => status_class(response.status()),
            Err(error) => error_status(error.as_dyn_error()),
        }
    }
}

/// A labeller for any service with a [`Classify`]: `Ok` results are labelled with the
/// classifier's verdict (`success`, `failure`, `throttled`, `neutral`), errors as
/// [`error_status`] does (`timeout`, `breaker_open`, ... or `error`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ByOutcome<C>(pub C);

impl<C> ByOutcome<C> {
    /// Labels results with `classifier`'s verdicts.
    pub fn new(classifier: C) -> Self {
        Self(classifier)
    }
}

impl<T, E: AsDynError, C: Classify<T, E>> StatusLabel<T, E> for ByOutcome<C> {
    fn status(&self, result: &Result<T, E>) -> &'static str {
        match result {
            Ok(_) => self.0.classify(result).as_str(),
            Err(error) => error_status(error.as_dyn_error()),
        }
    }
}

/// The class label of an HTTP status code: `1xx` ... `5xx`, or `other`.
pub fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => INFORMATIONAL,
        2 => SUCCESS,
        3 => REDIRECTION,
        4 => CLIENT_ERROR,
        5 => SERVER_ERROR,
        _ => OTHER,
    }
}

/// The label of an error, from the marker errors in its `source()` chain (see the module docs).
pub fn error_status(error: &(dyn Error + 'static)) -> &'static str {
    if let Some(rejected) = find_in_chain::<Rejected>(error) {
        return match rejected.layer() {
            "circuit_breaker" => BREAKER_OPEN,
            "rate_limiter" => RATE_LIMITED,
            _ => REJECTED,
        };
    }
    if find_in_chain::<TimedOut>(error).is_some()
        || find_in_chain::<tower::timeout::error::Elapsed>(error).is_some()
        || find_in_chain::<tokio::time::error::Elapsed>(error).is_some()
    {
        return TIMEOUT;
    }
    if find_in_chain::<Cancelled>(error).is_some() {
        return CANCELLED;
    }
    ERROR
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilience_core::{BoxError, HttpClassifier, NotSent};
    use std::fmt;

    #[derive(Debug)]
    struct Wrap(BoxError);
    impl fmt::Display for Wrap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&*self.0)
        }
    }

    fn http(result: Result<Response<()>, BoxError>) -> &'static str {
        HttpStatus.status(&result)
    }

    fn resp(code: u16) -> Result<Response<()>, BoxError> {
        Ok(Response::builder().status(code).body(()).unwrap())
    }

    #[test]
    fn http_classes() {
        for (code, label) in [
            (101, "1xx"),
            (200, "2xx"),
            (204, "2xx"),
            (304, "3xx"),
            (404, "4xx"),
            (429, "4xx"),
            (503, "5xx"),
            (999, "other"),
        ] {
            assert_eq!(http(resp(code)), label, "{code}");
        }
    }

    #[test]
    fn error_markers_anywhere_in_the_chain() {
        let cases: Vec<(BoxError, &str)> = vec![
            (Box::new(TimedOut), "timeout"),
            (Box::new(Wrap(Box::new(TimedOut))), "timeout"),
            (Box::new(tower::timeout::error::Elapsed::new()), "timeout"),
            (Box::new(NotSent::with_source(TimedOut)), "timeout"),
            (
                Box::new(Rejected::new("circuit_breaker", None)),
                "breaker_open",
            ),
            (
                Box::new(Wrap(Box::new(Rejected::new("rate_limiter", None)))),
                "rate_limited",
            ),
            (Box::new(Rejected::new("retry", None)), "rejected"),
            (Box::new(Cancelled), "cancelled"),
            (Box::new(std::io::Error::other("reset")), "error"),
            ("plain".into(), "error"),
        ];
        for (error, label) in cases {
            let shown = error.to_string();
            assert_eq!(http(Err(error)), label, "{shown}");
        }
    }

    #[test]
    fn by_outcome_and_closures() {
        let by = ByOutcome::new(HttpClassifier::new());
        let r: Result<Response<()>, BoxError> = resp(400);
        assert_eq!(by.status(&r), "neutral");
        assert_eq!(by.status(&resp(500)), "failure");
        let e: Result<Response<()>, BoxError> = Err(Box::new(TimedOut));
        assert_eq!(by.status(&e), "timeout");

        let custom = |r: &Result<u32, BoxError>| if r.is_ok() { "ok" } else { "nok" };
        assert_eq!(custom.status(&Ok(1)), "ok");
        assert_eq!(custom.status(&Err("x".into())), "nok");
    }
}
