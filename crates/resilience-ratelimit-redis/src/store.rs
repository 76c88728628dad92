//! `RedisStore`: the fleet-wide `RateLimitStore`, with a local fallback.

use crate::config::{RedisStoreBuilder, RedisStoreError, Settings, Share};
use crate::health::Health;
use crate::script::{Confirmed, GcraScript, ObserveArgs, ScriptClock};
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use resilience_ratelimit::{
    Decision, Grant, InMemoryStore, Observation, ObserveEffect, Quota, RateKey, RateLimitStore,
    Reservation, StoreError,
};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The boxed future a [`RedisStore`] returns.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// Most keys tracked per process before the tracking is cleared; keys are bounded by design
/// (hosts × tokens × classes), so this is a safety net.
const MAX_TRACKED: usize = 10_000;

/// Most permits taken from the fallback to carry the shared queue over (see `charge`).
const MAX_CHARGE: usize = 100_000;

/// What this process remembers about one key, besides the limiter state itself.
#[derive(Debug, Default)]
struct Track {
    /// The quota last reported for the limit gauge, and in which mode generation.
    reported: Option<(u64, Quota)>,
    /// When the last permit this process got from Redis is due (tokio clock).
    shared_busy: Option<Instant>,
    /// When the last permit this process got from the fallback is due.
    local_busy: Option<Instant>,
    /// The mode generation in which the fallback key was charged with the shared queue.
    charged: u64,
}

/// A [`RateLimitStore`] in Redis: every process that uses the same Redis and key prefix shares
/// one GCRA budget per [`RateKey`].
///
/// - **One atomic script per call**, on the Redis server's clock (see [`crate::script`]):
///   `acquire`, `confirm`, `release` and `observe` each take one round trip, and the arithmetic
///   is `resilience_ratelimit::gcra`'s. Learned limits and pauses live in Redis too, so one
///   worker's `X-HubSpot-RateLimit-Remaining` or 429 slows or pauses every worker.
/// - **Bounded waits on Redis.** Every call has a timeout (50 ms by default). When a call fails
///   or times out, the store switches to **fallback mode**: a local [`InMemoryStore`] at a
///   share of the configured quota (`1 / expected workers`, default ¼), with one `warn` log
///   per switch, `resilience_ratelimit_fallback{service}` set to 1 and
///   `resilience_ratelimit_fallback_transitions_total{service,to}` counted. In fallback mode,
///   one call per probe interval (1 s) tries Redis again; when it answers, the store switches
///   back and the fleet shares its budget again. The store never returns a
///   [`StoreError`], so the limiter never fails open because of Redis.
/// - **Lazy.** Building the store makes no connection (no runtime needed either); it connects
///   on first use through a [`ConnectionManager`], which reconnects by itself (its background
///   tasks run on the tokio runtime of that first call, so use one store per runtime).
///
/// Clones share the connection, the fallback and the mode.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    client: redis::Client,
    connection: Mutex<Option<ConnectionManager>>,
    script: GcraScript,
    fallback: InMemoryStore,
    health: Health,
    tracks: Mutex<HashMap<RateKey, Track>>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner.settings;
        f.debug_struct("RedisStore")
            .field("url", &s.redacted_url)
            .field("service", &s.service)
            .field("key_prefix", &s.key_prefix)
            .field("timeout", &s.timeout)
            .field("fallback_share", &s.share.as_f64())
            .field("sharing", &self.is_sharing())
            .finish()
    }
}

