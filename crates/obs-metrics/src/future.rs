use crate::handles::OpHandles;
use crate::status::{CANCELLED, StatusLabel};
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::time::Instant;

/// Tracks one call: in flight from `start` until finished or dropped.
#[derive(Debug)]
pub(crate) struct CallGuard {
    handles: Option<Arc<OpHandles>>,
    start: Instant,
}

impl CallGuard {
    pub(crate) fn start(handles: Arc<OpHandles>) -> Self {
        handles.in_flight.increment(1.0);
        Self {
            handles: Some(handles),
            start: Instant::now(),
        }
    }

    fn finish(&mut self, status: &'static str) {
        if let Some(handles) = self.handles.take() {
            handles.duration.record(self.start.elapsed().as_secs_f64());
            handles.count(status);
            handles.in_flight.decrement(1.0);
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        // Dropped before the inner future finished: the caller gave up.
        self.finish(CANCELLED);
    }
}

pin_project! {
    /// The response future of [`Metrics`](crate::Metrics): records the call when the inner
    /// future finishes, or as `cancelled` when it is dropped first.
    pub struct ResponseFuture<F, L> {
        #[pin]
        inner: F,
        guard: CallGuard,
        label: L,
    }
}

impl<F, L> ResponseFuture<F, L> {
    pub(crate) fn new(inner: F, guard: CallGuard, label: L) -> Self {
        Self {
            inner,
            guard,
            label,
        }
    }
}

impl<F, L> fmt::Debug for ResponseFuture<F, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl<F, L, T, E> Future for ResponseFuture<F, L>
where
    F: Future<Output = Result<T, E>>,
    L: StatusLabel<T, E>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let status = this.label.status(&result);
        this.guard.finish(status);
        Poll::Ready(result)
    }
}
