//! [`TtlCache`]: per-entry expiry, single-flight fill, stale-while-revalidate and negative
//! caching on top of `quick_cache::sync::Cache`.

use crate::config::{CacheConfig, Capacity, ConfigError, Weigher};
use crate::stats::{CacheStats, Counters};
use parking_lot::Mutex;
use quick_cache::sync::{EntryAction, EntryResult};
use quick_cache::{DefaultHashBuilder, Equivalent, Lifecycle, OptionsBuilder, Weighter};
use std::any::Any;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Far enough in the future to mean "never", used when `now + ttl` overflows.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How long a value produced by [`TtlCache::get_or_fill`] may be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// Store it for the cache's default TTL.
    DefaultTtl,
    /// Store it for this long (zero means do not store).
    Ttl(Duration),
    /// Hand it to this caller only; do not store it. The key is then marked uncacheable for
    /// the default TTL ("hit-for-pass"): callers already waiting on it, and new callers, fill
    /// for themselves concurrently instead of queueing one fill after another, until a fill
    /// returns a value that is stored.
    Skip,
}

type Negative = Arc<dyn Any + Send + Sync>;

#[derive(Clone)]
enum Slot<V> {
    Value(V),
    Negative(Negative),
}

/// What quick_cache stores: the value (or a cached failure) and when it expires.
#[derive(Clone)]
pub(crate) struct Entry<V> {
    slot: Slot<V>,
    expires_at: Instant,
}

/// Adapts the user's weigher (if any) to quick_cache's `Weighter` over [`Entry`].
struct EntryWeighter<K, V> {
    weigher: Option<Weigher<K, V>>,
}

impl<K, V> Clone for EntryWeighter<K, V> {
    fn clone(&self) -> Self {
        Self {
            weigher: self.weigher.clone(),
        }
    }
}

impl<K, V> Weighter<K, Entry<V>> for EntryWeighter<K, V> {
    #[inline]
    fn weight(&self, key: &K, entry: &Entry<V>) -> u64 {
        match (&self.weigher, &entry.slot) {
            (Some(weigher), Slot::Value(value)) => weigher(key, value).max(1),
            _ => 1,
        }
    }
}

/// quick_cache's eviction hook.
///
/// quick_cache reports a replaced value (an insert over an existing key) through the same
/// `on_evict` as a capacity eviction, so the hook only collects the evicted keys; our insert paths
/// then count as evictions the keys other than the one inserted ([`TtlCache::settle`]). Requests
/// we do not settle ourselves count everything they collected.
#[derive(Clone)]
struct EvictionHook {
    counters: Arc<Counters>,
}

impl<K, V> Lifecycle<K, Entry<V>> for EvictionHook {
    type RequestState = Vec<K>;

    #[inline]
    fn begin_request(&self) -> Self::RequestState {
        Vec::new()
    }

    fn on_evict(&self, state: &mut Self::RequestState, key: K, _entry: Entry<V>) {
        state.push(key);
    }

    fn end_request(&self, state: Self::RequestState) {
        for _ in state {
            self.counters.evicted();
        }
    }
}

type Inner<K, V> =
    quick_cache::sync::Cache<K, Entry<V>, EntryWeighter<K, V>, DefaultHashBuilder, EvictionHook>;

struct Shared<K, V> {
    name: Arc<str>,
    cache: Inner<K, V>,
    default_ttl: Duration,
    negative_ttl: Option<Duration>,
    stale_window: Option<Duration>,
    counters: Arc<Counters>,
    refreshing: Mutex<HashSet<K>>,
    /// Keys whose last fill returned a value not to be stored, until when ("hit-for-pass"):
    /// single flight would only queue their callers one after another. Bounded.
    passing: quick_cache::sync::Cache<K, Instant>,
}

/// How many keys can be marked as passing at once (the oldest marks are evicted first).
const PASSING_CAPACITY: usize = 1024;

