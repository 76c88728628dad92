//! Building a [`RedisStore`]: URL, timeouts, fallback share, and the typed errors.

use crate::store::RedisStore;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable the CLI reads the Redis URL from (`redis://host:6379/0`).
pub const URL_ENV: &str = "RATE_LIMIT_REDIS_URL";
/// The default timeout of one Redis call (50 ms).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);
/// The default number of workers expected to share the budget (the fallback gets 1/4 of it).
pub const DEFAULT_EXPECTED_WORKERS: u32 = 4;
/// How often a store in fallback mode tries Redis again (1 s).
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// The default prefix of every Redis key the store writes.
pub const DEFAULT_KEY_PREFIX: &str = "resilience:ratelimit:";
/// The default `service` metrics label.
pub const DEFAULT_SERVICE: &str = "ratelimit";

/// Why a store or hints handle could not be built, or a check could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The Redis URL could not be parsed (the URL itself is not repeated: it may hold a
    /// password).
    #[error("invalid redis url")]
    InvalidUrl(#[source] redis::RedisError),
    /// The fallback fraction was not a number in (0, 1].
    #[error("invalid fallback fraction {0}: it must be greater than 0 and at most 1")]
    InvalidFraction(f64),
    /// The timeout was zero.
    #[error("the redis call timeout must be longer than zero")]
    ZeroTimeout,
    /// A quorum asked for more than 100 % of the workers, or for nothing at all.
    #[error("invalid quorum: {0}")]
    InvalidQuorum(&'static str),
    /// Redis answered with an error, or the connection failed.
    #[error("redis call failed")]
    Redis(#[source] redis::RedisError),
    /// Redis did not answer within the timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// The share of the configured budget one worker uses while Redis is unreachable.
///
/// Stored as parts per million so that the scaled quota is integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    pub(crate) ppm: u32,
}

impl Share {
    pub(crate) const WHOLE: u32 = 1_000_000;

    pub(crate) fn workers(n: NonZeroU32) -> Self {
        Share {
            ppm: (Self::WHOLE / n.get()).max(1),
        }
    }

    pub(crate) fn fraction(f: f64) -> Result<Self, RedisStoreError> {
        if !(f > 0.0 && f <= 1.0) {
            return Err(RedisStoreError::InvalidFraction(f));
        }
        // `f` is in (0, 1], so the product is in (0, 1e6]: the cast cannot truncate.
        let ppm = (f * f64::from(Self::WHOLE)).round() as u32;
        Ok(Share { ppm: ppm.max(1) })
    }

    pub(crate) fn as_f64(self) -> f64 {
        f64::from(self.ppm) / f64::from(Self::WHOLE)
    }
}

/// Everything a store needs besides the connection.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) service: Arc<str>,
    pub(crate) key_prefix: Arc<str>,
    pub(crate) timeout: Duration,
    pub(crate) share: Share,
    pub(crate) probe_interval: Duration,
    pub(crate) redacted_url: Arc<str>,
}

/// `redis://user:password@host:6379/0` without the user info: `redis://***@host:6379/0`.
pub(crate) fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_owned(),
        },
        None => "[unparsed]".to_owned(),
    }
}

/// Builds a [`RedisStore`]; see [`RedisStore::builder`]. Defaults are in the crate README.
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    service: Arc<str>,
    key_prefix: Arc<str>,
    timeout: Duration,
    share: Result<Share, f64>,
    probe_interval: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("url", &redact(&self.url))
            .field("service", &self.service)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .field("share", &self.share)
            .field("probe_interval", &self.probe_interval)
            .finish()
    }
}

impl RedisStoreBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        RedisStoreBuilder {
            url: url.into(),
            service: Arc::from(DEFAULT_SERVICE),
            key_prefix: Arc::from(DEFAULT_KEY_PREFIX),
            timeout: DEFAULT_TIMEOUT,
            share: Ok(Share::workers(
                NonZeroU32::new(DEFAULT_EXPECTED_WORKERS).unwrap_or(NonZeroU32::MIN),
            )),
            probe_interval: DEFAULT_PROBE_INTERVAL,
        }
    }

    /// The `service` label of the store's metrics (use the layer's name, e.g. `"hubspot"`).
    pub fn service(mut self, service: impl Into<Arc<str>>) -> Self {
        self.service = service.into();
        self
    }

    /// The prefix of every Redis key (default [`DEFAULT_KEY_PREFIX`]); processes that share a
    /// budget must use the same prefix.
    pub fn key_prefix(mut self, prefix: impl Into<Arc<str>>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The longest any Redis call may take before the store falls back (default 50 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// While Redis is unreachable, use `1 / workers` of the configured budget (default 4).
    pub fn expected_workers(mut self, workers: NonZeroU32) -> Self {
        self.share = Ok(Share::workers(workers));
        self
    }

    /// While Redis is unreachable, use `fraction` (in (0, 1]) of the configured budget
    /// (overrides [`expected_workers`](Self::expected_workers)).
    pub fn fallback_fraction(mut self, fraction: f64) -> Self {
        self.share = Share::fraction(fraction).map_err(|_| fraction);
        self
    }

    /// How often a store in fallback mode tries Redis again (default 1 s).
    pub fn probe_interval(mut self, every: Duration) -> Self {
        self.probe_interval = every;
        self
    }

    /// Builds the store. No connection is made here: the store connects on first use, so a
    /// Redis that is down at start only means the store starts in fallback mode.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] for a URL the `redis` crate cannot parse,
    /// [`RedisStoreError::InvalidFraction`] and [`RedisStoreError::ZeroTimeout`] for bad
    /// settings.
    pub fn build(self) -> Result<RedisStore, RedisStoreError> {
        let share = self.share.map_err(RedisStoreError::InvalidFraction)?;
        if self.timeout.is_zero() {
            return Err(RedisStoreError::ZeroTimeout);
        }
        let client = redis::Client::open(self.url.as_str()).map_err(RedisStoreError::InvalidUrl)?;
        let settings = Settings {
            service: self.service,
            key_prefix: self.key_prefix,
            timeout: self.timeout,
            share,
            probe_interval: self.probe_interval,
            redacted_url: Arc::from(redact(&self.url)),
        };
        Ok(RedisStore::from_parts(client, settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("redis://user:secret@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        assert_eq!(redact("redis://:p@ss@cache"), "redis://***@cache");
        assert_eq!(redact("redis://cache:6379"), "redis://cache:6379");
        assert_eq!(redact("secret-without-scheme"), "[unparsed]");
    }

    #[test]
    fn shares() {
        assert_eq!(Share::workers(NonZeroU32::new(4).unwrap()).ppm, 250_000);
        assert_eq!(Share::fraction(0.5).unwrap().ppm, 500_000);
        assert_eq!(Share::fraction(1.0).unwrap().ppm, Share::WHOLE);
        for bad in [0.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Share::fraction(bad),
                Err(RedisStoreError::InvalidFraction(_))
            ));
        }
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let err = RedisStore::builder("redis://127.0.0.1:1")
            .fallback_fraction(2.0)
            .build()
            .unwrap_err();
        assert!(matches!(err, RedisStoreError::InvalidFraction(f) if f == 2.0));
        let err = RedisStore::builder("redis://127.0.0.1:1")
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(matches!(err, RedisStoreError::ZeroTimeout));
        let err = RedisStore::builder("http://user:hunter2@x")
            .build()
            .unwrap_err();
        assert!(matches!(err, RedisStoreError::InvalidUrl(_)));
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }
}
