//! Hit/miss/eviction accounting: exact atomic counters plus `metrics` facade handles.

use metrics::{Counter, Gauge};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A point-in-time snapshot of a cache's counters.
///
/// Every lookup is exactly one of a hit, a stale hit or a miss; `negative_hits` is the part of
/// `hits` that returned a cached failure. `refreshes` counts stale-while-revalidate background
/// fills that stored a new value (each also counts as an insert).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from a fresh entry (cached failures included).
    pub hits: u64,
    /// Lookups that found nothing usable and ran a fill (or returned `None`).
    pub misses: u64,
    /// Lookups answered from an expired entry inside the stale-while-revalidate window.
    pub stale_hits: u64,
    /// The part of `hits` that returned a cached failure (negative caching).
    pub negative_hits: u64,
    /// Entries stored (explicit inserts, fills, refreshes and negative entries).
    pub inserts: u64,
    /// Entries evicted to respect the capacity (expiry and invalidation are not evictions).
    pub evictions: u64,
    /// Background stale-while-revalidate refreshes that stored a new value.
    pub refreshes: u64,
    /// Entries held when the snapshot was taken (expired entries not yet evicted included).
    pub entries: u64,
}

impl CacheStats {
    /// All lookups counted: hits + stale hits + misses.
    pub fn requests(&self) -> u64 {
        self.hits + self.stale_hits + self.misses
    }

    /// The share of lookups served from the cache, `(hits + stale_hits) / requests`, in
    /// `0.0..=1.0`; `0.0` before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        let requests = self.requests();
        if requests == 0 {
            0.0
        } else {
            (self.hits + self.stale_hits) as f64 / requests as f64
        }
    }
}

/// A counter split over cache-line-padded stripes, so threads hitting the same cache do not
/// fight over one cache line on every lookup.
struct Striped([Padded; STRIPES]);

const STRIPES: usize = 8;

#[repr(align(64))]
#[derive(Default)]
struct Padded(AtomicU64);

thread_local! {
    static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

fn stripe() -> usize {
    STRIPE.with(|cell| {
        let mut index = cell.get();
        if index == usize::MAX {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            index = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
            cell.set(index);
        }
        index
    })
}

impl Striped {
    fn new() -> Self {
        Self(Default::default())
    }

    #[inline]
    fn add(&self) {
        self.0[stripe()].0.fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|p| p.0.load(Ordering::Relaxed)).sum()
    }
}

/// The live counters behind [`CacheStats`], shared by the cache and its eviction hook.
pub(crate) struct Counters {
    hits: Striped,
    misses: Striped,
    stale_hits: AtomicU64,
    negative_hits: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
    refreshes: AtomicU64,
    metrics: MetricHandles,
}

/// Handles registered once, at construction, so the hot path never builds a metric key.
struct MetricHandles {
    hit: Counter,
    miss: Counter,
    stale: Counter,
    inserts: Counter,
    evictions: Counter,
    entries: Gauge,
}

impl Counters {
    pub(crate) fn new(name: &Arc<str>) -> Self {
        let label = || name.to_string();
        let requests = |result: &'static str| metrics::counter!("resilience_cache_requests_total", "cache" => label(), "result" => result);
        Self {
            hits: Striped::new(),
            misses: Striped::new(),
            stale_hits: AtomicU64::new(0),
            negative_hits: AtomicU64::new(0),
            inserts: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            metrics: MetricHandles {
                hit: requests("hit"),
                miss: requests("miss"),
                stale: requests("stale"),
                inserts: metrics::counter!("resilience_cache_inserts_total", "cache" => label()),
                evictions: metrics::counter!("resilience_cache_evictions_total", "cache" => label()),
                entries: metrics::gauge!("resilience_cache_entries", "cache" => label()),
            },
        }
    }

    #[inline]
    pub(crate) fn hit(&self) {
        self.hits.add();
        self.metrics.hit.increment(1);
    }

    pub(crate) fn negative_hit(&self) {
        self.negative_hits.fetch_add(1, Ordering::Relaxed);
        self.hit();
    }

    #[inline]
    pub(crate) fn miss(&self) {
        self.misses.add();
        self.metrics.miss.increment(1);
    }

    pub(crate) fn stale_hit(&self) {
        self.stale_hits.fetch_add(1, Ordering::Relaxed);
        self.metrics.stale.increment(1);
    }

    pub(crate) fn inserted(&self) {
        self.inserts.fetch_add(1, Ordering::Relaxed);
        self.metrics.inserts.increment(1);
    }

    pub(crate) fn refreshed(&self) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn evicted(&self) {
        self.evictions.fetch_add(1, Ordering::Relaxed);
        self.metrics.evictions.increment(1);
    }

    pub(crate) fn set_entries(&self, entries: usize) {
        self.metrics.entries.set(entries as f64);
    }

    pub(crate) fn snapshot(&self, entries: usize) -> CacheStats {
        CacheStats {
            hits: self.hits.sum(),
            misses: self.misses.sum(),
            stale_hits: self.stale_hits.load(Ordering::Relaxed),
            negative_hits: self.negative_hits.load(Ordering::Relaxed),
            inserts: self.inserts.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            refreshes: self.refreshes.load(Ordering::Relaxed),
            entries: entries as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_rate_counts_stale_hits_as_served() {
        let stats = CacheStats {
            hits: 6,
            stale_hits: 2,
            misses: 2,
            ..CacheStats::default()
        };
        assert_eq!(stats.requests(), 10);
        assert!((stats.hit_rate() - 0.8).abs() < 1e-12);
        assert_eq!(CacheStats::default().hit_rate(), 0.0);
    }
}
