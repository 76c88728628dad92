//! [`CacheLayer`]: puts a [`TtlCache`] in front of a request/response service.

use crate::key::HttpKey;
use crate::service::Cache;
use crate::ttl_cache::TtlCache;
use resilience_core::HttpClassifier;
use std::fmt;
use std::sync::Arc;
use tower::Layer;

/// The cache type the layer uses: key to shared response.
pub type ResponseCache<K, R> = TtlCache<K, Arc<R>>;

/// The response cache of our HTTP clients.
pub type HttpResponseCache = ResponseCache<String, http::Response<bytes::Bytes>>;

/// Answers cacheable requests from a [`TtlCache`] (see [`Cache`] for the rules).
///
/// ```
/// use resilience_cache::{CacheConfig, CacheLayer, HttpResponseCache};
/// use std::time::Duration;
///
/// let cache = HttpResponseCache::new("hubspot", CacheConfig::new(Duration::from_secs(60)))?;
/// let layer = CacheLayer::new(cache);
/// # let _ = layer;
/// # Ok::<(), resilience_cache::ConfigError>(())
/// ```
pub struct CacheLayer<K, R, KF = HttpKey, C = HttpClassifier> {
    cache: ResponseCache<K, R>,
    key_fn: Arc<KF>,
    classifier: Arc<C>,
    store_private: bool,
}

impl<K, R, KF, C> Clone for CacheLayer<K, R, KF, C> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            key_fn: Arc::clone(&self.key_fn),
            classifier: Arc::clone(&self.classifier),
            store_private: self.store_private,
        }
    }
}

impl<K, R, KF, C> fmt::Debug for CacheLayer<K, R, KF, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheLayer")
            .field("cache", &self.cache.name())
            .field("store_private", &self.store_private)
            .finish_non_exhaustive()
    }
}

impl<R> CacheLayer<String, R> {
    /// A layer over `cache` with the HTTP defaults: [`HttpKey`] (GET/HEAD and requests marked
    /// `Cacheable`, keyed by method, URI and a hash of the credentials) and [`HttpClassifier`]
    /// (only successes are stored).
    pub fn new(cache: ResponseCache<String, R>) -> Self {
        Self::with_rules(cache, HttpKey::new(), HttpClassifier::new())
    }
}

impl<K, R, KF, C> CacheLayer<K, R, KF, C> {
    /// A layer over `cache` with your own key function and classifier (for any service).
    pub fn with_rules(cache: ResponseCache<K, R>, key_fn: KF, classifier: C) -> Self {
        Self {
            cache,
            key_fn: Arc::new(key_fn),
            classifier: Arc::new(classifier),
            store_private: true,
        }
    }

    /// Replaces the key function (which also decides which requests are cacheable).
    pub fn key_fn<KF2>(self, key_fn: KF2) -> CacheLayer<K, R, KF2, C> {
        CacheLayer {
            cache: self.cache,
            key_fn: Arc::new(key_fn),
            classifier: self.classifier,
            store_private: self.store_private,
        }
    }

    /// Replaces the classifier: only responses it calls [`Outcome::Success`] are stored.
    ///
    /// [`Outcome::Success`]: resilience_core::Outcome::Success
    pub fn classifier<C2>(self, classifier: C2) -> CacheLayer<K, R, KF, C2> {
        CacheLayer {
            cache: self.cache,
            key_fn: self.key_fn,
            classifier: Arc::new(classifier),
            store_private: self.store_private,
        }
    }

    /// Whether responses marked `Cache-Control: private` are stored (default `true`: this is a
    /// client-side cache and the default key separates credentials). Turn it off when your key
    /// function lets several users share entries.
    pub fn store_private(mut self, store_private: bool) -> Self {
        self.store_private = store_private;
        self
    }

    /// The cache behind the layer (for stats and invalidation).
    pub fn cache(&self) -> &ResponseCache<K, R> {
        &self.cache
    }
}

impl<S, K, R, KF, C> Layer<S> for CacheLayer<K, R, KF, C> {
    type Service = Cache<S, K, R, KF, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Cache::from_parts(
            inner,
            self.cache.clone(),
            Arc::clone(&self.key_fn),
            Arc::clone(&self.classifier),
            self.store_private,
        )
    }
}
