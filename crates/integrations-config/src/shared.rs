//! Settings shared by both clients: retry, circuit breaker and cache.

use std::time::Duration;

use crate::{ConfigError, Environment};

/// The most retries a config accepts (`*_MAX_RETRIES` above this is an error).
pub const MAX_RETRIES_LIMIT: u32 = 10;

/// Retry settings: exponential backoff with an optional full jitter and a cap.
///
/// The delay before retry `n` (counting from 0) is `base_delay × multiplier^n`, capped at
/// `max_delay`; with `jitter` on, the retry layer waits a random time between zero and that.
///
/// | field | production default |
/// | --- | --- |
/// | `max_retries` | 3 (`HUBSPOT_MAX_RETRIES`, `MANYCHAT_MAX_RETRIES`) |
/// | `base_delay` | 250 ms |
/// | `multiplier` | 2 |
/// | `max_delay` | 20 s |
/// | `jitter` | on |
/// | `max_retry_after` | 60 s |
///
/// See [`Environment`] for the other environments.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt (0 = never retry; at most [`MAX_RETRIES_LIMIT`]).
    pub max_retries: u32,
    /// Delay before the first retry.
    pub base_delay: Duration,
    /// Factor applied to the delay after each retry (at least 1).
    pub multiplier: f64,
    /// Cap on any computed delay.
    pub max_delay: Duration,
    /// Whether to draw each delay at random between zero and the computed delay ("full jitter").
    pub jitter: bool,
    /// The longest server-requested wait (`Retry-After`) that retry honours.
    pub max_retry_after: Duration,
}

impl RetryConfig {
    /// The defaults for `environment` (see the table on [`Environment`]).
    pub fn for_environment(environment: Environment) -> Self {
        let (base_delay, max_delay, jitter) = match environment {
            Environment::Production | Environment::Staging => {
                (Duration::from_millis(250), Duration::from_secs(20), true)
            }
            Environment::Development => (Duration::from_millis(250), Duration::from_secs(5), true),
            Environment::Test => (Duration::from_millis(10), Duration::from_millis(100), false),
        };
        Self {
            max_retries: 3,
            base_delay,
            multiplier: 2.0,
            max_delay,
            jitter,
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// Appends every problem with these settings to `errors`; `max_retries_var` names the
    /// variable that sets `max_retries`.
    pub(crate) fn check(&self, max_retries_var: &'static str, errors: &mut Vec<ConfigError>) {
        if self.max_retries > MAX_RETRIES_LIMIT {
            errors.push(ConfigError::TooLarge {
                var: max_retries_var,
                value: self.max_retries.to_string(),
                maximum: MAX_RETRIES_LIMIT.to_string(),
            });
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            errors.push(ConfigError::InvalidField {
                field: "retry.multiplier",
                reason: "must be a finite number of at least 1",
            });
        }
        if self.base_delay > self.max_delay {
            errors.push(ConfigError::InvalidField {
                field: "retry.base_delay",
                reason: "must not be longer than retry.max_delay",
            });
        }
    }
}

impl Default for RetryConfig {
    /// The production defaults.
    fn default() -> Self {
        Self::for_environment(Environment::Production)
    }
}

/// Circuit-breaker settings.
///
/// The breaker opens when, within `window`, at least `minimum_calls` calls finished and at
/// least `failure_rate_threshold` of them failed, or when `consecutive_failures` calls in a row
/// failed. It then stays open for `open_duration`, which doubles (by `open_duration_multiplier`)
/// each time a half-open trial fails, up to `max_open_duration`. Half-open lets
/// `half_open_probes` trial calls through.
///
/// | field | default (every environment unless noted) |
/// | --- | --- |
/// | `enabled` | true (`HUBSPOT_CIRCUIT_BREAKER_ENABLED`, `MANYCHAT_CIRCUIT_BREAKER_ENABLED`) |
/// | `failure_rate_threshold` | 0.5 (50 %) |
/// | `window` | 30 s |
/// | `minimum_calls` | 20 |
/// | `consecutive_failures` | 10 |
/// | `open_duration` | 5 s (development 1 s, test 100 ms) |
/// | `open_duration_multiplier` | 2 |
/// | `max_open_duration` | 60 s (development 10 s, test 1 s) |
/// | `half_open_probes` | 3 |
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Whether the client has a circuit breaker at all.
    pub enabled: bool,
    /// Failure rate (0 < rate ≤ 1) at or above which the breaker opens.
    pub failure_rate_threshold: f64,
    /// The sliding window over which the failure rate is measured.
    pub window: Duration,
    /// Calls needed in the window before the failure rate counts.
    pub minimum_calls: u32,
    /// Failures in a row that open the breaker whatever the rate (0 = rule off).
    pub consecutive_failures: u32,
    /// How long the breaker stays open the first time.
    pub open_duration: Duration,
    /// Factor applied to the open duration after each failed half-open trial (at least 1).
    pub open_duration_multiplier: f64,
    /// Cap on the open duration.
    pub max_open_duration: Duration,
    /// Trial calls let through while half-open (at least 1).
    pub half_open_probes: u32,
}

impl BreakerConfig {
    /// The defaults for `environment` (see the table on [`Environment`]).
    pub fn for_environment(environment: Environment) -> Self {
        let (open_duration, max_open_duration) = match environment {
            Environment::Production | Environment::Staging => {
                (Duration::from_secs(5), Duration::from_secs(60))
            }
            Environment::Development => (Duration::from_secs(1), Duration::from_secs(10)),
            Environment::Test => (Duration::from_millis(100), Duration::from_secs(1)),
        };
        Self {
            enabled: true,
            failure_rate_threshold: 0.5,
            window: Duration::from_secs(30),
            minimum_calls: 20,
            consecutive_failures: 10,
            open_duration,
            open_duration_multiplier: 2.0,
            max_open_duration,
            half_open_probes: 3,
        }
    }

