//! The state store trait: where the per-key GCRA state, learned limits and pauses live.

use crate::key::RateKey;
use crate::quota::Quota;
use crate::signals::Observation;
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// Where the limiter keeps its per-key state.
///
/// Every method is **atomic per key** and reads time from the store's own clock, so that one
/// implementation can be shared by many processes (a Redis store runs each method as one Lua
/// script against the server's `TIME`). The caller passes the *configured* quota with every
/// call; the store combines it with what it has learned and must never grant faster than it.
/// Waits are returned as durations relative to the store's "now", so the caller and the store
/// need not share a clock.
///
/// The futures are associated types so the in-memory store costs no allocation
/// ([`std::future::Ready`]).
pub trait RateLimitStore: Clone + Send + Sync + 'static {
    /// The future [`acquire`](RateLimitStore::acquire) returns.
    type AcquireFuture: Future<Output = Result<Decision, StoreError>> + Send + 'static;
    /// The future [`observe`](RateLimitStore::observe) returns.
    type ObserveFuture: Future<Output = Result<ObserveEffect, StoreError>> + Send + 'static;

    /// Reserves one permit for `key` if it can be had within `max_wait`; otherwise reserves
    /// nothing and reports the wait it would need. The reservation is made at once (a fair
    /// queue): the caller then sleeps for the granted wait.
    fn acquire(&self, key: &RateKey, quota: Quota, max_wait: Duration) -> Self::AcquireFuture;

    /// Called when a waiter's sleep ends, before it sends: confirms `reservation`
    /// (`Granted` with a zero wait), or, when the key was paused after the reservation was made
    /// (a 429 answered meanwhile), gives it back and reserves again behind the pause within
    /// `max_wait` (`Granted` with a new wait and reservation, or `Denied`). This is how one 429
    /// pauses every waiter of the key, not only the requests that arrive after it.
    fn confirm(
        &self,
        key: &RateKey,
        quota: Quota,
        reservation: Reservation,
        max_wait: Duration,
    ) -> Self::AcquireFuture;

    /// Gives back a reservation whose request was never sent (its caller was cancelled while
    /// waiting). Fire-and-forget: it runs from `Drop`, so a remote store should spawn it.
    fn release(&self, key: &RateKey, reservation: Reservation);

    /// Applies what a response said about `key`'s limit (see [`Observation`]): a learned quota
    /// lowers the rate until its window ends (never above `quota`), `remaining` lowers the
    /// permits available now, `remaining == 0` or a `pause` stops the key for every waiter.
    fn observe(&self, key: &RateKey, quota: Quota, observation: Observation)
    -> Self::ObserveFuture;

    /// Pauses `key` for `wait` (shorthand for an observation holding only a pause).
    fn pause(&self, key: &RateKey, quota: Quota, wait: Duration) -> Self::ObserveFuture {
        self.observe(key, quota, Observation::pause(wait))
    }
}

/// The answer to [`RateLimitStore::acquire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A permit is reserved.
    Granted(Grant),
    /// No permit within the allowed wait; nothing was reserved.
    Denied {
        /// The wait the permit would have needed.
        wait: Duration,
    },
}

/// A reserved permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// How long to wait before sending (zero when a permit was available).
    pub wait: Duration,
    /// Identifies the reservation, to give it back if the request is never sent.
    pub reservation: Reservation,
    /// Set when the key's effective quota is new or changed (first use, a learned limit that
    /// expired), for the limit gauge.
    pub limit_changed: Option<Quota>,
}

/// One reserved permit, as the store needs it back for [`RateLimitStore::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    tat_after: u64,
    emission_ns: u64,
}

impl Reservation {
    /// A reservation that moved its key's theoretical arrival time to `tat_after` (nanoseconds
    /// on the store's clock) under an emission interval of `emission_ns`.
    pub fn new(tat_after: u64, emission_ns: u64) -> Self {
        Self {
            tat_after,
            emission_ns,
        }
    }

    /// The key's theoretical arrival time right after this reservation.
    pub fn tat_after(&self) -> u64 {
        self.tat_after
    }

    /// The emission interval the permit was charged at.
    pub fn emission_ns(&self) -> u64 {
        self.emission_ns
    }
}

/// What [`RateLimitStore::observe`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObserveEffect {
    /// The key's effective quota after the observation, when it differs from before.
    pub limit_changed: Option<Quota>,
    /// How long the key is now paused for, when the observation paused it or extended a pause.
    pub paused_for: Option<Duration>,
}

/// A store could not answer (a remote store's connection failed or timed out).
///
/// The layer **fails open** on a store error: the request goes ahead unlimited, with a warning
/// in the logs and `resilience_ratelimit_store_errors_total` counted. A store that wants a local
/// fallback (as the Redis store will) handles it inside and never returns this.
pub struct StoreError {
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl StoreError {
    /// Wraps the store's own error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("rate-limit store failed")
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
