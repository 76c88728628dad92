//! Replay protection: remember accepted deliveries for a while and refuse them a second time.

use std::fmt;
use std::time::{Duration, SystemTime};

use quick_cache::sync::{Cache, EntryAction, EntryResult};

use crate::error::WebhookError;
use crate::request::{ReplayKey, Verified};

/// Remembers delivery identifiers ([`Verified::replay_key`]) for a time-to-live.
pub trait ReplayGuard: fmt::Debug + Send + Sync {
    /// Records `key` until `now + ttl`. Returns `true` when the key was not already recorded
    /// (or its record had expired), `false` for a replay. Must be atomic: of two concurrent
    /// calls with one key, at most one returns `true`.
    fn record(&self, key: &ReplayKey, now: SystemTime, ttl: Duration) -> bool;

    /// Forgets `key`, so the sender's next retry of a delivery that the application failed to
    /// process is accepted.
    fn forget(&self, key: &ReplayKey);

    /// Records `verified`'s key.
    ///
    /// # Errors
    ///
    /// [`WebhookError::Replayed`] when the key was already recorded within its time-to-live.
    fn check(
        &self,
        verified: &Verified,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), WebhookError> {
        if self.record(&verified.replay_key, now, ttl) {
            Ok(())
        } else {
            Err(WebhookError::Replayed)
        }
    }
}

/// The default number of delivery keys kept.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// An in-memory [`ReplayGuard`] on a bounded `quick_cache` map of key → expiry.
///
/// When more distinct deliveries arrive within the window than it holds, the cache evicts
/// entries before they expire and a replay of an evicted delivery is no longer detected: size
/// it above the number of deliveries you expect per replay window. It is per process; a fleet
/// of receivers needs a shared store behind the same trait.
pub struct MemoryReplayGuard {
    seen: Cache<ReplayKey, SystemTime>,
}

impl MemoryReplayGuard {
    /// A guard holding up to `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Cache::new(capacity.max(1)),
        }
    }

    /// How many keys are currently held (expired ones included until replaced or evicted).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

impl Default for MemoryReplayGuard {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl fmt::Debug for MemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayGuard")
            .field("len", &self.seen.len())
            .field("capacity", &self.seen.capacity())
            .finish()
    }
}

/// How long "forever" is for an unrepresentable expiry: a century.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl ReplayGuard for MemoryReplayGuard {
    fn record(&self, key: &ReplayKey, now: SystemTime, ttl: Duration) -> bool {
        // A TTL past what `SystemTime` can hold (a tolerance of `Duration::MAX` doubled) means
        // "remember for good", never "already expired", which would let every replay through.
        let expires = now
            .checked_add(ttl)
            .or_else(|| now.checked_add(FOREVER))
            .unwrap_or(now);
        // A zero timeout: if another thread is inserting this very key right now, this call
        // is the duplicate.
        match self.seen.entry(key, Some(Duration::ZERO), |_, until| {
            if *until > now {
                EntryAction::Retain(())
            } else {
                EntryAction::ReplaceWithGuard
            }
        }) {
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => {
                let _ = guard.insert(expires);
                true
            }
            EntryResult::Retained(()) | EntryResult::Removed(..) | EntryResult::Timeout => false,
        }
    }

    fn forget(&self, key: &ReplayKey) {
        self.seen.remove(key);
    }
}

impl<G: ReplayGuard + ?Sized> ReplayGuard for std::sync::Arc<G> {
    fn record(&self, key: &ReplayKey, now: SystemTime, ttl: Duration) -> bool {
        (**self).record(key, now, ttl)
    }

    fn forget(&self, key: &ReplayKey) {
        (**self).forget(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Scheme;
    use std::time::UNIX_EPOCH;

    #[test]
    fn an_unrepresentable_ttl_remembers_instead_of_expiring_at_once() {
        let guard = MemoryReplayGuard::new(10);
        let key = ReplayKey::new(Scheme::HubSpotV3, [7; 16]);
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(guard.record(&key, now, Duration::MAX));
        assert!(
            !guard.record(&key, now, Duration::MAX),
            "the replay must be refused"
        );
        let later = now + Duration::from_secs(365 * 24 * 3600);
        assert!(!guard.record(&key, later, Duration::MAX));
    }
}
