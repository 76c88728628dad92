//! Shared circuit-breaker hints: workers publish "my breaker for X is open", and a worker may
//! open early only when a quorum of the fleet agrees.
//!
//! Breaker decisions stay local (a shared breaker state lets one bad node trip everyone:
//! Polly #287, pybreaker #24/#26). The shared part is advisory: per breaker name, a sorted set
//! of the workers whose breaker is open, each entry expiring when that breaker would probe
//! again; and a sorted set of the workers seen recently. [`BreakerHints::should_open_early`]
//! says yes only when enough *other* workers agree ([`Quorum`]).

use crate::config::{DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT, RedisStoreError, redact};
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use resilience_breaker::{Breaker, State, StateChange};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a published hint lasts when the breaker did not say how long it stays open (30 s).
pub const DEFAULT_HINT_TTL: Duration = Duration::from_secs(30);
/// How long a worker counts as "recently seen" after its last call (60 s).
pub const DEFAULT_SEEN_TTL: Duration = Duration::from_secs(60);

const HINTS_LUA: &str = r#"
-- KEYS[1]: workers whose breaker KEYS-named is open (member = worker, score = expiry ms)
-- KEYS[2]: workers seen recently (member = worker, score = expiry ms)
-- ARGV: op (publish | withdraw | check), worker id, hint ttl ms, seen ttl ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
local me = ARGV[2]
local seen_ttl = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now + seen_ttl, me)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('PEXPIRE', KEYS[2], seen_ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if op == 'publish' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), me)
elseif op == 'withdraw' then
  redis.call('ZREM', KEYS[1], me)
end
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then
  redis.call('PEXPIRE', KEYS[1], math.max(tonumber(top[2]) - now, 1))
end
local open = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], me) then
  open = open - 1
end
return {open, redis.call('ZCARD', KEYS[2])}
"#;

/// How many other workers must report an open breaker before a worker opens early.
///
/// Both rules must hold: at least `min_workers` other workers, and at least `share` of the
/// workers seen recently (this one included). The default, 3 workers and 50 %, means a single
/// bad worker (or two) never trips the fleet, and in a large fleet a small group does not
/// either.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quorum {
    min_workers: u32,
    share_ppm: u32,
}

impl Default for Quorum {
    fn default() -> Self {
        Quorum {
            min_workers: 3,
            share_ppm: 500_000,
        }
    }
}

impl Quorum {
    /// At least `min_workers` (≥ 1) other workers and at least `share` (in (0, 1]) of the
    /// workers seen.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidQuorum`] when `min_workers` is 0 or `share` is not in (0, 1].
    pub fn new(min_workers: u32, share: f64) -> Result<Self, RedisStoreError> {
        if min_workers == 0 {
            return Err(RedisStoreError::InvalidQuorum(
                "at least one other worker must agree",
            ));
        }
        if !(share > 0.0 && share <= 1.0) {
            return Err(RedisStoreError::InvalidQuorum(
                "the share must be greater than 0 and at most 1",
            ));
        }
        Ok(Quorum {
            min_workers,
            // in (0, 1e6]: the cast cannot truncate
            share_ppm: ((share * 1e6).round() as u32).max(1),
        })
    }

    /// Whether `open_elsewhere` other workers, out of `seen` workers (this one included), make
    /// a quorum.
    pub fn is_met(&self, open_elsewhere: u32, seen: u32) -> bool {
        open_elsewhere >= self.min_workers
            && u64::from(open_elsewhere) * 1_000_000 >= u64::from(self.share_ppm) * u64::from(seen)
    }
}

/// What the fleet says about one breaker name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintStatus {
    /// Other workers whose breaker is open (unexpired hints).
    pub open_elsewhere: u32,
    /// Workers seen recently, this one included.
    pub seen: u32,
    /// Whether that makes a quorum.
    pub quorum: bool,
}

/// Shared, advisory circuit-breaker hints for a fleet of workers, in Redis.
///
/// Wire it to a `resilience-breaker` breaker with [`listener`](Self::listener) (publishes when
/// the breaker opens, withdraws when it closes) and, if the worker should act on the fleet's
/// view, [`guard`](Self::guard) (forces the breaker open while a quorum of other workers report
/// theirs open, and resets it when they no longer do). A forced-open breaker never publishes,
/// so early opening cannot cascade. Every Redis call has a timeout; when Redis is unreachable
/// nobody opens early.
#[derive(Clone)]
pub struct BreakerHints {
    inner: Arc<HintsInner>,
}

