use super::Deadline;
use std::time::Duration;
use tower_layer::Layer;

/// Wraps services in [`Deadline`]: one timeout over the whole call, retries and waits included.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    timeout: Duration,
}

impl DeadlineLayer {
    /// A layer giving every call at most `timeout` (an earlier deadline already on the request
    /// wins).
    pub const fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline::new(inner, self.timeout)
    }
}
