use crate::breaker::Breaker;
use crate::future::ResponseFuture;
use resilience_core::{BoxError, Classify, HttpClassifier};
use std::fmt;
use std::task::{Context, Poll};
use tower_service::Service;

/// A service guarded by a circuit breaker.
///
/// `poll_ready` never waits on the breaker: when the breaker would refuse a call, it reports
/// ready at once without polling the inner service, and `call` then fails fast with
/// [`BreakerOpen`](crate::BreakerOpen) (inside the response future); the inner service is not
/// called. Otherwise readiness is the inner service's. This is the readiness pattern of tower's
/// `load_shed`: callers are never queued behind an open breaker.
pub struct CircuitBreaker<S, C = HttpClassifier> {
    inner: S,
    breaker: Breaker,
    classifier: C,
    inner_ready: bool,
}

// ===== impl CircuitBreaker =====

impl<S, C> CircuitBreaker<S, C> {
    /// Guards `inner` with `breaker`, classifying outcomes with `classifier`.
    pub fn new(inner: S, breaker: Breaker, classifier: C) -> Self {
        Self {
            inner,
            breaker,
            classifier,
            inner_ready: false,
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

    /// Consumes the guard and returns the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The shared breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}

impl<S: Clone, C: Clone> Clone for CircuitBreaker<S, C> {
    fn clone(&self) -> Self {
        // Readiness belongs to one handle: a clone must poll its own inner service.
        Self {
            inner: self.inner.clone(),
            breaker: self.breaker.clone(),
            classifier: self.classifier.clone(),
            inner_ready: false,
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for CircuitBreaker<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .field("classifier", &std::any::type_name::<C>())
            .finish()
    }
}

impl<S, C, Request> Service<Request> for CircuitBreaker<S, C>
where
    S: Service<Request>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.inner_ready || self.breaker.would_reject() {
            return Poll::Ready(Ok(()));
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Ok(())) => {
                self.inner_ready = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error.into())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let permit = match self.breaker.try_acquire() {
            Ok(permit) => permit,
            Err(open) => return ResponseFuture::rejected(open),
        };
        if !self.inner_ready {
            // The breaker refused when the service was polled, so the inner service was never
            // made ready; it has since turned permissive. Refuse this call (the next poll will
            // ready the inner service); the dropped permit releases any probe slot.
            drop(permit);
            return ResponseFuture::rejected(self.breaker.reject_stale_readiness());
        }
        self.inner_ready = false;
        let future = self.inner.call(request);
        ResponseFuture::called(future, permit, self.classifier.clone())
    }
}
