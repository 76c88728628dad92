//! Retries for any tower `Service`: capped exponential backoff with full jitter, `Retry-After`
//! honoured and never undercut, a retry budget shared across clones, idempotency rules, and a
//! total deadline that every wait must fit in.
//!
//! - [`RetryPolicy`] is a [`tower::retry::Policy`]. It asks a
//!   [`Classify`](resilience_core::Classify) (the [`HttpClassifier`](resilience_core::HttpClassifier)
//!   by default, any closure for other services) what each attempt was, then decides: success
//!   and neutral outcomes stop; a local [`Rejected`](resilience_core::Rejected) (open breaker,
//!   rate limiter) is never repeated; a non-idempotent request is repeated only when the error
//!   proves it was not sent ([`NotSent`](resilience_core::NotSent)) or the server throttled it;
//!   the delay is the server's `Retry-After` when given (never less), else the jittered backoff;
//!   a wait that does not fit in the deadline gives up at once; the [`RetryBudget`] must allow it.
//! - [`RetryLayer`] / [`Retry`] put the policy in a stack (tower's retry loop, plus accounting
//!   for requests whose body cannot be replayed, which are sent once).
//! - [`DeadlineLayer`] / [`Deadline`] bound the whole call and publish the deadline to the
//!   layers inside as a [`resilience_core::extensions::Deadline`] request extension.
//! - [`RetryableRequest`] and [`HasDeadline`] are the request rules: implemented for
//!   `http::Request<B>`, for any `Clone` request through [`Replayable`], or by you.
//!
//! Decisions are traced (`tracing`, targets under `resilience_retry`) with the attempt number,
//! reason and delay, and counted through `metrics`: `resilience_retry_attempts_total{service,reason}`,
//! `resilience_retry_give_ups_total{service,reason}` and
//! `resilience_retry_budget_exhausted_total{service}`.
//!
//! # Example: a service that is not HTTP
//!
//! ```
//! use resilience_core::{BoxError, Outcome};
//! use resilience_retry::{DeadlineLayer, Replayable, RetryLayer, RetryPolicy};
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! // A flaky key-value lookup: fails twice, then answers.
//! let calls = Arc::new(AtomicU32::new(0));
//! let counter = Arc::clone(&calls);
//! let lookup = service_fn(move |req: Replayable<&'static str>| {
//!     let n = counter.fetch_add(1, Ordering::SeqCst);
//!     async move {
//!         if n < 2 {
//!             Err::<String, BoxError>("connection reset".into())
//!         } else {
//!             Ok(format!("value of {}", req.get_ref()))
//!         }
//!     }
//! });
//!
//! // Its own rules: every error is a failure worth retrying.
//! let classify = |result: &Result<String, BoxError>| match result {
//!     Ok(_) => Outcome::Success,
//!     Err(_) => Outcome::Failure,
//! };
//! let policy = RetryPolicy::builder("kv-store")
//!     .classifier(classify)
//!     .max_attempts(3)
//!     .build()?;
//!
//! let service = ServiceBuilder::new()
//!     .layer(DeadlineLayer::new(Duration::from_secs(30)))
//!     .layer(RetryLayer::new(policy))
//!     .service(lookup);
//!
//! let runtime = tokio::runtime::Builder::new_current_thread()
//!     .enable_time()
//!     .start_paused(true)
//!     .build()?;
//! let answer = runtime.block_on(service.oneshot(Replayable::new("user:1")))?;
//! assert_eq!(answer, "value of user:1");
//! assert_eq!(calls.load(Ordering::SeqCst), 3);
//! # Ok::<(), BoxError>(())
//! ```

mod backoff;
mod budget;
pub mod deadline;
pub mod error;
mod policy;
mod request;
pub mod retry;

pub use backoff::{Backoff, FixedRandom, Jitter, RandomSource, SplitMix64};
pub use budget::RetryBudget;
pub use deadline::{Deadline, DeadlineLayer};
pub use error::{ConfigError, DeadlineExceeded, RetryAfterExceeded};
pub use policy::{
    DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_REPLAY_BYTES, DEFAULT_MAX_RETRY_AFTER, GiveUpMode,
    RetryPolicy, RetryPolicyBuilder, ReturnError, ReturnLastResult,
};
pub use request::{HasDeadline, Replayable, RetryableRequest};
pub use retry::{Retry, RetryLayer};

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
