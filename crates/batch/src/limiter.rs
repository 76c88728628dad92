//! A [`RateGate`] that draws from a `resilience-ratelimit` store, so a batch and the client
//! calls share one budget (feature `ratelimit`, on by default).

use crate::gate::{GateFuture, RateGate};
use resilience_ratelimit::{
    Decision, InMemoryStore, Quota, RateKey, RateLimitLayer, RateLimitStore, Reservation,
};
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// How far ahead a [`LimiterGate`] reserves a permit by default; a longer wait (a paused key,
/// a crowded budget) is waited out in steps of at most this long.
pub const DEFAULT_LIMITER_MAX_WAIT: Duration = Duration::from_secs(60);

/// Draws batch permits from a `resilience-ratelimit` [`RateLimitStore`] key: the same budget
/// (and the same learned limits and pauses) as the client requests limited by a
/// [`RateLimitLayer`] over that store.
///
/// Each permit follows the layer's protocol: reserve, sleep until due, confirm (a key paused
/// meanwhile by a 429 moves the permit behind the pause), and give the reservation back if the
/// wait is abandoned (the run was cancelled or dropped). Unlike a request, a batch is patient:
/// when the store denies a permit because it is further away than the maximum wait, the gate
/// sleeps and asks again, so it never fails an item — cancel the run to stop waiting. A store
/// error lets the item through (fail open, as the layer does) with a warning.
///
/// A request for `n` permits (a chunk with [`ChunkPermits::PerItem`](crate::ChunkPermits))
/// takes them one after the other, so the chunk starts once its whole share is due; use
/// [`ChunkPermits::PerChunk`](crate::ChunkPermits::PerChunk) when the key counts requests.
///
/// **Do not count twice**: if the operation goes through a client whose stack already holds
/// a rate limiter on the same key, every item is charged there already; this gate is for work
/// that is not limited underneath, or for holding a batch to a separate, lower key.
#[derive(Clone)]
pub struct LimiterGate<St = InMemoryStore> {
    store: St,
    key: RateKey,
    quota: Quota,
    max_wait: Duration,
}

impl<St> fmt::Debug for LimiterGate<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimiterGate")
            .field("key", &self.key)
            .field("quota", &self.quota)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl<St: RateLimitStore> LimiterGate<St> {
    /// A gate drawing from `key` of `store` under the configured `quota` (pass the same quota
    /// the layer uses for that key, or use [`from_layer`](Self::from_layer)).
    pub fn new(store: St, key: RateKey, quota: Quota) -> Self {
        Self {
            store,
            key,
            quota,
            max_wait: DEFAULT_LIMITER_MAX_WAIT,
        }
    }

    /// A gate drawing from `key` in `layer`'s store, resolved as the layer resolves its
    /// requests' keys: a class the layer has no quota for draws from the scope's `default`
    /// bucket (as the layer's own requests of that class do), with that bucket's quota.
    pub fn from_layer<K, C, H>(layer: &RateLimitLayer<K, C, H, St>, key: RateKey) -> Self {
        let (key, quota) = layer.resolve_key(key);
        Self::new(layer.store().clone(), key, quota)
    }

    /// How far ahead a permit may be reserved (default [`DEFAULT_LIMITER_MAX_WAIT`]).
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The key the gate draws from.
    pub fn key(&self) -> &RateKey {
        &self.key
    }

    /// The configured quota the gate passes to the store.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Waits for one permit.
    async fn one(&self) {
        loop {
            let mut held = Held {
                store: &self.store,
                key: &self.key,
                reservation: None,
            };
            let give_up_at = Instant::now().checked_add(self.max_wait);
            let mut decision = self
                .store
                .acquire(&self.key, self.quota, self.max_wait)
                .await;
            let retry_after = loop {
                match decision {
                    Err(error) => {
                        tracing::warn!(
                            key = %self.key.label(),
                            %error,
                            "batch rate gate: the store failed; letting the item through"
                        );
                        return;
                    }
                    Ok(Decision::Denied { wait }) => break wait,
                    Ok(Decision::Granted(grant)) => {
                        if grant.wait.is_zero() {
                            // Due now: the permit is spent.
                            return;
                        }
                        held.reservation = Some(grant.reservation);
                        sleep(grant.wait).await;
                        let Some(reservation) = held.reservation.take() else {
                            return;
                        };
                        let left = give_up_at.map_or(self.max_wait, |at| {
                            at.saturating_duration_since(Instant::now())
                        });
                        decision = self
                            .store
                            .confirm(&self.key, self.quota, reservation, left)
                            .await;
                    }
                }
            };
            drop(held);
            // Re-ask at the latest after one horizon (a pause may have moved the slot). A zero
            // horizon reserves nothing ahead: wait for the permit itself. (`clamp` would panic
            // for a horizon under its 1 ms floor.)
            let step = if self.max_wait.is_zero() {
                retry_after
            } else {
                retry_after.min(self.max_wait)
            };
            sleep(step.max(Duration::from_millis(1))).await;
        }
    }
}

impl<St: RateLimitStore> RateGate for LimiterGate<St> {
    fn acquire(&self, permits: NonZeroU32) -> GateFuture<'_> {
        Box::pin(async move {
            for _ in 0..permits.get() {
                self.one().await;
            }
            Ok(())
        })
    }
}

/// A reservation not yet used: given back to the store if the wait is abandoned.
struct Held<'a, St: RateLimitStore> {
    store: &'a St,
    key: &'a RateKey,
    reservation: Option<Reservation>,
}

impl<St: RateLimitStore> Drop for Held<'_, St> {
    fn drop(&mut self) {
        if let Some(reservation) = self.reservation.take() {
            self.store.release(self.key, reservation);
        }
    }
}
