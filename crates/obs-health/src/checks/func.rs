use crate::check::{CheckFuture, HealthCheck, Observation};
use resilience_core::BoxError;
use std::fmt;
use std::future::Future;

/// A check made of a name and an async closure (see [`check_fn`]).
#[derive(Clone)]
pub struct FnCheck<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnCheck<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCheck")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A check that runs `f`: `Ok(())` (or `Ok(observation)`) passes, `Err` fails with the error's
/// message.
///
/// ```
/// use obs_health::{HealthCheck, check_fn};
///
/// let check = check_fn("database", || async { Ok(()) });
/// assert_eq!(check.name(), "database");
/// ```
pub fn check_fn<F, Fut, T>(name: impl Into<String>, f: F) -> FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<T, BoxError>> + Send + 'static,
    T: Into<Observation>,
{
    FnCheck {
        name: name.into(),
        f,
    }
}

impl<F, Fut, T> HealthCheck for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<T, BoxError>> + Send + 'static,
    T: Into<Observation>,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let fut = (self.f)();
        Box::pin(async move { fut.await.map(Into::into) })
    }
}