/// A concurrent cache with per-entry TTL, built on `quick_cache::sync::Cache`.
///
/// - Expiry: every entry carries its own deadline on tokio's clock (so tests can pause time);
///   an expired entry is never returned by [`get`](Self::get).
/// - Single flight: [`get_or_insert_with`](Self::get_or_insert_with) and
///   [`get_or_fill`](Self::get_or_fill) run one fill per key at a time through quick_cache's
///   placeholder guard; concurrent callers wait and share the stored result. If the filling
///   caller is cancelled (its future dropped) or its fill fails, the next waiter fills. A value
///   the fill says not to store ([`Store::Skip`]) marks the key as passing: waiters and new
///   callers then fill concurrently (no queue) until a storable value arrives.
/// - Stale-while-revalidate and negative caching, when turned on in [`CacheConfig`].
/// - Counters ([`stats`](Self::stats)) and `metrics` facade metrics labelled `cache = name`.
///
/// Cloning is cheap and shares the cache.
pub struct TtlCache<K, V> {
    shared: Arc<Shared<K, V>>,
}

impl<K, V> Clone for TtlCache<K, V> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K, V> fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtlCache")
            .field("name", &self.shared.name)
            .field("default_ttl", &self.shared.default_ttl)
            .field("negative_ttl", &self.shared.negative_ttl)
            .field("stale_while_revalidate", &self.shared.stale_window)
            .finish_non_exhaustive()
    }
}

impl<K, V> TtlCache<K, V> {
    /// The cache's name (its metrics label).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The TTL of entries stored without one of their own.
    pub fn default_ttl(&self) -> Duration {
        self.shared.default_ttl
    }
}

/// What a lookup found, decided under the shard lock.
enum Found<V, E> {
    Fresh(V),
    Stale(V),
    Failure(E),
}

/// The verdict on one stored entry at one instant.
enum Age {
    Fresh,
    Stale,
    Expired,
}

fn deadline(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .or_else(|| now.checked_add(FOREVER))
        .unwrap_or(now)
}

fn read_failure<E: Clone + 'static>(negative: &Negative) -> Option<E> {
    negative.downcast_ref::<E>().cloned()
}

fn store_failure<E: Clone + Send + Sync + 'static>(error: &E) -> Negative {
    Arc::new(error.clone())
}

