//! A circuit breaker for any tower [`Service`](tower_service::Service).
//!
//! A breaker watches the outcomes of calls and, when the service behind it is failing, stops
//! sending it calls for a while, failing them fast with [`BreakerOpen`] instead; then it lets a
//! few probes through to see whether the service has recovered.
//!
//! - **Closed**: calls pass; each outcome, as judged by a [`Classify`](resilience_core::Classify)
//!   (the default [`HttpClassifier`](resilience_core::HttpClassifier) for HTTP, any closure for
//!   other services), goes into a time-based sliding window. The breaker opens when the failure
//!   rate in the window reaches the threshold (≥ 50 % over 30 s in 10 buckets, once the window
//!   holds 20 calls), after 10 failures in a row, or (when turned on) when the share of slow
//!   calls reaches its threshold. Throttled and neutral outcomes never count: they are neither
//!   failures nor successes.
//! - **Open**: calls fail fast with [`BreakerOpen`], which says when the breaker will next admit
//!   a probe ([`BreakerOpen::retry_after`]) and carries a
//!   [`resilience_core::Rejected`] in its source chain, so the shared classifiers treat it as
//!   neutral and retry never repeats it. The inner service is not called, and `poll_ready` never
//!   waits on it. The open duration is 5 s after the first trip and doubles on each repeated
//!   trip up to 60 s, with ±20 % jitter so a fleet does not probe in lock-step; a clean close
//!   resets it.
//! - **Half-open**: after the open duration, the next calls may probe. Exactly 3 probe slots
//!   are reserved atomically; everyone else still fails fast. All probes succeed → closed; any
//!   failure → open again. A probe that is dropped or returns a neutral or throttled outcome
//!   frees its slot without a verdict; a probe unanswered for 10 s opens the breaker again.
//! - **Forced open** and **disabled**: operator overrides ([`Breaker::force_open`],
//!   [`Breaker::disable`], [`Breaker::reset`]).
//!
//! Breakers are shared: every clone of a [`Breaker`], every layer built on it and every service
//! those layers build see one state. A [`BreakerRegistry`] (and the global
//! [`get_circuit_breaker`]) hands out one breaker per name, so separate clients of one API
//! share it. State changes are traced, published as metrics (see [`metrics`])
//! and given to an optional listener; [`Breaker::snapshot`] serves health checks. The hot path
//! is lock-free: atomics for the state and striped, epoch-tagged counters for the window; a
//! mutex is taken only to change state. Time is `tokio::time`, so tests can pause the clock.
//!
//! # Example
//!
//! A breaker over a service that is not HTTP at all: a lookup that answers a `u32` or an error,
//! where `Ok(0)` means "not found" (the caller's problem, so neutral).
//!
//! ```
//! use resilience_breaker::{Breaker, BreakerConfig, BreakerOpen, CircuitBreakerLayer, State};
//! use resilience_core::{BoxError, Outcome};
//! use std::time::Duration;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let config = BreakerConfig::builder()
//!     .consecutive_failures(3)
//!     .open_duration(Duration::from_secs(5), 2.0, Duration::from_secs(60))
//!     .build()?;
//! let breaker = Breaker::new("inventory", config);
//!
//! let classify = |result: &Result<u32, BoxError>| match result {
//!     Ok(0) => Outcome::Neutral,
//!     Ok(_) => Outcome::Success,
//!     Err(_) => Outcome::Failure,
//! };
//! let service = ServiceBuilder::new()
//!     .layer(CircuitBreakerLayer::with_classifier(breaker.clone(), classify))
//!     .service_fn(|sku: u32| async move {
//!         if sku == 13 { Err::<u32, BoxError>("warehouse unreachable".into()) } else { Ok(sku * 2) }
//!     });
//!
//! assert_eq!(service.clone().oneshot(21).await?, 42);
//! for _ in 0..3 {
//!     assert!(service.clone().oneshot(13).await.is_err());
//! }
//! assert_eq!(breaker.state(), State::Open);
//!
//! // Open: the next call fails fast and says when to come back.
//! let error = service.clone().oneshot(21).await.unwrap_err();
//! let open = error.downcast_ref::<BreakerOpen>().expect("a BreakerOpen");
//! assert!(open.retry_after().unwrap() <= Duration::from_secs(6));
//! # Ok(())
//! # }
//! ```

mod breaker;
mod config;
pub mod error;
pub mod future;
mod jitter;
mod layer;
pub mod metrics;
mod registry;
mod service;
mod state;
mod window;

pub use breaker::{Breaker, Permit};
pub use config::{
    BreakerConfig, BreakerConfigBuilder, ConfigError, Listener, MAX_HALF_OPEN_PROBES,
    MAX_OPEN_DURATION, MIN_BUCKET_WIDTH, SlowCallRule,
};
pub use error::{BreakerOpen, RegistryFull};
pub use layer::CircuitBreakerLayer;
pub use registry::{BreakerRegistry, DEFAULT_REGISTRY_CAPACITY, get_circuit_breaker};
pub use service::CircuitBreaker;
pub use state::{Snapshot, State, StateChange, TransitionReason};

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
