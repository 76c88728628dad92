//! Breakers shared by name, so clones and separate clients for one API share one breaker.

use crate::breaker::Breaker;
use crate::config::BreakerConfig;
use crate::error::RegistryFull;
use crate::state::Snapshot;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// The capacity of the [global](BreakerRegistry::global) registry.
pub const DEFAULT_REGISTRY_CAPACITY: usize = 1024;

/// Breakers keyed by name, bounded in size.
///
/// The first [`get_or_insert`](BreakerRegistry::get_or_insert) for a name builds the breaker
/// from its config; later calls for that name return the same breaker and ignore their config.
/// When the registry is full, it evicts the least recently requested breaker that nobody holds
/// any more; if every breaker is still held, it refuses with [`RegistryFull`] rather than
/// silently splitting one API's state in two.
#[derive(Debug)]
pub struct BreakerRegistry {
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Arc<str>, Entry>,
    tick: u64,
}

#[derive(Debug)]
struct Entry {
    breaker: Breaker,
    last_used: u64,
}

impl BreakerRegistry {
    /// An empty registry holding at most `capacity` breakers (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The process-wide registry ([`DEFAULT_REGISTRY_CAPACITY`] breakers).
    pub fn global() -> &'static BreakerRegistry {
        static GLOBAL: OnceLock<BreakerRegistry> = OnceLock::new();
        GLOBAL.get_or_init(|| BreakerRegistry::new(DEFAULT_REGISTRY_CAPACITY))
    }

    /// The breaker named `name`, built from `config` if there is none yet.
    ///
    /// # Errors
    ///
    /// [`RegistryFull`] when the registry is at capacity and every breaker in it is in use.
    pub fn get_or_insert(
        &self,
        name: &str,
        config: BreakerConfig,
    ) -> Result<Breaker, RegistryFull> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.tick += 1;
        let tick = entries.tick;
        if let Some(entry) = entries.map.get_mut(name) {
            entry.last_used = tick;
            return Ok(entry.breaker.clone());
        }
        if entries.map.len() >= self.capacity {
            let victim = entries
                .map
                .iter()
                .filter(|(_, entry)| !entry.breaker.is_shared())
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(name, _)| name.clone());
            match victim {
                Some(victim) => {
                    entries.map.remove(&victim);
                    tracing::debug!(evicted = %victim, "circuit breaker registry evicted an unused breaker");
                }
                None => {
                    return Err(RegistryFull {
                        capacity: self.capacity,
                    });
                }
            }
        }
        let name: Arc<str> = Arc::from(name);
        let breaker = Breaker::new(name.clone(), config);
        entries.map.insert(
            name,
            Entry {
                breaker: breaker.clone(),
                last_used: tick,
            },
        );
        Ok(breaker)
    }

    /// The breaker named `name`, if the registry holds one.
    pub fn get(&self, name: &str) -> Option<Breaker> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.map.get(name).map(|entry| entry.breaker.clone())
    }

    /// Removes the breaker named `name` from the registry (holders keep using it).
    pub fn remove(&self, name: &str) -> Option<Breaker> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.map.remove(name).map(|entry| entry.breaker)
    }

    /// The number of breakers held.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    /// `true` when the registry holds no breaker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most breakers the registry holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A snapshot of every breaker, sorted by name, for a health report.
    pub fn snapshots(&self) -> Vec<Snapshot> {
        let breakers: Vec<Breaker> = {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries.map.values().map(|e| e.breaker.clone()).collect()
        };
        let mut snapshots: Vec<Snapshot> = breakers.iter().map(Breaker::snapshot).collect();
        snapshots.sort_by(|a, b| a.name.cmp(&b.name));
        snapshots
    }
}

impl Default for BreakerRegistry {
    fn default() -> Self {
        Self::new(DEFAULT_REGISTRY_CAPACITY)
    }
}

/// The breaker named `name` in the [global registry](BreakerRegistry::global), built from
/// `config` on first use (the old library's `get_circuit_breaker(name, config)`).
///
/// # Errors
///
/// [`RegistryFull`] when the global registry holds [`DEFAULT_REGISTRY_CAPACITY`] breakers, all
/// in use.
pub fn get_circuit_breaker(name: &str, config: BreakerConfig) -> Result<Breaker, RegistryFull> {
    BreakerRegistry::global().get_or_insert(name, config)
}
