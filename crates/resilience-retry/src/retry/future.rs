//! Future types.

use crate::policy::RetryPolicy;
use pin_project_lite::pin_project;
use resilience_core::{AsDynError, Classify};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower::retry::Policy;
use tower_service::Service;

type TowerFuture<S, Req, C, G> = tower::retry::future::ResponseFuture<RetryPolicy<C, G>, S, Req>;

pin_project! {
    /// Response future of [`Retry`](crate::Retry).
    pub struct ResponseFuture<S, Req, C, G>
    where
        S: Service<Req>,
        RetryPolicy<C, G>: Policy<Req, S::Response, S::Error>,
    {
        #[pin]
        kind: Kind<S, Req, C, G>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, Req, C, G>
    where
        S: Service<Req>,
        RetryPolicy<C, G>: Policy<Req, S::Response, S::Error>,
    {
        Retrying {
            #[pin]
            future: TowerFuture<S, Req, C, G>,
        },
        Once {
            #[pin]
            future: S::Future,
            policy: RetryPolicy<C, G>,
            idempotent: bool,
        },
    }
}

impl<S, Req, C, G> ResponseFuture<S, Req, C, G>
where
    S: Service<Req>,
    RetryPolicy<C, G>: Policy<Req, S::Response, S::Error>,
{
    pub(crate) fn retrying(future: TowerFuture<S, Req, C, G>) -> Self {
        Self {
            kind: Kind::Retrying { future },
        }
    }

    pub(crate) fn once(future: S::Future, policy: RetryPolicy<C, G>, idempotent: bool) -> Self {
        Self {
            kind: Kind::Once {
                future,
                policy,
                idempotent,
            },
        }
    }
}

impl<S, Req, C, G> Future for ResponseFuture<S, Req, C, G>
where
    S: Service<Req>,
    S::Error: AsDynError,
    C: Classify<S::Response, S::Error>,
    RetryPolicy<C, G>: Policy<Req, S::Response, S::Error>,
{
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Retrying { future } => future.poll(cx),
            KindProj::Once {
                future,
                policy,
                idempotent,
            } => {
                let result = ready!(future.poll(cx));
                policy.observe_unreplayable(*idempotent, &result);
                Poll::Ready(result)
            }
        }
    }
}

impl<S, Req, C, G> fmt::Debug for ResponseFuture<S, Req, C, G>
where
    S: Service<Req>,
    RetryPolicy<C, G>: Policy<Req, S::Response, S::Error>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
