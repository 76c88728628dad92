use std::time::Duration;

/// The verdict on one finished attempt, shared by every resilience layer.
///
/// | verdict | retry | breaker | rate limiter |
/// | --- | --- | --- | --- |
/// | [`Success`](Outcome::Success) | stop | records a success | nothing |
/// | [`Failure`](Outcome::Failure) | may retry | records a failure | nothing |
/// | [`Throttled`](Outcome::Throttled) | may retry after the hint | ignores it | slows down |
/// | [`Neutral`](Outcome::Neutral) | stop | ignores it | nothing |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The attempt did what was asked (HTTP 2xx/3xx, or `Ok` for a generic service).
    Success,
    /// The server or the path to it failed (5xx, timeouts, connection errors).
    Failure,
    /// The server asked the caller to slow down (429, or 503/477 with `Retry-After`, or 423).
    Throttled {
        /// How long the server asked the caller to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The attempt says nothing about the server's health: the caller's own 4xx, a cancellation.
    Neutral,
}

impl Outcome {
    /// `true` for [`Outcome::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    /// `true` for [`Outcome::Failure`].
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failure)
    }

    /// `true` for [`Outcome::Throttled`].
    pub fn is_throttled(&self) -> bool {
        matches!(self, Outcome::Throttled { .. })
    }

    /// `true` for [`Outcome::Neutral`].
    pub fn is_neutral(&self) -> bool {
        matches!(self, Outcome::Neutral)
    }

    /// `true` when the attempt may be worth repeating: a failure or throttling.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Outcome::Failure | Outcome::Throttled { .. })
    }

    /// The server's requested wait, for a throttled outcome that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Outcome::Throttled { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// A short, stable, lowercase name, fit for a metrics label or a log field.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Throttled { .. } => "throttled",
            Outcome::Neutral => "neutral",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_and_names() {
        let throttled = Outcome::Throttled {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert!(throttled.is_throttled() && throttled.is_retryable());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(throttled.to_string(), "throttled");
        assert!(Outcome::Failure.is_retryable());
        assert!(!Outcome::Neutral.is_retryable());
        assert!(!Outcome::Success.is_retryable());
        assert_eq!(Outcome::Success.retry_after(), None);
        assert_eq!(Outcome::Neutral.as_str(), "neutral");
        assert_eq!(Outcome::Failure.as_str(), "failure");
        assert!(Outcome::Success.is_success() && Outcome::Neutral.is_neutral());
    }
}
