use super::Retry;
use crate::policy::{RetryPolicy, ReturnError};
use resilience_core::HttpClassifier;
use std::fmt;
use tower_layer::Layer;

/// Wraps services in [`Retry`] with a shared [`RetryPolicy`].
///
/// Every service this layer builds shares the policy's budget and random source.
pub struct RetryLayer<C = HttpClassifier, G = ReturnError> {
    policy: RetryPolicy<C, G>,
}

impl<C, G> RetryLayer<C, G> {
    /// A layer applying `policy`.
    pub fn new(policy: RetryPolicy<C, G>) -> Self {
        Self { policy }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy<C, G> {
        &self.policy
    }
}

impl<C: Clone, G> Clone for RetryLayer<C, G> {
    fn clone(&self) -> Self {
        Self {
            policy: self.policy.clone(),
        }
    }
}

impl<C, G> fmt::Debug for RetryLayer<C, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer")
            .field("policy", &self.policy)
            .finish()
    }
}

impl<S, C: Clone, G> Layer<S> for RetryLayer<C, G> {
    type Service = Retry<S, C, G>;

    fn layer(&self, inner: S) -> Self::Service {
        Retry::new(inner, self.policy.clone())
    }
}
