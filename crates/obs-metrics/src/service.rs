use crate::future::{CallGuard, ResponseFuture};
use crate::handles::{OpHandles, Shared};
use crate::layer::DEFAULT_MAX_OPERATIONS;
use crate::operation::{FromExtension, OperationOf, UNKNOWN_OPERATION};
use crate::prefix::Prefix;
use crate::status::{HttpStatus, StatusLabel};
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// Records the client metrics of every call to `inner` (built by
/// [`MetricsLayer`](crate::MetricsLayer)).
///
/// Errors from `poll_ready` are passed through and not counted (no request, so no operation).
#[derive(Clone)]
pub struct Metrics<S, L = HttpStatus, O = FromExtension> {
    pub(crate) inner: S,
    pub(crate) shared: Arc<Shared>,
    pub(crate) label: L,
    pub(crate) operation: O,
    /// The handles of the last operation this service saw: a call for the same operation skips
    /// the shared map (and its lock) entirely.
    pub(crate) last: Option<Arc<OpHandles>>,
}

impl<S> Metrics<S> {
    /// Wraps `inner`, with metric names starting with `prefix` and the default labellers.
    pub fn new(inner: S, prefix: Prefix) -> Self {
        crate::names::describe(&crate::names::client_metrics(&prefix));
        Self {
            inner,
            shared: Arc::new(Shared::new(prefix, DEFAULT_MAX_OPERATIONS)),
            label: HttpStatus,
            operation: FromExtension,
            last: None,
        }
    }
}

impl<S, L, O> Metrics<S, L, O> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The metric-name prefix.
    pub fn prefix(&self) -> &Prefix {
        self.shared.prefix()
    }
}

impl<S: fmt::Debug, L, O> fmt::Debug for Metrics<S, L, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("inner", &self.inner)
            .field("prefix", self.shared.prefix())
            .field("label", &std::any::type_name::<L>())
            .field("operation", &std::any::type_name::<O>())
            .finish()
    }
}

impl<S, L, O, Req> Service<Req> for Metrics<S, L, O>
where
    S: Service<Req>,
    L: StatusLabel<S::Response, S::Error> + Clone,
    O: OperationOf<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, L>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let operation = self
            .operation
            .operation(&request)
            .unwrap_or(UNKNOWN_OPERATION);
        let handles = match &self.last {
            Some(last) if last.operation() == operation => Arc::clone(last),
            _ => {
                let handles = self.shared.handles(operation);
                self.last = Some(Arc::clone(&handles));
                handles
            }
        };
        let guard = CallGuard::start(handles);
        ResponseFuture::new(self.inner.call(request), guard, self.label.clone())
    }
}