/// The error's message and its sources, `: `-joined (never holds the URL).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl RedisStore {
    /// A builder for a store on `url` (`redis://host:port/db`, `redis://:password@host`,
    /// `redis+unix:///path`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(url)
    }

    /// A store on `url` with the default settings.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] when the URL cannot be parsed.
    pub fn new(url: impl Into<String>) -> Result<Self, RedisStoreError> {
        Self::builder(url).build()
    }

    pub(crate) fn from_parts(client: redis::Client, settings: Settings) -> Self {
        let health = Health::new(
            Arc::clone(&settings.service),
            Arc::clone(&settings.redacted_url),
            settings.probe_interval,
        );
        RedisStore {
            inner: Arc::new(Inner {
                settings,
                client,
                connection: Mutex::new(None),
                script: GcraScript::new(),
                fallback: InMemoryStore::new(),
                health,
                tracks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// `true` while the budget is shared through Redis, `false` while the local fallback
    /// answers.
    pub fn is_sharing(&self) -> bool {
        !self.inner.health.is_fallback()
    }

    /// How many times the store switched between shared and fallback mode.
    pub fn transitions(&self) -> u64 {
        self.inner.health.transitions()
    }

    /// The quota the local fallback applies for a configured `quota`: the interval divided by
    /// the fallback share (rounded up) and the burst multiplied by it (at least 1).
    pub fn fallback_quota(&self, quota: Quota) -> Quota {
        scale(quota, self.inner.settings.share)
    }

    /// The local fallback store (for diagnostics).
    pub fn fallback_store(&self) -> &InMemoryStore {
        &self.inner.fallback
    }

    /// The Redis key that holds `key`'s state: `{prefix}{scope}/{class}`.
    pub fn redis_key(&self, key: &RateKey) -> String {
        format!("{}{}", self.inner.settings.key_prefix, key)
    }

    /// Sends a `PING` within the store's timeout (for health checks); does not change the mode.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Timeout`] or [`RedisStoreError::Redis`].
    pub async fn ping(&self) -> Result<(), RedisStoreError> {
        self.call(|mut conn| async move {
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            Ok(())
        })
        .await
    }

    fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let mut slot = self.inner.connection.lock();
        if let Some(conn) = &*slot {
            return Ok(conn.clone());
        }
        let timeout = self.inner.settings.timeout;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout.max(Duration::from_millis(250))))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        let conn = ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs one Redis call under the store's timeout.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, RedisStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, redis::RedisError>>,
    {
        let timeout = self.inner.settings.timeout;
        let work = async {
            let conn = self.connection()?;
            f(conn).await
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(RedisStoreError::Redis(error)),
            Err(_) => Err(RedisStoreError::Timeout(timeout)),
        }
    }

    /// The quota to ask Redis for: the configured one, or the fallback share while warming up
    /// after a fallback (workers that have not noticed Redis is back yet still use theirs).
    fn shared_quota(&self, quota: Quota) -> Quota {
        if self.inner.health.warming_up() {
            self.fallback_quota(quota)
        } else {
            quota
        }
    }

    fn track<R>(&self, key: &RateKey, f: impl FnOnce(&mut Track) -> R) -> R {
        let mut tracks = self.inner.tracks.lock();
        if let Some(track) = tracks.get_mut(key) {
            return f(track);
        }
        if tracks.len() >= MAX_TRACKED {
            tracks.clear();
        }
        f(tracks.entry(key.clone()).or_default())
    }

    /// Remembers the quota last reported for `key` (per process, again after every mode switch
    /// so the limit gauge shows the quota of the mode in force).
    fn report(&self, key: &RateKey, effective: Quota) -> Option<Quota> {
        let generation = self.inner.health.generation();
        self.track(key, |t| {
            (t.reported != Some((generation, effective))).then(|| {
                t.reported = Some((generation, effective));
                effective
            })
        })
    }

    /// Notes when a granted permit is due, per mode.
    fn note(&self, key: &RateKey, decision: &Decision, shared: bool) {
        if let Decision::Granted(grant) = decision {
            let due = Instant::now() + grant.wait;
            self.track(key, |t| {
                let slot = if shared {
                    &mut t.shared_busy
                } else {
                    &mut t.local_busy
                };
                *slot = Some(slot.map_or(due, |d| d.max(due)));
            });
        }
    }

    /// How long this process still has permits queued from the fallback: new shared permits
    /// start after them (handover from fallback to shared without a double burst).
    fn shared_floor(&self, key: &RateKey) -> Duration {
        let now = Instant::now();
        self.track(key, |t| {
            t.local_busy
                .map_or(Duration::ZERO, |d| d.saturating_duration_since(now))
        })
    }

    /// On the first fallback use of `key` after a switch, takes from the fallback the permits
    /// this process still has queued from Redis, so that new local permits start after them
    /// (handover from shared to fallback without a double burst).
    fn charge(&self, key: &RateKey, local: Quota) {
        let generation = self.inner.health.generation();
        let now = Instant::now();
        let queued = self.track(key, |t| {
            if t.charged == generation {
                return Duration::ZERO;
            }
            t.charged = generation;
            t.shared_busy
                .map_or(Duration::ZERO, |d| d.saturating_duration_since(now))
        });
        if queued.is_zero() {
            return;
        }
        let fallback = &self.inner.fallback;
        for _ in 0..MAX_CHARGE {
            match fallback.acquire(key, local, Duration::MAX).into_inner() {
                Ok(Decision::Granted(g)) if g.wait < queued => {}
                Ok(Decision::Granted(g)) => {
                    fallback.release(key, g.reservation);
                    break;
                }
                _ => break,
            }
        }
        tracing::debug!(key = %key, ?queued, "fallback charged with the permits queued from redis");
    }

    fn local_effective(&self, key: &RateKey, local: Quota) -> Option<Quota> {
        let effective = self
            .inner
            .fallback
            .snapshot(key, local)
            .map_or(local, |s| s.effective);
        self.report(key, effective)
    }

    fn local_decision(
        &self,
        key: &RateKey,
        local: Quota,
        decision: Result<Decision, StoreError>,
    ) -> Result<Decision, StoreError> {
        let mut decision = decision?;
        if let Decision::Granted(grant) = &mut decision {
            grant.limit_changed = self.local_effective(key, local);
        }
        Ok(decision)
    }

    fn shared_decision(&self, key: &RateKey, decision: Decision, effective: Quota) -> Decision {
        let changed = self.report(key, effective);
        match decision {
            Decision::Granted(grant) => Decision::Granted(Grant {
                limit_changed: changed,
                ..grant
            }),
            denied => denied,
        }
    }

    async fn acquire_now(
        self,
        key: RateKey,
        quota: Quota,
        max_wait: Duration,
    ) -> Result<Decision, StoreError> {
        if let Some(attempt) = self.inner.health.attempt() {
            let rkey = self.redis_key(&key);
            let script = &self.inner.script;
            let floor = self.shared_floor(&key);
            let quota = self.shared_quota(quota);
            let result = self
                .call(|mut conn| async move {
                    script
                        .acquire(
                            &mut conn,
                            &rkey,
                            quota,
                            max_wait,
                            floor,
                            ScriptClock::Server,
                        )
                        .await
                })
                .await;
            match result {
                Ok((decision, effective)) => {
                    attempt.succeeded();
                    self.note(&key, &decision, true);
                    return Ok(self.shared_decision(&key, decision, effective));
                }
                Err(error) => attempt.failed(&error),
            }
        }
        let local = self.fallback_quota(quota);
        self.charge(&key, local);
        let decision = self
            .inner
            .fallback
            .acquire(&key, local, max_wait)
            .into_inner();
        if let Ok(d) = &decision {
            self.note(&key, d, false);
        }
        self.local_decision(&key, local, decision)
    }

    async fn confirm_now(
        self,
        key: RateKey,
        quota: Quota,
        reservation: Reservation,
        max_wait: Duration,
    ) -> Result<Decision, StoreError> {
        if let Some(attempt) = self.inner.health.attempt() {
            let rkey = self.redis_key(&key);
            let script = &self.inner.script;
            let quota = self.shared_quota(quota);
            let result = self
                .call(|mut conn| async move {
                    script
                        .confirm(
                            &mut conn,
                            &rkey,
                            quota,
                            reservation,
                            max_wait,
                            ScriptClock::Server,
                        )
                        .await
                })
                .await;
            match result {
                Ok(Confirmed::Kept) => {
                    attempt.succeeded();
                    return Ok(Decision::Granted(Grant {
                        wait: Duration::ZERO,
                        reservation,
                        limit_changed: None,
                    }));
                }
                Ok(Confirmed::Requeued(decision, effective)) => {
                    attempt.succeeded();
                    self.note(&key, &decision, true);
                    return Ok(self.shared_decision(&key, decision, effective));
                }
                Err(error) => attempt.failed(&error),
            }
        }
        let local = self.fallback_quota(quota);
        let decision = self
            .inner
            .fallback
            .confirm(&key, local, reservation, max_wait)
            .into_inner();
        if let Ok(d) = &decision {
            self.note(&key, d, false);
        }
        self.local_decision(&key, local, decision)
    }

    async fn release_now(self, key: RateKey, reservation: Reservation) {
        if let Some(attempt) = self.inner.health.attempt() {
            let rkey = self.redis_key(&key);
            let script = &self.inner.script;
            let result = self
                .call(|mut conn| async move {
                    script
                        .release(&mut conn, &rkey, reservation, ScriptClock::Server)
                        .await
                })
                .await;
            match result {
                Ok(refunded) => {
                    attempt.succeeded();
                    tracing::trace!(key = %key, refunded, "released an unused permit");
                    return;
                }
                Err(error) => attempt.failed(&error),
            }
        }
        self.inner.fallback.release(&key, reservation);
    }

    async fn observe_now(
        self,
        key: RateKey,
        quota: Quota,
        observation: Observation,
    ) -> Result<ObserveEffect, StoreError> {
        let local = self.fallback_quota(quota);
        if let Some(attempt) = self.inner.health.attempt() {
            let rkey = self.redis_key(&key);
            let script = &self.inner.script;
            // Learning compares with the configured quota, also while warming up.
            let args = ObserveArgs::new(quota, &observation);
            let result = self
                .call(|mut conn| async move {
                    script
                        .observe(&mut conn, &rkey, quota, args, ScriptClock::Server)
                        .await
                })
                .await;
            match result {
                Ok(observed) => {
                    attempt.succeeded();
                    // Keep pauses locally too, so that a fallback started during a pause
                    // still honours it.
                    if let Some(pause) = args.pause {
                        let _ = self.inner.fallback.pause(&key, local, pause).into_inner();
                    }
                    return Ok(ObserveEffect {
                        limit_changed: self.report(&key, observed.effective),
                        paused_for: observed.paused_for,
                    });
                }
                Err(error) => attempt.failed(&error),
            }
        }
        let mut effect = self
            .inner
            .fallback
            .observe(&key, local, observation)
            .into_inner()?;
        effect.limit_changed = self.local_effective(&key, local);
        Ok(effect)
    }
}

/// The fallback share of `quota`: interval ÷ share (rounded up), burst × share (at least 1).
fn scale(quota: Quota, share: Share) -> Quota {
    if share.ppm >= Share::WHOLE {
        return quota;
    }
    let ppm = u128::from(share.ppm.max(1));
    let emission = (u128::from(quota.emission_ns()) * u128::from(Share::WHOLE)).div_ceil(ppm);
    let burst = u128::from(quota.burst()) * ppm / u128::from(Share::WHOLE);
    Quota::from_raw(
        u64::try_from(emission).unwrap_or(u64::MAX),
        NonZeroU32::new(u32::try_from(burst).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN),
    )
}

impl RateLimitStore for RedisStore {
    type AcquireFuture = StoreFuture<Decision>;
    type ObserveFuture = StoreFuture<ObserveEffect>;

    fn acquire(&self, key: &RateKey, quota: Quota, max_wait: Duration) -> Self::AcquireFuture {
        Box::pin(self.clone().acquire_now(key.clone(), quota, max_wait))
    }

    fn confirm(
        &self,
        key: &RateKey,
        quota: Quota,
        reservation: Reservation,
        max_wait: Duration,
    ) -> Self::AcquireFuture {
        Box::pin(
            self.clone()
                .confirm_now(key.clone(), quota, reservation, max_wait),
        )
    }

    fn release(&self, key: &RateKey, reservation: Reservation) {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if self.is_sharing() || self.inner.health.attempt().is_some() => {
                handle.spawn(self.clone().release_now(key.clone(), reservation));
            }
            _ => self.inner.fallback.release(key, reservation),
        }
    }

    fn observe(
        &self,
        key: &RateKey,
        quota: Quota,
        observation: Observation,
    ) -> Self::ObserveFuture {
        Box::pin(self.clone().observe_now(key.clone(), quota, observation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_quota_is_a_share_of_the_budget() {
        let q = Quota::per_period(100, Duration::from_secs(10)).unwrap();
        let quarter = scale(q, Share::workers(NonZeroU32::new(4).unwrap()));
        assert_eq!(quarter.emission_interval(), Duration::from_millis(400));
        assert_eq!(quarter.burst(), 25);
        let third = scale(q, Share::workers(NonZeroU32::new(3).unwrap()));
        // 1/3 is 333 333 ppm: never faster than a third
        assert!(third.emission_ns() >= 300_000_000);
        assert_eq!(third.burst(), 33);
        let strict = Quota::per_second(NonZeroU32::MIN);
        assert_eq!(scale(strict, Share::fraction(0.1).unwrap()).burst(), 1);
        assert_eq!(scale(q, Share::fraction(1.0).unwrap()), q);
    }

    #[test]
    fn building_needs_no_server_and_no_runtime() {
        let store = RedisStore::builder("redis://:s3cret@127.0.0.1:1/0")
            .service("hubspot")
            .build()
            .unwrap();
        assert!(store.is_sharing());
        let debug = format!("{store:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert_eq!(
            store.redis_key(&RateKey::new("https://api.hubapi.com#abcd", "search")),
            "resilience:ratelimit:https://api.hubapi.com#abcd/search"
        );
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_within_the_timeout() {
        // Port 1 on loopback refuses connections at once.
        let store = RedisStore::builder("redis://127.0.0.1:1")
            .expected_workers(NonZeroU32::new(2).unwrap())
            .build()
            .unwrap();
        let key = RateKey::scope("k");
        let quota = Quota::per_second(NonZeroU32::new(10).unwrap());
        let decision = store.acquire(&key, quota, Duration::ZERO).await.unwrap();
        let Decision::Granted(grant) = decision else {
            panic!("the fallback grants the first permit: {decision:?}");
        };
        assert!(!store.is_sharing());
        assert_eq!(store.transitions(), 1);
        assert_eq!(grant.limit_changed, Some(store.fallback_quota(quota)));
        // the fallback allows half of the burst of 10
        let mut granted = 1;
        while let Ok(Decision::Granted(_)) = store.acquire(&key, quota, Duration::ZERO).await {
            granted += 1;
        }
        assert_eq!(granted, 5);
    }
}
