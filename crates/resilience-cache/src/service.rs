//! [`Cache`]: the service [`CacheLayer`](crate::CacheLayer) builds.

use crate::future::ResponseFuture;
use crate::key::KeyFn;
use crate::layer::ResponseCache;
use crate::response::{CacheableResponse, Freshness};
use crate::ttl_cache::Store;
use resilience_core::Classify;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Service, ServiceExt};

/// Answers cacheable requests from a [`TtlCache`](crate::TtlCache) without calling the inner
/// service.
///
/// For each request:
/// 1. The key function decides: `None` (a `POST` without `Cacheable`, by default) goes straight
///    to the inner service and nothing is stored.
/// 2. A fresh entry is a hit: the caller gets a copy
///    ([`CacheableResponse::clone_response`]) and the inner service is not called, not even
///    `poll_ready`.
/// 3. On a miss, one caller per key calls the inner service (single flight, through
///    [`TtlCache::get_or_fill`](crate::TtlCache::get_or_fill)); concurrent callers for the same key
///    wait and get copies of its response when it is stored.
/// 4. The response is stored only when the classifier calls it a success **and** the response
///    allows it ([`CacheableResponse::freshness`]: for HTTP, a 2xx without `no-store`/`no-cache`),
///    for `min(max-age, default TTL)`. Errors are never stored. A response that is not stored
///    reaches its own caller, and each waiting caller then calls the inner service itself.
/// 5. With stale-while-revalidate on in the cache, an entry expired less than the window ago is
///    served while one background call refreshes it.
///
/// `poll_ready` is always ready: readiness of the inner service is awaited inside the call, on a
/// miss only (the inner service must be `Clone`, as for `tower::buffer` or a hyper client).
pub struct Cache<S, K, R, KF, C> {
    inner: S,
    cache: ResponseCache<K, R>,
    key_fn: Arc<KF>,
    classifier: Arc<C>,
    store_private: bool,
}

impl<S, K, R, KF, C> Cache<S, K, R, KF, C> {
    pub(crate) fn from_parts(
        inner: S,
        cache: ResponseCache<K, R>,
        key_fn: Arc<KF>,
        classifier: Arc<C>,
        store_private: bool,
    ) -> Self {
        Self {
            inner,
            cache,
            key_fn,
            classifier,
            store_private,
        }
    }

    /// Wraps `inner` with `cache`, using your key function and classifier.
    pub fn new(inner: S, cache: ResponseCache<K, R>, key_fn: KF, classifier: C) -> Self {
        Self::from_parts(inner, cache, Arc::new(key_fn), Arc::new(classifier), true)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The cache (for stats and invalidation).
    pub fn cache(&self) -> &ResponseCache<K, R> {
        &self.cache
    }
}

impl<S: Clone, K, R, KF, C> Clone for Cache<S, K, R, KF, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
            key_fn: Arc::clone(&self.key_fn),
            classifier: Arc::clone(&self.classifier),
            store_private: self.store_private,
        }
    }
}

impl<S: fmt::Debug, K, R, KF, C> fmt::Debug for Cache<S, K, R, KF, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("inner", &self.inner)
            .field("cache", &self.cache.name())
            .field("store_private", &self.store_private)
            .finish_non_exhaustive()
    }
}

/// How long a response may be stored, from what it allows and the cache's default TTL.
fn store_for(freshness: Freshness, default_ttl: Duration, store_private: bool) -> Store {
    match freshness {
        Freshness::NoStore => Store::Skip,
        Freshness::Store { private: true, .. } if !store_private => Store::Skip,
        Freshness::Store {
            max_age: Some(max_age),
            ..
        } => Store::Ttl(max_age.min(default_ttl)),
        Freshness::Store { max_age: None, .. } => Store::DefaultTtl,
    }
}

impl<S, Req, K, R, KF, C> Service<Req> for Cache<S, K, R, KF, C>
where
    S: Service<Req, Response = R> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    Req: Send + 'static,
    R: CacheableResponse + Send + Sync + 'static,
    KF: KeyFn<Req, Key = K>,
    K: Eq + std::hash::Hash + Clone + Send + Sync + 'static,
    C: Classify<R, S::Error> + Send + Sync + 'static,
{
    type Response = R;
    type Error = S::Error;
    type Future = ResponseFuture<R, S::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let inner = self.inner.clone();
        let Some(key) = self.key_fn.key(&request) else {
            return ResponseFuture::new(inner.oneshot(request));
        };
        let cache = self.cache.clone();
        let classifier = Arc::clone(&self.classifier);
        let store_private = self.store_private;
        let default_ttl = cache.default_ttl();
        ResponseFuture::new(async move {
            let fill = move || async move {
                let result = inner.oneshot(request).await;
                let success = classifier.classify(&result).is_success();
                let response = result?;
                let store = if success {
                    store_for(response.freshness(), default_ttl, store_private)
                } else {
                    Store::Skip
                };
                Ok((Arc::new(response), store))
            };
            let shared = cache.get_or_fill(key, fill).await?;
            // Unstored responses come back unshared: hand over the original, not a copy.
            Ok(Arc::try_unwrap(shared).unwrap_or_else(|shared| shared.clone_response()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_capped_by_the_default_ttl() {
        let ttl = Duration::from_secs(60);
        let store = |max_age: Option<u64>, private| Freshness::Store {
            max_age: max_age.map(Duration::from_secs),
            private,
        };
        assert_eq!(store_for(Freshness::NoStore, ttl, true), Store::Skip);
        assert_eq!(store_for(store(None, false), ttl, true), Store::DefaultTtl);
        assert_eq!(
            store_for(store(Some(5), false), ttl, true),
            Store::Ttl(Duration::from_secs(5))
        );
        assert_eq!(
            store_for(store(Some(600), false), ttl, true),
            Store::Ttl(ttl)
        );
        assert_eq!(store_for(store(None, true), ttl, true), Store::DefaultTtl);
        assert_eq!(store_for(store(None, true), ttl, false), Store::Skip);
    }
}