fn no_failure<E>(_: &Negative) -> Option<E> {
    None
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Builds a cache named `name` (the `cache` label of its metrics).
    ///
    /// Metric handles are registered here: install the `metrics` recorder (exporter) before
    /// building caches, or their metrics go to the no-op recorder ([`stats`](Self::stats) is
    /// exact either way).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when a setting is zero (see [`CacheConfig::validate`]).
    pub fn new(name: impl Into<String>, config: CacheConfig<K, V>) -> Result<Self, ConfigError> {
        config.validate()?;
        let name: Arc<str> = Arc::from(name.into());
        let counters = Arc::new(Counters::new(&name));
        let (estimated, max_weight, weigher) = match config.capacity {
            Capacity::Entries(n) => (usize::try_from(n).unwrap_or(usize::MAX), n, None),
            Capacity::Weight {
                max_weight,
                estimated_entries,
                weigher,
            } => (estimated_entries, max_weight, Some(weigher)),
        };
        let options = OptionsBuilder::new()
            .estimated_items_capacity(estimated)
            .weight_capacity(max_weight)
            .build()
            .map_err(|_| ConfigError::new("capacity", "rejected by quick_cache"))?;
        let cache = Inner::with_options(
            options,
            EntryWeighter { weigher },
            DefaultHashBuilder::default(),
            EvictionHook {
                counters: Arc::clone(&counters),
            },
        );
        counters.set_entries(0);
        Ok(Self {
            shared: Arc::new(Shared {
                name,
                cache,
                default_ttl: config.default_ttl,
                negative_ttl: config.negative_ttl,
                stale_window: config.stale_while_revalidate,
                counters,
                refreshing: Mutex::new(HashSet::new()),
                passing: quick_cache::sync::Cache::new(PASSING_CAPACITY),
            }),
        })
    }

    /// The fresh value stored for `key`, if any. Counts a hit or a miss.
    ///
    /// Expired entries (stale ones included: `get` has no fill to refresh them with) and cached
    /// failures are misses; an entry past its stale window is removed on the way.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let shared = &*self.shared;
        if let Some(entry) = shared.cache.get(key) {
            let now = Instant::now();
            if now < entry.expires_at {
                if let Slot::Value(value) = entry.slot {
                    shared.counters.hit();
                    return Some(value);
                }
            } else if matches!(self.age(&entry, now), Age::Expired) {
                shared
                    .cache
                    .remove_if(key, |e| matches!(self.age(e, Instant::now()), Age::Expired));
            }
        }
        shared.counters.miss();
        None
    }

    /// Whether a fresh value is stored for `key` (counts nothing).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.shared
            .cache
            .peek(key)
            .is_some_and(|e| matches!(e.slot, Slot::Value(_)) && Instant::now() < e.expires_at)
    }

    /// Stores `value` for the default TTL, replacing any entry for `key`.
    pub fn insert(&self, key: K, value: V) {
        self.insert_with_ttl(key, value, self.shared.default_ttl);
    }

    /// Stores `value` for `ttl`, replacing any entry for `key`. A zero `ttl` stores nothing and
    /// removes the old entry.
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        if ttl.is_zero() {
            self.invalidate(&key);
            return;
        }
        let entry = Entry {
            slot: Slot::Value(value),
            expires_at: deadline(Instant::now(), ttl),
        };
        let evicted = self.shared.cache.insert_with_lifecycle(key.clone(), entry);
        self.settle(evicted, &key);
        self.after_insert();
    }

    /// Removes the entry for `key`; `true` if there was one. A fill in progress for `key` then
    /// stores nothing (its result still reaches its caller).
    pub fn invalidate<Q>(&self, key: &Q) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let removed = self.shared.cache.remove(key).is_some();
        self.shared.counters.set_entries(self.shared.cache.len());
        removed
    }

    /// Removes every entry whose key matches `predicate`.
    pub fn invalidate_if(&self, predicate: impl Fn(&K) -> bool) {
        self.shared.cache.retain(|key, _| !predicate(key));
        self.shared.counters.set_entries(self.shared.cache.len());
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.shared.cache.clear();
        self.shared.counters.set_entries(0);
    }

    /// The number of entries held, expired ones not yet evicted included.
    pub fn len(&self) -> usize {
        self.shared.cache.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.shared.cache.is_empty()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        let entries = self.shared.cache.len();
        self.shared.counters.set_entries(entries);
        self.shared.counters.snapshot(entries)
    }

    /// The share of lookups served from the cache (see [`CacheStats::hit_rate`]).
    pub fn hit_rate(&self) -> f64 {
        self.shared.counters.snapshot(0).hit_rate()
    }

    /// The value for `key`, running `fill` on a miss (single flight).
    ///
    /// - A fresh entry is a hit. A cached failure (negative caching) is a hit that returns
    ///   `Err` with a clone of the stored error.
    /// - With stale-while-revalidate on, an entry that expired less than the window ago is
    ///   returned at once and `fill` runs in one background task (`tokio::spawn`; at most one
    ///   refresh per key at a time) whose value replaces the entry. A failed refresh stores
    ///   nothing, so the stale value keeps being served until the window ends.
    /// - Otherwise it is a miss: this caller runs `fill` while concurrent callers for `key` wait
    ///   for its result. `Ok` is stored for the default TTL. `Err` is returned to this caller and,
    ///   with negative caching on, stored for the negative TTL (so waiters get it too); with it
    ///   off, the next waiter runs its own fill. If this caller's future is dropped mid-fill, the
    ///   next waiter fills instead.
    ///
    /// # Errors
    ///
    /// The error of this caller's fill, or a cached failure.
    pub async fn get_or_insert_with<F, Fut, E>(&self, key: K, fill: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        E: Clone + Send + Sync + 'static,
    {
        let fill = move || async move { fill().await.map(|value| (value, Store::DefaultTtl)) };
        self.lookup_or_fill(key, fill, read_failure::<E>, Some(store_failure::<E>))
            .await
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with), but the fill also says how long its
    /// value may be stored ([`Store`]), and errors (which need not be `Clone`) are never cached.
    ///
    /// This is what [`CacheLayer`](crate::CacheLayer) uses: a response's `Cache-Control` decides
    /// its TTL, and a `no-store` response reaches its own caller without being stored.
    ///
    /// # Errors
    ///
    /// The error of this caller's fill.
    pub async fn get_or_fill<F, Fut, E>(&self, key: K, fill: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(V, Store), E>> + Send + 'static,
        E: Send + 'static,
    {
        self.lookup_or_fill(key, fill, no_failure::<E>, None).await
    }

    async fn lookup_or_fill<F, Fut, E>(
        &self,
        key: K,
        fill: F,
        read_failure: fn(&Negative) -> Option<E>,
        store_failure: Option<fn(&E) -> Negative>,
    ) -> Result<V, E>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(V, Store), E>> + Send + 'static,
        E: Send + 'static,
    {
        let shared = &*self.shared;
        // Fast path under the shard's read lock.
        if let Some(entry) = shared.cache.get(&key) {
            match (self.age(&entry, Instant::now()), entry.slot) {
                (Age::Fresh, Slot::Value(value)) => {
                    shared.counters.hit();
                    return Ok(value);
                }
                (Age::Fresh, Slot::Negative(negative)) => {
                    if let Some(error) = read_failure(&negative) {
                        shared.counters.negative_hit();
                        return Err(error);
                    }
                }
                (Age::Stale, Slot::Value(value)) if can_spawn() => {
                    shared.counters.stale_hit();
                    self.spawn_refresh(key, fill);
                    return Ok(value);
                }
                _ => {}
            }
        }

        if self.is_passing(&key) {
            return self.pass_through(key, fill, store_failure).await;
        }

        // Slow path: decide under the write lock, or get quick_cache's placeholder guard (which
        // atomically replaces an expired entry, and makes concurrent callers wait for us).
        let spawn_ok = can_spawn();
        let found = shared
            .cache
            .entry_async(&key, |_, entry| {
                match (self.age(entry, Instant::now()), &entry.slot) {
                    (Age::Fresh, Slot::Value(value)) => {
                        EntryAction::Retain(Found::Fresh(value.clone()))
                    }
                    (Age::Fresh, Slot::Negative(negative)) => match read_failure(negative) {
                        Some(error) => EntryAction::Retain(Found::Failure(error)),
                        None => EntryAction::ReplaceWithGuard,
                    },
                    (Age::Stale, Slot::Value(value)) if spawn_ok => {
                        EntryAction::Retain(Found::Stale(value.clone()))
                    }
                    _ => EntryAction::ReplaceWithGuard,
                }
            })
            .await;
        let guard = match found {
            EntryResult::Retained(Found::Fresh(value)) => {
                shared.counters.hit();
                return Ok(value);
            }
            EntryResult::Retained(Found::Failure(error)) => {
                shared.counters.negative_hit();
                return Err(error);
            }
            EntryResult::Retained(Found::Stale(value)) => {
                shared.counters.stale_hit();
                self.spawn_refresh(key, fill);
                return Ok(value);
            }
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => {
                // We waited behind a fill whose value was not stored: hand the guard on at once
                // (the next waiter does the same) and fill alongside them, not after them.
                if self.is_passing(&key) {
                    drop(guard);
                    return self.pass_through(key, fill, store_failure).await;
                }
                Some(guard)
            }
            // Neither happens (we never ask for removal; the async API has no timeout), but if
            // they did, filling without storing is still correct.
            EntryResult::Removed(..) | EntryResult::Timeout => None,
        };
        shared.counters.miss();
        let result = fill().await;
        let Some(guard) = guard else {
            return result.map(|(value, _)| value);
        };
        let now = Instant::now();
        match result {
            Ok((value, store)) => {
                if let Some(ttl) = self.ttl_for(store) {
                    let entry = Entry {
                        slot: Slot::Value(value.clone()),
                        expires_at: deadline(now, ttl),
                    };
                    if let Ok(evicted) = guard.insert_with_lifecycle(entry) {
                        self.settle(evicted, &key);
                        self.after_insert();
                    }
                } else {
                    self.mark_passing(key, now);
                }
                Ok(value)
            }
            Err(error) => {
                if let (Some(ttl), Some(store)) = (shared.negative_ttl, store_failure) {
                    let entry = Entry {
                        slot: Slot::Negative(store(&error)),
                        expires_at: deadline(now, ttl),
                    };
                    if let Ok(evicted) = guard.insert_with_lifecycle(entry) {
                        self.settle(evicted, &key);
                        self.after_insert();
                    }
                }
                Err(error)
            }
        }
    }

    /// Starts one background refresh of `key` unless one is already running.
    fn is_passing(&self, key: &K) -> bool {
        self.shared
            .passing
            .get(key)
            .is_some_and(|until| Instant::now() < until)
    }

    fn mark_passing(&self, key: K, now: Instant) {
        self.shared
            .passing
            .insert(key, deadline(now, self.shared.default_ttl));
    }

    /// A fill without single flight, for a key whose values are currently not stored. A value
    /// that may be stored is stored (replacing any entry) and ends the pass.
    async fn pass_through<F, Fut, E>(
        &self,
        key: K,
        fill: F,
        store_failure: Option<fn(&E) -> Negative>,
    ) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(V, Store), E>>,
    {
        self.shared.counters.miss();
        let result = fill().await;
        let now = Instant::now();
        let slot = match &result {
            Ok((value, store)) => match self.ttl_for(*store) {
                Some(ttl) => Some((Slot::Value(value.clone()), ttl)),
                None => {
                    self.mark_passing(key.clone(), now);
                    None
                }
            },
            Err(error) => match (self.shared.negative_ttl, store_failure) {
                (Some(ttl), Some(store)) => Some((Slot::Negative(store(error)), ttl)),
                _ => None,
            },
        };
        if let Some((slot, ttl)) = slot {
            self.shared.passing.remove(&key);
            let entry = Entry {
                slot,
                expires_at: deadline(now, ttl),
            };
            let evicted = self.shared.cache.insert_with_lifecycle(key.clone(), entry);
            self.settle(evicted, &key);
            self.after_insert();
        }
        result.map(|(value, _)| value)
    }

    fn spawn_refresh<F, Fut, E>(&self, key: K, fill: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(V, Store), E>> + Send + 'static,
        E: Send + 'static,
    {
        if !self.shared.refreshing.lock().insert(key.clone()) {
            return;
        }
        // Removes the key from the in-flight set however the task ends (panic, runtime shutdown).
        let slot = RefreshSlot {
            cache: self.clone(),
            key: Some(key),
        };
        tokio::spawn(async move {
            let slot = slot;
            if let Ok((value, store)) = fill().await
                && let Some(ttl) = slot.cache.ttl_for(store)
                && let Some(key) = slot.key.clone()
            {
                let entry = Entry {
                    slot: Slot::Value(value),
                    expires_at: deadline(Instant::now(), ttl),
                };
                // `replace` stores only over a resident entry: a refresh never resurrects a key
                // invalidated (or evicted) while it ran.
                let cache = &slot.cache;
                if let Ok(evicted) =
                    cache
                        .shared
                        .cache
                        .replace_with_lifecycle(key.clone(), entry, false)
                {
                    cache.settle(evicted, &key);
                    cache.shared.counters.refreshed();
                    cache.after_insert();
                }
            }
        });
    }

    fn ttl_for(&self, store: Store) -> Option<Duration> {
        match store {
            Store::DefaultTtl => Some(self.shared.default_ttl),
            Store::Ttl(ttl) if !ttl.is_zero() => Some(ttl),
            Store::Ttl(_) | Store::Skip => None,
        }
    }

    #[inline]
    fn age(&self, entry: &Entry<V>, now: Instant) -> Age {
        if now < entry.expires_at {
            Age::Fresh
        } else if let (Some(window), Slot::Value(_)) = (self.shared.stale_window, &entry.slot)
            && now < deadline(entry.expires_at, window)
        {
            Age::Stale
        } else {
            Age::Expired
        }
    }

    /// Counts the capacity evictions of one insert of `key`: every evicted key but `key` itself
    /// (whose old value was replaced), plus `key` when its new value was refused for being
    /// heavier than the cache allows.
    fn settle(&self, evicted: Vec<K>, key: &K) {
        let mut own = false;
        for evicted_key in evicted {
            if evicted_key == *key {
                own = true;
            } else {
                self.shared.counters.evicted();
            }
        }
        if own && self.shared.cache.peek(key).is_none() {
            self.shared.counters.evicted();
        }
    }

    fn after_insert(&self) {
        self.shared.counters.inserted();
        self.shared.counters.set_entries(self.shared.cache.len());
    }
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + AsRef<str> + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Removes every entry whose key starts with `prefix` (for string-like keys, such as the
    /// keys [`HttpKey`](crate::HttpKey) builds: `"GET https://host/path..."`).
    pub fn invalidate_prefix(&self, prefix: &str) {
        self.invalidate_if(|key| key.as_ref().starts_with(prefix));
    }
}

fn can_spawn() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

struct RefreshSlot<K, V>
where
    K: Eq + Hash,
{
    cache: TtlCache<K, V>,
    key: Option<K>,
}

impl<K: Eq + Hash, V> Drop for RefreshSlot<K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cache.shared.refreshing.lock().remove(&key);
        }
    }
}
