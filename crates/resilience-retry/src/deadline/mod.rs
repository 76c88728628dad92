//! The [`Deadline`] middleware: one timeout over the whole logical call, published to the
//! layers inside as a [`resilience_core::extensions::Deadline`] request extension.
//!
//! Put it just outside [`Retry`](crate::Retry): the retry policy then refuses waits that cannot
//! finish in time, and a rate limiter inside can do the same.

pub mod future;
mod layer;

pub use self::layer::DeadlineLayer;

use self::future::ResponseFuture;
use crate::request::HasDeadline;
use resilience_core::BoxError;
use resilience_core::extensions::Deadline as DeadlineAt;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower_service::Service;

/// Bounds the whole call by a timeout (tokio's clock), failing with
/// [`DeadlineExceeded`](crate::DeadlineExceeded) when it runs out.
///
/// On each request it sets the deadline to now + timeout, unless the request already carries an
/// earlier one (an outer caller's), which is kept. Errors are boxed, as with tower's `Timeout`.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    timeout: Duration,
}

/// What "no deadline" means when now + timeout overflows the clock: about 30 years, as tokio's
/// own far future.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

// ===== impl Deadline =====

impl<S> Deadline<S> {
    /// Wraps `inner`, giving every call at most `timeout`.
    pub const fn new(inner: S, timeout: Duration) -> Self {
        Self { inner, timeout }
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for Deadline<S>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    Req: HasDeadline,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Req) -> Self::Future {
        let now = Instant::now();
        let own = now
            .checked_add(self.timeout)
            .unwrap_or_else(|| now + FAR_FUTURE);
        let at = match req.deadline() {
            Some(existing) if Instant::from_std(existing.0) <= own => Instant::from_std(existing.0),
            _ => {
                req.set_deadline(DeadlineAt(own.into_std()));
                own
            }
        };
        let sleep = tokio::time::sleep_until(at);
        ResponseFuture::new(self.inner.call(req), sleep)
    }
}