struct HintsInner {
    client: redis::Client,
    connection: Mutex<Option<ConnectionManager>>,
    script: redis::Script,
    worker_id: Arc<str>,
    key_prefix: Arc<str>,
    quorum: Quorum,
    hint_ttl: Duration,
    seen_ttl: Duration,
    timeout: Duration,
    redacted_url: String,
}

impl fmt::Debug for BreakerHints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("BreakerHints")
            .field("url", &i.redacted_url)
            .field("worker_id", &i.worker_id)
            .field("quorum", &i.quorum)
            .field("hint_ttl", &i.hint_ttl)
            .finish()
    }
}

/// Builds [`BreakerHints`]; see [`BreakerHints::builder`].
#[derive(Debug, Clone)]
pub struct BreakerHintsBuilder {
    url: String,
    worker_id: Option<String>,
    key_prefix: String,
    quorum: Quorum,
    hint_ttl: Duration,
    seen_ttl: Duration,
    timeout: Duration,
}

impl BreakerHintsBuilder {
    /// This worker's id (default: `{HOSTNAME}-{pid}`, or `{pid}-{nanos}` without `HOSTNAME`).
    /// Each worker of the fleet needs its own.
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = Some(id.into());
        self
    }

    /// The prefix of the Redis keys (default [`DEFAULT_KEY_PREFIX`], plus `breaker:`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The quorum (default: 3 other workers and 50 % of those seen).
    pub fn quorum(mut self, quorum: Quorum) -> Self {
        self.quorum = quorum;
        self
    }

    /// The expiry of a hint when the breaker gives no open duration (default 30 s).
    pub fn hint_ttl(mut self, ttl: Duration) -> Self {
        self.hint_ttl = ttl;
        self
    }

    /// How long a worker counts as seen after its last call (default 60 s).
    pub fn seen_ttl(mut self, ttl: Duration) -> Self {
        self.seen_ttl = ttl;
        self
    }

    /// The timeout of each Redis call (default 50 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the handle; no connection is made until the first call.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] or [`RedisStoreError::ZeroTimeout`].
    pub fn build(self) -> Result<BreakerHints, RedisStoreError> {
        if self.timeout.is_zero() {
            return Err(RedisStoreError::ZeroTimeout);
        }
        let client = redis::Client::open(self.url.as_str()).map_err(RedisStoreError::InvalidUrl)?;
        let worker_id = self.worker_id.unwrap_or_else(default_worker_id);
        Ok(BreakerHints {
            inner: Arc::new(HintsInner {
                client,
                connection: Mutex::new(None),
                script: redis::Script::new(HINTS_LUA),
                worker_id: Arc::from(worker_id),
                key_prefix: Arc::from(format!("{}breaker:", self.key_prefix)),
                quorum: self.quorum,
                hint_ttl: self.hint_ttl,
                seen_ttl: self.seen_ttl,
                timeout: self.timeout,
                redacted_url: redact(&self.url),
            }),
        })
    }
}

