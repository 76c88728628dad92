//! Future types.

use crate::error::DeadlineExceeded;
use pin_project_lite::pin_project;
use resilience_core::BoxError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::time::Sleep;

pin_project! {
    /// Response future of [`Deadline`](crate::Deadline).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, sleep: Sleep) -> Self {
        Self { inner, sleep }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result.map_err(Into::into));
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => {
                tracing::debug!("deadline: call exceeded its deadline");
                Poll::Ready(Err(DeadlineExceeded::new().into()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
