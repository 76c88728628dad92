//! The default in-process store: sharded maps, a short per-shard lock for the arithmetic.

use crate::fx::FxHasher;
use crate::gcra::{self, GcraState, Verdict};
use crate::key::RateKey;
use crate::quota::Quota;
use crate::signals::Observation;
use crate::store::{Decision, Grant, ObserveEffect, RateLimitStore, Reservation, StoreError};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt;
use std::future::{Ready, ready};
use std::hash::{BuildHasher, BuildHasherDefault};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const SHARDS: usize = 16;

/// The default maximum number of keys held before idle keys are swept.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// The in-process state store (the default).
///
/// Keys are spread over 16 shards, each a `HashMap` behind a `parking_lot` mutex held only for
/// the few integer operations of one decision, so tasks on different keys rarely meet and tasks
/// on one key serialise for nanoseconds. Time is tokio's clock (so paused-clock tests see it).
///
/// Memory stays bounded: when a shard holds more than its share of `max_keys`, keys that are
/// *idle* (bucket full again, no pause, no learned limit in force) are swept. Removing an idle
/// key changes no decision, since its state equals a fresh key's. Only keys that are active right
/// now stay, and a key is active for at most `max_wait + burst × interval`.
///
/// Clones share the same state.
#[derive(Clone)]
pub struct InMemoryStore {
    inner: Arc<Inner>,
}

type Shard = HashMap<RateKey, KeyState, BuildHasherDefault<FxHasher>>;

struct Inner {
    epoch: Instant,
    max_per_shard: usize,
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Debug, Default)]
struct KeyState {
    gcra: GcraState,
    learned: Option<Learned>,
    reported: Option<Quota>,
}

#[derive(Debug, Clone, Copy)]
struct Learned {
    quota: Quota,
    until: u64,
}
/// A read-only view of one key's state, for diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySnapshot {
    /// The quota in force now (configured, or lowered by learning).
    pub effective: Quota,
    /// How long until the key's pause ends (zero when not paused).
    pub paused_for: Duration,
    /// How long until the learned limit expires and the configured quota applies again.
    pub learned_for: Option<Duration>,
}

impl fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryStore")
            .field("keys", &self.len())
            .field("max_keys", &(self.inner.max_per_shard * SHARDS))
            .finish()
    }
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl KeyState {
    fn is_idle(&self, now: u64) -> bool {
        self.gcra.tat <= now
            && self.gcra.paused_until <= now
            && self.learned.is_none_or(|l| l.until <= now)
    }

    fn effective(&mut self, configured: Quota, now: u64) -> Quota {
        if self.learned.is_some_and(|l| l.until <= now) {
            self.learned = None;
        }
        match self.learned {
            Some(l) => configured.strictest(l.quota),
            None => configured,
        }
    }

    fn report(&mut self, effective: Quota) -> Option<Quota> {
        (self.reported != Some(effective)).then(|| {
            self.reported = Some(effective);
            effective
        })
    }
}