fn default_worker_id() -> String {
    let pid = std::process::id();
    match std::env::var("HOSTNAME") {
        Ok(host) if !host.is_empty() => format!("{host}-{pid}"),
        _ => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            format!("{pid}-{nanos}")
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl BreakerHints {
    /// A builder for hints on `url`.
    pub fn builder(url: impl Into<String>) -> BreakerHintsBuilder {
        BreakerHintsBuilder {
            url: url.into(),
            worker_id: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            quorum: Quorum::default(),
            hint_ttl: DEFAULT_HINT_TTL,
            seen_ttl: DEFAULT_SEEN_TTL,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// This worker's id.
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let mut slot = self.inner.connection.lock();
        if let Some(conn) = &*slot {
            return Ok(conn.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.inner.timeout.max(Duration::from_millis(250))))
            .set_response_timeout(Some(self.inner.timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn run(
        &self,
        op: &str,
        name: &str,
        ttl: Duration,
    ) -> Result<HintStatus, RedisStoreError> {
        let i = &self.inner;
        let work = async {
            let mut conn = self.connection()?;
            let reply: Vec<u32> = i
                .script
                .key(format!("{}open:{name}", i.key_prefix))
                .key(format!("{}seen", i.key_prefix))
                .arg(op)
                .arg(&*i.worker_id)
                .arg(millis(ttl))
                .arg(millis(i.seen_ttl))
                .invoke_async(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>(reply)
        };
        let reply = match tokio::time::timeout(i.timeout, work).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(RedisStoreError::Redis(e)),
            Err(_) => return Err(RedisStoreError::Timeout(i.timeout)),
        };
        let [open_elsewhere, seen] = reply.as_slice() else {
            return Err(RedisStoreError::Redis(redis::RedisError::from((
                redis::ErrorKind::Parse,
                "unexpected reply from the hints script",
            ))));
        };
        Ok(HintStatus {
            open_elsewhere: *open_elsewhere,
            seen: *seen,
            quorum: i.quorum.is_met(*open_elsewhere, *seen),
        })
    }

    /// Publishes that this worker's breaker `name` is open, for `open_for` (the hint expires
    /// then; [`DEFAULT_HINT_TTL`]-like default via the builder when `None`).
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Timeout`] or [`RedisStoreError::Redis`].
    pub async fn publish_open(
        &self,
        name: &str,
        open_for: Option<Duration>,
    ) -> Result<HintStatus, RedisStoreError> {
        self.run("publish", name, open_for.unwrap_or(self.inner.hint_ttl))
            .await
    }

    /// Withdraws this worker's hint for `name` (its breaker closed).
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Timeout`] or [`RedisStoreError::Redis`].
    pub async fn withdraw(&self, name: &str) -> Result<HintStatus, RedisStoreError> {
        self.run("withdraw", name, self.inner.hint_ttl).await
    }

    /// What the fleet says about `name` (also marks this worker as seen).
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Timeout`] or [`RedisStoreError::Redis`].
    pub async fn status(&self, name: &str) -> Result<HintStatus, RedisStoreError> {
        self.run("check", name, self.inner.hint_ttl).await
    }

    /// `true` only when a quorum of other workers report breaker `name` open; `false` when they
    /// do not, and when Redis cannot be asked (nobody opens early on missing information).
    pub async fn should_open_early(&self, name: &str) -> bool {
        match self.status(name).await {
            Ok(status) => status.quorum,
            Err(error) => {
                tracing::debug!(breaker = name, error = %crate::store::chain(&error), "breaker hints unavailable");
                false
            }
        }
    }

    /// A listener for `BreakerConfigBuilder::on_state_change`: publishes a hint when the breaker
    /// opens (expiring with its open duration) and withdraws it when the breaker closes.
    /// Forced-open, half-open and disabled states publish nothing. The calls run on the current
    /// tokio runtime (spawned); outside one they are skipped.
    pub fn listener(&self) -> impl Fn(&StateChange) + Send + Sync + 'static {
        let hints = self.clone();
        move |change: &StateChange| {
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let hints = hints.clone();
            let name = change.name.to_string();
            match change.to {
                State::Open => {
                    let open_for = change.open_for;
                    handle.spawn(log_failure(async move {
                        hints.publish_open(&name, open_for).await
                    }));
                }
                State::Closed => {
                    handle.spawn(log_failure(async move { hints.withdraw(&name).await }));
                }
                _ => {}
            }
        }
    }

    /// Watches the fleet for `breaker` every `every`: forces it open while a quorum of other
    /// workers report theirs open (only from `Closed`), and resets it once they no longer do
    /// (only if this guard forced it). Runs until the returned task is aborted.
    pub fn guard(&self, breaker: Breaker, every: Duration) -> tokio::task::JoinHandle<()> {
        let hints = self.clone();
        tokio::spawn(async move {
            let mut forced = false;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let early = hints.should_open_early(breaker.name()).await;
                match (early, breaker.state()) {
                    (true, State::Closed) => {
                        breaker.force_open();
                        forced = true;
                        tracing::warn!(
                            breaker = breaker.name(),
                            "a quorum of workers report this breaker open: opening early"
                        );
                    }
                    (false, State::ForcedOpen) if forced => {
                        breaker.reset();
                        forced = false;
                        tracing::info!(
                            breaker = breaker.name(),
                            "the fleet no longer reports this breaker open: closing"
                        );
                    }
                    (_, State::ForcedOpen) => {}
                    _ => forced = false,
                }
            }
        })
    }
}

async fn log_failure(fut: impl Future<Output = Result<HintStatus, RedisStoreError>>) {
    if let Err(error) = fut.await {
        tracing::debug!(error = %crate::store::chain(&error), "could not publish a breaker hint");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_needs_both_rules() {
        let q = Quorum::default();
        assert!(!q.is_met(1, 2), "one bad worker never trips the fleet");
        assert!(!q.is_met(2, 3));
        assert!(q.is_met(3, 4));
        assert!(q.is_met(3, 6));
        assert!(!q.is_met(3, 7), "3 of 7 is under half");
        assert!(q.is_met(5, 10));
        let any_two = Quorum::new(2, 0.1).unwrap();
        assert!(any_two.is_met(2, 20));
        assert!(Quorum::new(0, 0.5).is_err());
        assert!(Quorum::new(1, 0.0).is_err());
        assert!(Quorum::new(1, 1.5).is_err());
    }
}
