//! The [`Retry`] middleware: tower's retry loop driven by a [`RetryPolicy`], plus accounting
//! for requests that cannot be replayed.

pub mod future;
mod layer;

pub use self::layer::RetryLayer;

use self::future::ResponseFuture;
use crate::policy::{RetryPolicy, ReturnError};
use crate::request::RetryableRequest;
use resilience_core::{AsDynError, Classify, HttpClassifier};
use std::fmt;
use std::task::{Context, Poll};
use tower::retry::Policy;
use tower_service::Service;

/// Retries requests through `inner` according to a [`RetryPolicy`].
///
/// A thin wrapper over [`tower::retry::Retry`]: a request the policy can replay goes through
/// tower's retry loop; one it cannot (a streaming or oversized body) is sent once, and if its
/// outcome would otherwise have been retried the give-up is counted with reason
/// `not_replayable` (or `not_idempotent` when the idempotency rule alone forbids a retry).
pub struct Retry<S, C = HttpClassifier, G = ReturnError> {
    inner: tower::retry::Retry<RetryPolicy<C, G>, S>,
    policy: RetryPolicy<C, G>,
}

// ===== impl Retry =====

impl<S, C: Clone, G> Retry<S, C, G> {
    /// Wraps `inner` with `policy`.
    pub fn new(inner: S, policy: RetryPolicy<C, G>) -> Self {
        Self {
            inner: tower::retry::Retry::new(policy.clone(), inner),
            policy,
        }
    }
}

impl<S, C, G> Retry<S, C, G> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        self.inner.get_mut()
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner.into_inner()
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy<C, G> {
        &self.policy
    }
}

impl<S: Clone, C: Clone, G> Clone for Retry<S, C, G> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            policy: self.policy.clone(),
        }
    }
}

impl<S: fmt::Debug, C, G> fmt::Debug for Retry<S, C, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("inner", self.inner.get_ref())
            .field("policy", &self.policy)
            .finish()
    }
}

impl<S, Req, C, G> Service<Req> for Retry<S, C, G>
where
    S: Service<Req> + Clone,
    S::Error: AsDynError,
    Req: RetryableRequest,
    C: Classify<S::Response, S::Error> + Clone,
    RetryPolicy<C, G>: Policy<Req, S::Response, S::Error>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S, Req, C, G>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        if req.is_replayable(self.policy.max_replay_bytes()) {
            ResponseFuture::retrying(self.inner.call(req))
        } else {
            // tower's `clone_request` would deposit; this path bypasses it, so deposit here.
            self.policy.deposit();
            let idempotent = req.is_idempotent();
            let future = self.inner.get_mut().call(req);
            ResponseFuture::once(future, self.policy.clone(), idempotent)
        }
    }
}