impl InMemoryStore {
    /// A store holding up to [`DEFAULT_MAX_KEYS`] keys before sweeping idle ones.
    pub fn new() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }

    /// A store holding up to `max_keys` keys (at least 16) before sweeping idle ones.
    pub fn with_max_keys(max_keys: usize) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        Self {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                max_per_shard: max_keys.div_ceil(SHARDS).max(1),
                shards,
            }),
        }
    }

    /// How many keys are held now.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// `true` when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state of `key` under the configured `quota`, if the store holds it.
    pub fn snapshot(&self, key: &RateKey, quota: Quota) -> Option<KeySnapshot> {
        let now = self.now();
        let shard = &self.inner.shards[self.shard_of(key)];
        let mut map = shard.lock();
        let state = map.get_mut(key)?;
        let effective = state.effective(quota, now);
        Some(KeySnapshot {
            effective,
            paused_for: Duration::from_nanos(state.gcra.paused_until.saturating_sub(now)),
            learned_for: state
                .learned
                .map(|l| Duration::from_nanos(l.until.saturating_sub(now))),
        })
    }

    fn now(&self) -> u64 {
        nanos(Instant::now().saturating_duration_since(self.inner.epoch))
    }

    fn shard_of(&self, key: &RateKey) -> usize {
        // The high bits are the best mixed; the map itself uses the low ones.
        (BuildHasherDefault::<FxHasher>::default().hash_one(key) >> 60) as usize % SHARDS
    }

    fn with_state<R>(&self, key: &RateKey, f: impl FnOnce(&mut KeyState, u64) -> R) -> R {
        let shard = &self.inner.shards[self.shard_of(key)];
        let mut map = shard.lock();
        // Read the clock under the lock, so decisions on one key see time move forward.
        let now = self.now();
        if let Some(state) = map.get_mut(key) {
            return f(state, now);
        }
        if map.len() >= self.inner.max_per_shard {
            map.retain(|_, s| !s.is_idle(now));
            if map.len() >= self.inner.max_per_shard {
                tracing::warn!(
                    keys = map.len(),
                    "rate-limit store shard is full of active keys; growing it"
                );
            }
        }
        f(map.entry(key.clone()).or_default(), now)
    }
}

fn acquire_in(state: &mut KeyState, quota: Quota, now: u64, max_wait: Duration) -> Decision {
    let effective = state.effective(quota, now);
    let limit_changed = state.report(effective);
    match gcra::acquire(&mut state.gcra, effective, now, nanos(max_wait)) {
        Verdict::Granted { wait_ns, tat_after } => Decision::Granted(Grant {
            wait: Duration::from_nanos(wait_ns),
            reservation: Reservation::new(tat_after, effective.emission_ns()),
            limit_changed,
        }),
        Verdict::Denied { wait_ns } => Decision::Denied {
            wait: Duration::from_nanos(wait_ns),
        },
    }
}

impl RateLimitStore for InMemoryStore {
    type AcquireFuture = Ready<Result<Decision, StoreError>>;
    type ObserveFuture = Ready<Result<ObserveEffect, StoreError>>;

    fn acquire(&self, key: &RateKey, quota: Quota, max_wait: Duration) -> Self::AcquireFuture {
        let decision = self.with_state(key, |state, now| acquire_in(state, quota, now, max_wait));
        ready(Ok(decision))
    }

    fn confirm(
        &self,
        key: &RateKey,
        quota: Quota,
        reservation: Reservation,
        max_wait: Duration,
    ) -> Self::AcquireFuture {
        let decision = self.with_state(key, |state, now| {
            if state.gcra.paused_until <= now {
                return Decision::Granted(Grant {
                    wait: Duration::ZERO,
                    reservation,
                    limit_changed: None,
                });
            }
            gcra::release(
                &mut state.gcra,
                reservation.tat_after(),
                reservation.emission_ns(),
            );
            acquire_in(state, quota, now, max_wait)
        });
        ready(Ok(decision))
    }

    fn release(&self, key: &RateKey, reservation: Reservation) {
        let shard = &self.inner.shards[self.shard_of(key)];
        let mut map = shard.lock();
        if let Some(state) = map.get_mut(key) {
            let refunded = gcra::release(
                &mut state.gcra,
                reservation.tat_after(),
                reservation.emission_ns(),
            );
            tracing::trace!(key = %key, refunded, "released an unused permit");
        }
    }

