//! Named caches shared across clients: [`CacheRegistry`] and the process-wide [`get_cache`].

use crate::config::{CacheConfig, ConfigError};
use crate::stats::CacheStats;
use crate::ttl_cache::TtlCache;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, OnceLock};

/// What went wrong fetching a named cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The cache did not exist and its configuration is invalid.
    #[error("cannot create cache `{name}`")]
    Config {
        /// The cache's name.
        name: String,
        /// The invalid setting.
        #[source]
        source: ConfigError,
    },
    /// A cache of that name exists with other key or value types.
    #[error("cache `{name}` exists with key/value types other than the ones requested")]
    TypeMismatch {
        /// The cache's name.
        name: String,
    },
}

/// The type-erased view the registry keeps of each cache.
trait ErasedCache: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn stats(&self) -> CacheStats;
    fn clear(&self);
}

impl<K, V> ErasedCache for TtlCache<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stats(&self) -> CacheStats {
        TtlCache::stats(self)
    }

    fn clear(&self) {
        TtlCache::clear(self)
    }
}

/// Caches by name, so several clients (or several parts of a program) share one cache.
///
/// The first call for a name creates the cache from its configuration; later calls return the
/// same cache and ignore their configuration. Cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct CacheRegistry {
    caches: Arc<Mutex<HashMap<String, Arc<dyn ErasedCache>>>>,
}

impl std::fmt::Debug for CacheRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheRegistry")
            .field("names", &self.names())
            .finish()
    }
}

impl CacheRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide registry that [`get_cache`] uses.
    pub fn global() -> &'static CacheRegistry {
        static GLOBAL: OnceLock<CacheRegistry> = OnceLock::new();
        GLOBAL.get_or_init(CacheRegistry::new)
    }

    /// The cache called `name`, created from `config` if it does not exist yet.
    ///
    /// # Errors
    ///
    /// [`RegistryError::TypeMismatch`] when `name` holds a cache of other types;
    /// [`RegistryError::Config`] when the cache must be created and `config` is invalid.
    pub fn get_or_create<K, V>(
        &self,
        name: &str,
        config: CacheConfig<K, V>,
    ) -> Result<TtlCache<K, V>, RegistryError>
    where
        K: Eq + Hash + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let mut caches = self.caches.lock();
        if let Some(existing) = caches.get(name) {
            return existing
                .as_any()
                .downcast_ref::<TtlCache<K, V>>()
                .cloned()
                .ok_or_else(|| RegistryError::TypeMismatch {
                    name: name.to_owned(),
                });
        }
        let cache = TtlCache::new(name, config).map_err(|source| RegistryError::Config {
            name: name.to_owned(),
            source,
        })?;
        caches.insert(name.to_owned(), Arc::new(cache.clone()));
        Ok(cache)
    }

    /// The cache called `name`, if it exists with these types.
    pub fn get<K, V>(&self, name: &str) -> Option<TtlCache<K, V>>
    where
        K: Eq + Hash + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        self.caches
            .lock()
            .get(name)
            .and_then(|c| c.as_any().downcast_ref::<TtlCache<K, V>>().cloned())
    }

    /// Forgets the cache called `name` (clones already handed out keep working); `true` if it
    /// existed.
    pub fn remove(&self, name: &str) -> bool {
        self.caches.lock().remove(name).is_some()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.caches.lock().keys().cloned().collect();
        names.sort();
        names
    }

    /// Every registered cache's stats, sorted by name.
    pub fn stats(&self) -> Vec<(String, CacheStats)> {
        let caches: Vec<(String, Arc<dyn ErasedCache>)> = self
            .caches
            .lock()
            .iter()
            .map(|(name, cache)| (name.clone(), Arc::clone(cache)))
            .collect();
        let mut stats: Vec<(String, CacheStats)> = caches
            .into_iter()
            .map(|(name, cache)| (name, cache.stats()))
            .collect();
        stats.sort_by(|a, b| a.0.cmp(&b.0));
        stats
    }

    /// Empties every registered cache.
    pub fn clear_all(&self) {
        let caches: Vec<Arc<dyn ErasedCache>> = self.caches.lock().values().cloned().collect();
        for cache in caches {
            cache.clear();
        }
    }
}

/// The process-wide cache called `name`, created from `config` on first use (as the library this
/// replaces did with `get_cache(name, ttl, maxsize)`).
///
/// # Errors
///
/// As [`CacheRegistry::get_or_create`].
pub fn get_cache<K, V>(
    name: &str,
    config: CacheConfig<K, V>,
) -> Result<TtlCache<K, V>, RegistryError>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    CacheRegistry::global().get_or_create(name, config)
}
