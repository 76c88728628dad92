//! Future types.

use crate::breaker::Permit;
use crate::error::BreakerOpen;
use pin_project_lite::pin_project;
use resilience_core::{BoxError, Classify};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

pin_project! {
    /// The response future of [`CircuitBreaker`](crate::CircuitBreaker).
    ///
    /// It records the call's outcome when the inner future completes. Dropped before that (the
    /// caller gave up), it records nothing, and a half-open probe slot it held is released.
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F, C>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, C> {
        Called {
            #[pin]
            future: F,
            guard: Option<(Permit, C)>,
        },
        Rejected {
            error: Option<BreakerOpen>,
        },
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn called(future: F, permit: Permit, classifier: C) -> Self {
        Self {
            kind: Kind::Called {
                future,
                guard: Some((permit, classifier)),
            },
        }
    }

    pub(crate) fn rejected(error: BreakerOpen) -> Self {
        Self {
            kind: Kind::Rejected { error: Some(error) },
        }
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Called { guard, .. } => f
                .debug_struct("ResponseFuture")
                .field("permit", &guard.as_ref().map(|(permit, _)| permit))
                .finish_non_exhaustive(),
            Kind::Rejected { error } => f
                .debug_struct("ResponseFuture")
                .field("rejected", error)
                .finish(),
        }
    }
}

impl<F, C, T, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    C: Classify<T, E>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future, guard } => {
                let result = ready!(future.poll(cx));
                if let Some((permit, classifier)) = guard.take() {
                    permit.record(classifier.classify(&result));
                }
                Poll::Ready(result.map_err(Into::into))
            }
            KindProj::Rejected { error } => Poll::Ready(Err(match error.take() {
                Some(error) => Box::new(error),
                None => "circuit breaker response future polled after completion".into(),
            })),
        }
    }
}