    /// Appends every problem with these settings to `errors`.
    pub(crate) fn check(&self, errors: &mut Vec<ConfigError>) {
        let mut bad = |field, reason| errors.push(ConfigError::InvalidField { field, reason });
        if !(self.failure_rate_threshold > 0.0 && self.failure_rate_threshold <= 1.0) {
            bad(
                "breaker.failure_rate_threshold",
                "must be above 0 and at most 1",
            );
        }
        if self.window.is_zero() {
            bad("breaker.window", "must be greater than zero");
        }
        if self.minimum_calls == 0 {
            bad("breaker.minimum_calls", "must be at least 1");
        }
        if self.open_duration.is_zero() {
            bad("breaker.open_duration", "must be greater than zero");
        }
        if !(self.open_duration_multiplier.is_finite() && self.open_duration_multiplier >= 1.0) {
            bad(
                "breaker.open_duration_multiplier",
                "must be a finite number of at least 1",
            );
        }
        if self.open_duration > self.max_open_duration {
            bad(
                "breaker.open_duration",
                "must not be longer than breaker.max_open_duration",
            );
        }
        if self.half_open_probes == 0 {
            bad("breaker.half_open_probes", "must be at least 1");
        }
    }
}

impl Default for BreakerConfig {
    /// The production defaults.
    fn default() -> Self {
        Self::for_environment(Environment::Production)
    }
}

/// Response-cache settings (idempotent reads only).
///
/// | field | default |
/// | --- | --- |
/// | `enabled` | true for HubSpot (`HUBSPOT_CACHE_ENABLED`); false for ManyChat (no variable) |
/// | `ttl` | 5 min (development 30 s) |
/// | `capacity` | 10 000 entries |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Whether the client caches responses.
    pub enabled: bool,
    /// How long an entry stays fresh.
    pub ttl: Duration,
    /// The most entries kept (at least 1 when enabled).
    pub capacity: usize,
}

impl CacheConfig {
    /// The defaults for `environment` (see the table on [`Environment`]).
    pub fn for_environment(environment: Environment) -> Self {
        let ttl = match environment {
            Environment::Development => Duration::from_secs(30),
            Environment::Production | Environment::Staging | Environment::Test => {
                Duration::from_secs(5 * 60)
            }
        };
        Self {
            enabled: true,
            ttl,
            capacity: 10_000,
        }
    }

    /// Appends every problem with these settings to `errors`.
    pub(crate) fn check(&self, errors: &mut Vec<ConfigError>) {
        if !self.enabled {
            return;
        }
        if self.ttl.is_zero() {
            errors.push(ConfigError::InvalidField {
                field: "cache.ttl",
                reason: "must be greater than zero when the cache is enabled",
            });
        }
        if self.capacity == 0 {
            errors.push(ConfigError::InvalidField {
                field: "cache.capacity",
                reason: "must be at least 1 when the cache is enabled",
            });
        }
    }
}

