//! The error the layer adds.

use resilience_core::Rejected;
use std::fmt;
use std::time::Duration;

/// The permit would need a longer wait than the request may spend (its remaining deadline or
/// the layer's maximum wait), so the request was refused without reaching the inner service.
///
/// Its `source()` is a [`Rejected`] from layer `"rate_limiter"` carrying the same wait, so
/// classifiers treat it as neutral and retry policies do not repeat it.
#[derive(Clone, PartialEq, Eq)]
pub struct RateLimited {
    wait: Duration,
    rejected: Rejected,
}

impl RateLimited {
    /// A refusal that would have needed `wait`.
    pub fn new(wait: Duration) -> Self {
        Self {
            wait,
            rejected: Rejected::new("rate_limiter", Some(wait)),
        }
    }

    /// How long the request would have had to wait for a permit.
    pub fn wait(&self) -> Duration {
        self.wait
    }
}

impl fmt::Debug for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("wait", &self.wait)
            .finish()
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limited: a permit needs a wait of {:.3}s",
            self.wait.as_secs_f64()
        )
    }
}

impl std::error::Error for RateLimited {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilience_core::find_in_chain;

    #[test]
    fn carries_the_wait_and_a_rejected_marker() {
        let err = RateLimited::new(Duration::from_millis(1500));
        assert_eq!(
            err.to_string(),
            "rate limited: a permit needs a wait of 1.500s"
        );
        let rejected = find_in_chain::<Rejected>(&err).unwrap();
        assert_eq!(rejected.layer(), "rate_limiter");
        assert_eq!(rejected.retry_after(), Some(Duration::from_millis(1500)));
    }
}
