//! `RateLimit<S>`: the tower `Service`.

use crate::future::{ResponseFuture, WaitBudget};
use crate::key::KeyFn;
use crate::layer::{Config, RateLimitLayer};
use crate::store::RateLimitStore;
use resilience_core::{BoxError, Classify};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

#[derive(Debug)]
pub(crate) struct Shared<C, H, St> {
    pub(crate) config: Config,
    pub(crate) classifier: C,
    pub(crate) signals: H,
    pub(crate) store: St,
}

/// Waits for a rate-limit permit before calling the inner service, and learns the server's
/// limits from its responses. Built by [`RateLimitLayer`].
///
/// `poll_ready` is always ready: the wait happens in the response future, which then waits for
/// the inner service's readiness on its own clone of it (like tower's `Oneshot`), so a waiting
/// request never holds the inner service's readiness (or a slot beneath it) while it sleeps.
#[derive(Debug)]
pub struct RateLimit<S, K, C, H, St> {
    inner: S,
    key_fn: K,
    shared: Arc<Shared<C, H, St>>,
}

impl<S: Clone, K: Clone, C, H, St> Clone for RateLimit<S, K, C, H, St> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            key_fn: self.key_fn.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S, K, C, H, St> RateLimit<S, K, C, H, St> {
    /// Wraps `inner` with the limiter `layer` describes.
    pub fn new(inner: S, layer: RateLimitLayer<K, C, H, St>) -> Self {
        Self {
            inner,
            key_fn: layer.key_fn,
            shared: Arc::new(Shared {
                config: layer.config,
                classifier: layer.classifier,
                signals: layer.signals,
                store: layer.store,
            }),
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the limiter, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The state store.
    pub fn store(&self) -> &St {
        &self.shared.store
    }
}

impl<S, Req, K, C, H, St> Service<Req> for RateLimit<S, K, C, H, St>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    K: KeyFn<Req>,
    C: Classify<S::Response, S::Error>,
    H: crate::signals::ResponseSignals<S::Response>,
    St: RateLimitStore,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S, Req, C, H, St>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let config = &self.shared.config;
        let (key, quota) = config.resolve(self.key_fn.key(&request));
        // With a deadline the clock is read once here, and the give-up instant is exact;
        // without one, the permit-available path never reads it (see ResponseFuture).
        let (max_wait, give_up_at) = match self.key_fn.deadline(&request) {
            Some(deadline) => {
                let now = tokio::time::Instant::now();
                let deadline = tokio::time::Instant::from_std(deadline.0);
                let max_wait = deadline.saturating_duration_since(now).min(config.max_wait);
                (max_wait, Some(now + max_wait))
            }
            None => (config.max_wait, None),
        };
        let acquire = self.shared.store.acquire(&key, quota, max_wait);
        ResponseFuture::new(
            acquire,
            self.inner.clone(),
            request,
            key,
            quota,
            Arc::clone(&self.shared),
            WaitBudget {
                max_wait,
                give_up_at,
            },
        )
    }
}
