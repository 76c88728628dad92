//! Error types.

use resilience_core::{Rejected, TimedOut};
use std::error::Error;
use std::fmt;
use std::time::Duration;

/// The server asked for a wait longer than the retry policy may spend, so the policy gave up at
/// once instead of sleeping.
///
/// Returned in place of the throttled response or error (see
/// [`ReturnError`](crate::ReturnError)) when the server's `Retry-After` exceeds the remaining
/// [`Deadline`](resilience_core::extensions::Deadline) or the policy's maximum wait. Its source
/// is a [`Rejected`] from layer `"retry"` carrying the same wait, so classifiers treat it as
/// neutral and no outer retry repeats it.
#[derive(Debug, Clone)]
pub struct RetryAfterExceeded {
    retry_after: Duration,
    available: Duration,
    deadline: bool,
    rejected: Rejected,
}

impl RetryAfterExceeded {
    pub(crate) fn new(retry_after: Duration, available: Duration, deadline: bool) -> Self {
        Self {
            retry_after,
            available,
            deadline,
            rejected: Rejected::new("retry", Some(retry_after)),
        }
    }

    /// The wait the server asked for.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// The longest wait that was allowed: the time left before the deadline, or the policy's
    /// maximum `Retry-After`.
    pub fn available(&self) -> Duration {
        self.available
    }

    /// `true` when the deadline was the limit, `false` when the policy's maximum wait was.
    pub fn is_deadline(&self) -> bool {
        self.deadline
    }
}

impl fmt::Display for RetryAfterExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit = if self.deadline {
            "left before the deadline"
        } else {
            "maximum retry-after wait"
        };
        write!(
            f,
            "server asked to retry after {:.3}s, more than the {:.3}s {limit}",
            self.retry_after.as_secs_f64(),
            self.available.as_secs_f64()
        )
    }
}

impl Error for RetryAfterExceeded {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.rejected)
    }
}

/// The whole call (every attempt and every wait) did not finish before its deadline.
///
/// Returned by [`Deadline`](crate::Deadline); its source is a [`TimedOut`], so classifiers
/// and metrics that do not know this crate still see a timeout.
#[derive(Debug, Clone)]
pub struct DeadlineExceeded {
    timed_out: TimedOut,
}

impl DeadlineExceeded {
    pub(crate) fn new() -> Self {
        Self {
            timed_out: TimedOut,
        }
    }
}

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline exceeded")
    }
}

impl Error for DeadlineExceeded {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.timed_out)
    }
}

/// An invalid retry configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The backoff parameters are inconsistent (factor below 1, base above the cap).
    #[error("invalid backoff: {0}")]
    Backoff(String),
    /// `max_attempts` was 0; one attempt is the minimum (1 disables retries).
    #[error("max_attempts must be at least 1")]
    MaxAttempts,
    /// The retry budget's window or percentage is out of range.
    #[error("invalid retry budget: {0}")]
    Budget(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilience_core::find_in_chain;

    #[test]
    fn give_up_error_carries_the_wait_and_a_rejection() {
        let e = RetryAfterExceeded::new(Duration::from_secs(30), Duration::from_secs(5), true);
        assert_eq!(e.retry_after(), Duration::from_secs(30));
        assert_eq!(
            e.to_string(),
            "server asked to retry after 30.000s, more than the 5.000s left before the deadline"
        );
        let rejected = find_in_chain::<Rejected>(&e).expect("rejected in chain");
        assert_eq!(rejected.retry_after(), Some(Duration::from_secs(30)));
        let cap = RetryAfterExceeded::new(Duration::from_secs(90), Duration::from_secs(60), false);
        assert!(
            cap.to_string()
                .ends_with("60.000s maximum retry-after wait")
        );
    }

    #[test]
    fn deadline_error_is_a_timeout() {
        let e = DeadlineExceeded::new();
        assert_eq!(e.to_string(), "deadline exceeded");
        assert!(find_in_chain::<TimedOut>(&e).is_some());
    }
}