impl Default for CacheConfig {
    /// The production defaults.
    fn default() -> Self {
        Self::for_environment(Environment::Production)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(check: impl FnOnce(&mut Vec<ConfigError>)) -> Vec<String> {
        let mut errors = Vec::new();
        check(&mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn retry_defaults_per_environment() {
        let prod = RetryConfig::default();
        assert_eq!(
            prod,
            RetryConfig {
                max_retries: 3,
                base_delay: Duration::from_millis(250),
                multiplier: 2.0,
                max_delay: Duration::from_secs(20),
                jitter: true,
                max_retry_after: Duration::from_secs(60),
            }
        );
        assert_eq!(RetryConfig::for_environment(Environment::Staging), prod);
        let dev = RetryConfig::for_environment(Environment::Development);
        assert_eq!(dev.max_delay, Duration::from_secs(5));
        assert!(dev.jitter);
        let test = RetryConfig::for_environment(Environment::Test);
        assert!(!test.jitter, "test has no jitter");
        assert_eq!(test.base_delay, Duration::from_millis(10));
        assert_eq!(test.max_delay, Duration::from_millis(100));
        assert_eq!(test.max_retries, 3);
    }

    #[test]
    fn breaker_defaults_per_environment() {
        let prod = BreakerConfig::default();
        assert!(prod.enabled);
        assert_eq!(prod.failure_rate_threshold, 0.5);
        assert_eq!(prod.window, Duration::from_secs(30));
        assert_eq!(prod.minimum_calls, 20);
        assert_eq!(prod.consecutive_failures, 10);
        assert_eq!(prod.open_duration, Duration::from_secs(5));
        assert_eq!(prod.open_duration_multiplier, 2.0);
        assert_eq!(prod.max_open_duration, Duration::from_secs(60));
        assert_eq!(prod.half_open_probes, 3);
        assert_eq!(BreakerConfig::for_environment(Environment::Staging), prod);
        let dev = BreakerConfig::for_environment(Environment::Development);
        assert_eq!(dev.open_duration, Duration::from_secs(1));
        assert_eq!(dev.max_open_duration, Duration::from_secs(10));
        let test = BreakerConfig::for_environment(Environment::Test);
        assert_eq!(test.open_duration, Duration::from_millis(100));
        assert_eq!(test.max_open_duration, Duration::from_secs(1));
        assert_eq!(test.minimum_calls, prod.minimum_calls);
    }

    #[test]
    fn cache_defaults_per_environment() {
        let prod = CacheConfig::default();
        assert_eq!(
            prod,
            CacheConfig {
                enabled: true,
                ttl: Duration::from_secs(300),
                capacity: 10_000,
            }
        );
        assert_eq!(CacheConfig::for_environment(Environment::Staging), prod);
        assert_eq!(CacheConfig::for_environment(Environment::Test), prod);
        assert_eq!(
            CacheConfig::for_environment(Environment::Development).ttl,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn defaults_of_every_environment_pass_their_own_checks() {
        for env in Environment::ALL {
            let mut errors = Vec::new();
            RetryConfig::for_environment(env).check("X_MAX_RETRIES", &mut errors);
            BreakerConfig::for_environment(env).check(&mut errors);
            CacheConfig::for_environment(env).check(&mut errors);
            assert!(errors.is_empty(), "{env}: {errors:?}");
        }
    }

    #[test]
    fn retry_problems_are_all_reported() {
        let retry = RetryConfig {
            max_retries: 11,
            multiplier: 0.5,
            base_delay: Duration::from_secs(30),
            ..RetryConfig::default()
        };
        assert_eq!(
            messages(|e| retry.check("HUBSPOT_MAX_RETRIES", e)),
            [
                "HUBSPOT_MAX_RETRIES=11 is more than the maximum of 10",
                "retry.multiplier must be a finite number of at least 1",
                "retry.base_delay must not be longer than retry.max_delay",
            ]
        );
        let nan = RetryConfig {
            multiplier: f64::NAN,
            ..RetryConfig::default()
        };
        assert_eq!(
            messages(|e| nan.check("HUBSPOT_MAX_RETRIES", e)),
            ["retry.multiplier must be a finite number of at least 1"]
        );
        let ten = RetryConfig {
            max_retries: MAX_RETRIES_LIMIT,
            ..RetryConfig::default()
        };
        assert!(messages(|e| ten.check("HUBSPOT_MAX_RETRIES", e)).is_empty());
    }

    #[test]
    fn breaker_problems_are_all_reported() {
        let breaker = BreakerConfig {
            failure_rate_threshold: 1.5,
            window: Duration::ZERO,
            minimum_calls: 0,
            open_duration: Duration::from_secs(120),
            open_duration_multiplier: f64::INFINITY,
            half_open_probes: 0,
            ..BreakerConfig::default()
        };
        assert_eq!(
            messages(|e| breaker.check(e)),
            [
                "breaker.failure_rate_threshold must be above 0 and at most 1",
                "breaker.window must be greater than zero",
                "breaker.minimum_calls must be at least 1",
                "breaker.open_duration_multiplier must be a finite number of at least 1",
                "breaker.open_duration must not be longer than breaker.max_open_duration",
                "breaker.half_open_probes must be at least 1",
            ]
        );
        let zero = BreakerConfig {
            failure_rate_threshold: 0.0,
            open_duration: Duration::ZERO,
            ..BreakerConfig::default()
        };
        assert_eq!(
            messages(|e| zero.check(e)),
            [
                "breaker.failure_rate_threshold must be above 0 and at most 1",
                "breaker.open_duration must be greater than zero",
            ]
        );
    }

    #[test]
    fn cache_problems_only_matter_when_enabled() {
        let cache = CacheConfig {
            enabled: true,
            ttl: Duration::ZERO,
            capacity: 0,
        };
        assert_eq!(
            messages(|e| cache.check(e)),
            [
                "cache.ttl must be greater than zero when the cache is enabled",
                "cache.capacity must be at least 1 when the cache is enabled",
            ]
        );
        let off = CacheConfig {
            enabled: false,
            ..cache
        };
        assert!(messages(|e| off.check(e)).is_empty());
    }
}
