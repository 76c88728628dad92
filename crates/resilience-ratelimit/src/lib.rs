//! Client-side rate limiting for tower stacks: GCRA, keyed, deadline-aware, and learning the
//! server's limits from its responses.
//!
//! [`RateLimitLayer`] puts a [GCRA](gcra) limiter in front of any tower `Service`:
//!
//! - **Waits, within bounds.** Each request reserves a permit and sleeps (tokio time) until it is
//!   due, inside its response future (`poll_ready` stays ready). It never waits longer than
//!   the request's remaining [`Deadline`](resilience_core::extensions::Deadline) or the layer's
//!   maximum wait (default 5 s): past that it fails at once with [`RateLimited`], which carries
//!   the wait it would have needed and holds a [`resilience_core::Rejected`] in its `source()`.
//!   Reservations are first come, first served; a caller that gives up before its request is
//!   sent gives the permit back when it was the latest reservation (otherwise its slot passes
//!   unused; nothing stays consumed past it).
//! - **Keyed.** A [`KeyFn`] maps each request to a [`RateKey`] (scope + class). The HTTP default,
//!   [`HttpKey`], is `scheme://authority` plus a short SHA-256 of the `Authorization` header
//!   (never the token), with the class taken from a [`RateClass`] or
//!   [`Operation`](resilience_core::extensions::Operation) extension.
//!   [`RateLimitLayer::with_quota`] gives a class its own bucket ("search at 5/s").
//! - **Learning.** After each response, the outcome from a
//!   [`Classify`](resilience_core::Classify) ([`HttpClassifier`](resilience_core::HttpClassifier)
//!   by default) and the limit headers read by [`ResponseSignals`] ([`HttpSignals`]:
//!   `X-HubSpot-RateLimit-*`, IETF `RateLimit`/`RateLimit-Policy`) lower the key's rate until
//!   the window ends, align it with the server's `remaining`, and pause it (for every waiter)
//!   on `remaining = 0` or a throttled outcome's `Retry-After`. Nothing ever raises the rate
//!   above the configured quota.
//! - **Pluggable state.** All per-key state sits behind [`RateLimitStore`]: atomic per key,
//!   clocked by the store, so a shared store can give many processes one budget. The default
//!   [`InMemoryStore`] is sharded and bounded.
//! - **Presets.** [`RateLimitLayer::hubspot`] (100/190/250 per rolling 10 s, search at 5/s on
//!   its own bucket) and [`RateLimitLayer::manychat`] (per-endpoint limits by path) never send
//!   more than the documented count in any rolling window ([`Quota::within_rolling_window`]).
//! - **Observable.** `resilience_ratelimit_wait_seconds`, `_rejected_total`, `_limit` and
//!   `_paused_total` (labels `service`, `key`) through the `metrics` facade; decisions through
//!   `tracing`.
//!
//! # Example: a non-HTTP service
//!
//! ```
//! use resilience_core::{BoxError, Outcome};
//! use resilience_ratelimit::{FixedKey, NoSignals, Quota, RateKey, RateLimitLayer, RateLimited};
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), BoxError> {
//! // A service that answers "busy" when its backend wants a break.
//! let backend = service_fn(|job: u32| async move { Ok::<_, BoxError>(if job == 0 { "busy" } else { "done" }) });
//!
//! let limiter = RateLimitLayer::new("jobs", Quota::per_second(NonZeroU32::new(2).unwrap()))
//!     .with_key_fn(FixedKey(RateKey::scope("job-queue")))
//!     // "busy" is this service's way of saying 429
//!     .with_classifier(|result: &Result<&'static str, BoxError>| match result {
//!         Ok("busy") => Outcome::Throttled { retry_after: Some(Duration::from_millis(20)) },
//!         Ok(_) => Outcome::Success,
//!         Err(_) => Outcome::Failure,
//!     })
//!     .with_signals(NoSignals)
//!     .with_max_wait(Duration::from_millis(100));
//!
//! let service = ServiceBuilder::new().layer(limiter).service(backend);
//!
//! assert_eq!(service.clone().oneshot(0).await?, "busy"); // pauses the key for 20 ms
//! assert_eq!(service.clone().oneshot(1).await?, "done"); // waited out the pause
//! // The burst of 2 is spent: the next permit is 500 ms away, more than the 100 ms allowed.
//! let err = service.clone().oneshot(2).await.unwrap_err();
//! let limited = err.downcast_ref::<RateLimited>().expect("a RateLimited error");
//! assert!(limited.wait() > Duration::from_millis(100));
//! # Ok(())
//! # }
//! ```

mod error;
mod future;
mod fx;
pub mod gcra;
mod key;
mod layer;
mod memory;
mod quota;
mod service;
pub mod signals;
mod store;
mod telemetry;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use error::RateLimited;
pub use future::ResponseFuture;
pub use key::{DEFAULT_CLASS, FixedKey, HttpKey, KeyFn, RateClass, RateKey, WithHttpDeadline};
pub use layer::{
    DEFAULT_MAX_PAUSE, DEFAULT_MAX_WAIT, DEFAULT_THROTTLE_PAUSE, HUBSPOT_SEARCH_CLASS,
    MANYCHAT_DEFAULT_LIMIT, MANYCHAT_LIMITS, RateLimitLayer,
};
pub use memory::{DEFAULT_MAX_KEYS, InMemoryStore, KeySnapshot};
pub use quota::{InvalidQuota, Quota};
pub use service::RateLimit;
pub use signals::{HttpSignals, NoSignals, Observation, ResponseSignals, ServerQuota};
pub use store::{Decision, Grant, ObserveEffect, RateLimitStore, Reservation, StoreError};
