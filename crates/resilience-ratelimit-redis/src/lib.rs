//! One rate budget for a fleet of processes: a Redis-backed
//! [`RateLimitStore`](resilience_ratelimit::RateLimitStore) for `resilience-ratelimit`, and
//! quorum-based shared circuit-breaker hints.
//!
//! HubSpot's limits are per account, not per process: ten Kestra workers that each respect
//! "100 per 10 s" send a thousand. [`RedisStore`] keeps each [`RateKey`]'s GCRA state in Redis,
//! so every process that points at the same Redis (and key prefix) draws from one budget:
//!
//! - **One atomic Lua script per call** on the Redis server's clock ([`script`]), with the
//!   integer arithmetic of [`resilience_ratelimit::gcra`] (property-tested against it). Learned
//!   limits and pauses live in Redis too: one worker's `X-HubSpot-RateLimit-Remaining` slows
//!   every worker, one worker's 429 `Retry-After` pauses every worker.
//! - **Never stuck on Redis.** Each call has a short timeout (50 ms). On a failure or a timeout
//!   the store switches to a local [`InMemoryStore`](resilience_ratelimit::InMemoryStore) at a
//!   share of the budget (`1 / expected workers`), logs one `warn`, sets
//!   `resilience_ratelimit_fallback{service}` to 1 and counts
//!   `resilience_ratelimit_fallback_transitions_total{service,to}`; one call per second probes
//!   Redis, and sharing resumes when it answers. Permits already queued are carried over in both
//!   directions, so a switch does not add a second burst.
//! - **Lazy.** Building a store connects to nothing and needs no runtime.
//! - **One type either way.** [`FleetStore`] is the Redis store when `RATE_LIMIT_REDIS_URL`
//!   (or a flag) gives a URL, the in-memory store otherwise: what a CLI builds its limiter on.
//! - **Breaker hints.** [`BreakerHints`] lets a worker whose breaker opens say so (with an
//!   expiry); another worker opens early only when a [`Quorum`] of other workers agree, so one
//!   bad worker never trips the fleet. It plugs into `resilience-breaker`'s state-change
//!   listener and can force a breaker open while the quorum holds ([`BreakerHints::guard`]).
//!
//! The store lives in this crate, not behind a feature of `resilience-ratelimit`, so the core
//! limiter's dependency tree stays free of the `redis` crate. See `docs/fleet.md` for the
//! design, the overshoot bounds and a Kestra deployment.
//!
//! # Example
//!
//! ```
//! use resilience_core::{BoxError, Outcome};
//! use resilience_ratelimit::{FixedKey, NoSignals, Quota, RateKey, RateLimitLayer};
//! use resilience_ratelimit_redis::RedisStore;
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! // Every worker of the fleet builds the same store (same URL, same key prefix). Building it
//! // connects to nothing; in a real deployment the URL comes from RATE_LIMIT_REDIS_URL.
//! let store = RedisStore::builder("redis://127.0.0.1:1/0") // nothing listens on port 1
//!     .service("jobs")
//!     .timeout(Duration::from_millis(50))
//!     .expected_workers(NonZeroU32::new(4).unwrap())
//!     .build()?;
//!
//! let quota = Quota::per_second(NonZeroU32::new(20).unwrap());
//! let service = ServiceBuilder::new()
//!     .layer(
//!         RateLimitLayer::new("jobs", quota)
//!             .with_key_fn(FixedKey(RateKey::scope("job-queue")))
//!             .with_classifier(|r: &Result<&'static str, BoxError>| {
//!                 if r.is_ok() { Outcome::Success } else { Outcome::Failure }
//!             })
//!             .with_signals(NoSignals)
//!             .with_store(store.clone()),
//!     )
//!     .service(service_fn(|_job: u32| async { Ok::<_, BoxError>("done") }));
//!
//! // Redis is unreachable here: the request still goes, through the local fallback at a
//! // quarter of the budget (5 per second, burst 5).
//! assert_eq!(service.oneshot(1).await?, "done");
//! assert!(!store.is_sharing());
//! assert_eq!(store.fallback_quota(quota).burst(), 5);
//! # Ok(())
//! # }
//! ```
//!
//! [`RateKey`]: resilience_ratelimit::RateKey

mod config;
mod fleet;
mod health;
mod hints;
pub mod script;
mod store;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use config::{
    DEFAULT_EXPECTED_WORKERS, DEFAULT_KEY_PREFIX, DEFAULT_PROBE_INTERVAL, DEFAULT_SERVICE,
    DEFAULT_TIMEOUT, RedisStoreBuilder, RedisStoreError, URL_ENV,
};
pub use fleet::FleetStore;
pub use health::{FALLBACK_GAUGE, REDIS_ERRORS_COUNTER, TRANSITIONS_COUNTER};
pub use hints::{
    BreakerHints, BreakerHintsBuilder, DEFAULT_HINT_TTL, DEFAULT_SEEN_TTL, HintStatus, Quorum,
};
pub use store::{RedisStore, StoreFuture};
