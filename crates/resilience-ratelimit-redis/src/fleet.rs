//! `FleetStore`: Redis when a URL is configured, the in-memory store otherwise, as one type.

use crate::config::{RedisStoreBuilder, RedisStoreError, URL_ENV};
use crate::store::{RedisStore, StoreFuture};
use resilience_ratelimit::{
    Decision, InMemoryStore, Observation, ObserveEffect, Quota, RateKey, RateLimitStore,
    Reservation,
};
use std::time::Duration;

/// A store chosen at start-up: [`RedisStore`] when a Redis URL is configured, else a fresh
/// [`InMemoryStore`]. One concrete type, so a client stack or a CLI can build
/// `RateLimitLayer<…, FleetStore>` either way.
///
/// The in-memory variant boxes its (ready) futures; a program that never shares its budget
/// should use [`InMemoryStore`] directly.
#[derive(Debug, Clone)]
pub enum FleetStore {
    /// One process, one budget.
    Local(InMemoryStore),
    /// One budget for every process on the same Redis.
    Redis(RedisStore),
}

impl FleetStore {
    /// Redis at `url` (configured by `configure`) when `url` is `Some` and not blank, else
    /// in-memory.
    ///
    /// # Errors
    ///
    /// What [`RedisStoreBuilder::build`] returns for a bad URL or bad settings.
    pub fn from_url(
        url: Option<&str>,
        configure: impl FnOnce(RedisStoreBuilder) -> RedisStoreBuilder,
    ) -> Result<Self, RedisStoreError> {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Ok(FleetStore::Redis(
                configure(RedisStore::builder(url)).build()?,
            )),
            None => Ok(FleetStore::Local(InMemoryStore::new())),
        }
    }

    /// As [`from_url`](Self::from_url) with the URL from `RATE_LIMIT_REDIS_URL`.
    ///
    /// # Errors
    ///
    /// What [`RedisStoreBuilder::build`] returns for a bad URL or bad settings.
    pub fn from_env(
        configure: impl FnOnce(RedisStoreBuilder) -> RedisStoreBuilder,
    ) -> Result<Self, RedisStoreError> {
        Self::from_url(std::env::var(URL_ENV).ok().as_deref(), configure)
    }

    /// The Redis store, when this is one.
    pub fn redis(&self) -> Option<&RedisStore> {
        match self {
            FleetStore::Redis(store) => Some(store),
            FleetStore::Local(_) => None,
        }
    }
}

impl RateLimitStore for FleetStore {
    type AcquireFuture = StoreFuture<Decision>;
    type ObserveFuture = StoreFuture<ObserveEffect>;

    fn acquire(&self, key: &RateKey, quota: Quota, max_wait: Duration) -> Self::AcquireFuture {
        match self {
            FleetStore::Local(s) => Box::pin(s.acquire(key, quota, max_wait)),
            FleetStore::Redis(s) => s.acquire(key, quota, max_wait),
        }
    }

    fn confirm(
        &self,
        key: &RateKey,
        quota: Quota,
        reservation: Reservation,
        max_wait: Duration,
    ) -> Self::AcquireFuture {
        match self {
            FleetStore::Local(s) => Box::pin(s.confirm(key, quota, reservation, max_wait)),
            FleetStore::Redis(s) => s.confirm(key, quota, reservation, max_wait),
        }
    }

    fn release(&self, key: &RateKey, reservation: Reservation) {
        match self {
            FleetStore::Local(s) => s.release(key, reservation),
            FleetStore::Redis(s) => s.release(key, reservation),
        }
    }

    fn observe(
        &self,
        key: &RateKey,
        quota: Quota,
        observation: Observation,
    ) -> Self::ObserveFuture {
        match self {
            FleetStore::Local(s) => Box::pin(s.observe(key, quota, observation)),
            FleetStore::Redis(s) => s.observe(key, quota, observation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    #[tokio::test]
    async fn no_url_means_in_memory() {
        for url in [None, Some(""), Some("  ")] {
            let store = FleetStore::from_url(url, |b| b).unwrap();
            assert!(store.redis().is_none(), "{url:?}");
            let quota = Quota::per_second(NonZeroU32::new(2).unwrap());
            let key = RateKey::scope("k");
            for _ in 0..2 {
                let d = store.acquire(&key, quota, Duration::ZERO).await.unwrap();
                assert!(matches!(d, Decision::Granted(_)));
            }
            let d = store.acquire(&key, quota, Duration::ZERO).await.unwrap();
            assert!(matches!(d, Decision::Denied { .. }));
        }
    }

    #[test]
    fn a_url_means_redis_and_a_bad_one_an_error() {
        let store =
            FleetStore::from_url(Some("redis://127.0.0.1:6379/0"), |b| b.service("hubspot"))
                .unwrap();
        assert!(store.redis().is_some());
        let err = FleetStore::from_url(Some("not a url"), |b| b).unwrap_err();
        assert!(matches!(err, RedisStoreError::InvalidUrl(_)));
    }
}