    fn observe(
        &self,
        key: &RateKey,
        quota: Quota,
        observation: Observation,
    ) -> Self::ObserveFuture {
        let effect = self.with_state(key, |state, now| {
            let paused_before = state.gcra.paused_until;
            if observation.remaining == Some(0) {
                if let Some(window) = observation.window_end() {
                    gcra::pause(&mut state.gcra, now.saturating_add(nanos(window)));
                }
            }
            if let Some(pause) = observation.pause {
                gcra::pause(&mut state.gcra, now.saturating_add(nanos(pause)));
            }
            if let Some(server) = observation.quota {
                // `ServerQuota` is public: a custom `ResponseSignals` may hand over `max: 0`.
                // Read it as the strictest rate that still moves (1 per window), as the Redis
                // store does, never as a division by zero.
                let max = server.max.max(1);
                let emission = u64::try_from(server.window.as_nanos().div_ceil(u128::from(max)))
                    .unwrap_or(u64::MAX);
                let burst = NonZeroU32::new(u32::try_from(server.max).unwrap_or(u32::MAX))
                    .unwrap_or(NonZeroU32::MIN);
                let learned = Quota::from_raw(emission, burst);
                // A learned limit holds for one window after the last response that announced
                // it, counted from the end of any pause (no response can refresh it before).
                let from = now.max(state.gcra.paused_until);
                state.learned = (quota.strictest(learned) != quota).then(|| Learned {
                    quota: learned,
                    until: from.saturating_add(nanos(server.window)),
                });
            }
            let effective = state.effective(quota, now);
            if let Some(remaining @ 1..) = observation.remaining {
                gcra::limit_remaining(&mut state.gcra, effective, now, remaining);
            }
            ObserveEffect {
                limit_changed: state.report(effective),
                paused_for: (state.gcra.paused_until > paused_before.max(now))
                    .then(|| Duration::from_nanos(state.gcra.paused_until - now)),
            }
        });
        ready(Ok(effect))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::ServerQuota;

    fn quota() -> Quota {
        Quota::per_second(NonZeroU32::new(10).unwrap())
    }

    fn granted(store: &InMemoryStore, key: &RateKey, max_wait: Duration) -> Option<Duration> {
        match store.acquire(key, quota(), max_wait).into_inner() {
            Ok(Decision::Granted(g)) => Some(g.wait),
            _ => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_keys_are_swept_active_ones_kept() {
        let store = InMemoryStore::with_max_keys(16);
        let active = RateKey::scope("active");
        for _ in 0..10 {
            granted(&store, &active, Duration::ZERO);
        }
        for i in 0..200 {
            granted(&store, &RateKey::scope(format!("k{i}")), Duration::ZERO);
            tokio::time::advance(Duration::from_millis(200)).await;
        }
        assert!(store.len() <= 16 + 1, "{} keys", store.len());
        // the active key was drained and kept or swept only once idle: never more than allowed
        assert!(store.snapshot(&RateKey::scope("k199"), quota()).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn learned_limit_decays_after_its_window() {
        let store = InMemoryStore::new();
        let key = RateKey::scope("k");
        let obs = Observation {
            quota: Some(ServerQuota {
                max: 2,
                window: Duration::from_secs(1),
            }),
            ..Observation::default()
        };
        let effect = store.observe(&key, quota(), obs).into_inner().unwrap();
        let lowered = effect.limit_changed.unwrap();
        assert_eq!(lowered.emission_interval(), Duration::from_millis(500));
        assert_eq!(lowered.burst(), 2);
        tokio::time::advance(Duration::from_millis(1001)).await;
        let snap = store.snapshot(&key, quota()).unwrap();
        assert_eq!(snap.effective, quota());
        assert_eq!(snap.learned_for, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_custom_signal_with_a_zero_max_is_one_per_window_not_a_panic() {
        let store = InMemoryStore::new();
        let key = RateKey::scope("k");
        let obs = Observation {
            quota: Some(ServerQuota {
                max: 0,
                window: Duration::from_secs(10),
            }),
            ..Observation::default()
        };
        let effect = store.observe(&key, quota(), obs).into_inner().unwrap();
        let lowered = effect.limit_changed.unwrap();
        assert_eq!(lowered.emission_interval(), Duration::from_secs(10));
        assert_eq!(lowered.burst(), 1);
    }
}
