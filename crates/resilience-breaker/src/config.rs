//! Breaker configuration: thresholds, window, half-open probes and open durations.

use crate::state::StateChange;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The shortest bucket a sliding window may use.
pub const MIN_BUCKET_WIDTH: Duration = Duration::from_millis(10);

/// The longest open duration the breaker accepts (one day, as Polly does).
pub const MAX_OPEN_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// The most half-open probes a breaker may admit at once.
pub const MAX_HALF_OPEN_PROBES: u32 = 1024;

/// A callback that receives every state change of a breaker.
pub type Listener = Arc<dyn Fn(&StateChange) + Send + Sync + 'static>;

/// The slow-call rule: calls that take at least `threshold` count as slow, and the breaker trips
/// when the share of slow calls in the window reaches `rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowCallRule {
    /// A call that takes at least this long is slow.
    pub threshold: Duration,
    /// The share of slow calls (0 < rate ≤ 1) that opens the breaker.
    pub rate: f64,
}

/// The configuration of one circuit breaker.
///
/// Build one with [`BreakerConfig::builder`], or take [`BreakerConfig::default`]:
///
/// | setting | default |
/// | --- | --- |
/// | failure-rate threshold | 50 % (opens when the rate is **≥** it) |
/// | sliding window | 30 s in 10 buckets of 3 s |
/// | minimum calls in the window before the rate counts | 20 |
/// | consecutive failures that open the breaker | 10 |
/// | slow-call rule | off |
/// | half-open probes | 3, all must succeed |
/// | probe timeout | 10 s |
/// | open duration | 5 s, ×2 per repeated trip, capped at 60 s, reset after a clean close |
/// | jitter on the open duration | ±20 %, seeded from the OS unless a seed is given |
#[derive(Clone)]
pub struct BreakerConfig {
    pub(crate) failure_rate: Option<f64>,
    pub(crate) minimum_calls: u32,
    pub(crate) window: Duration,
    pub(crate) buckets: u32,
    pub(crate) consecutive_failures: Option<u32>,
    pub(crate) slow_calls: Option<SlowCallRule>,
    pub(crate) half_open_probes: u32,
    pub(crate) probe_timeout: Duration,
    pub(crate) open_duration: Duration,
    pub(crate) open_multiplier: f64,
    pub(crate) max_open_duration: Duration,
    pub(crate) jitter: f64,
    pub(crate) jitter_seed: Option<u64>,
    pub(crate) listener: Option<Listener>,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_rate: Some(0.5),
            minimum_calls: 20,
            window: Duration::from_secs(30),
            buckets: 10,
            consecutive_failures: Some(10),
            slow_calls: None,
            half_open_probes: 3,
            probe_timeout: Duration::from_secs(10),
            open_duration: Duration::from_secs(5),
            open_multiplier: 2.0,
            max_open_duration: Duration::from_secs(60),
            jitter: 0.2,
            jitter_seed: None,
            listener: None,
        }
    }
}

impl fmt::Debug for BreakerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerConfig")
            .field("failure_rate", &self.failure_rate)
            .field("minimum_calls", &self.minimum_calls)
            .field("window", &self.window)
            .field("buckets", &self.buckets)
            .field("consecutive_failures", &self.consecutive_failures)
            .field("slow_calls", &self.slow_calls)
            .field("half_open_probes", &self.half_open_probes)
            .field("probe_timeout", &self.probe_timeout)
            .field("open_duration", &self.open_duration)
            .field("open_multiplier", &self.open_multiplier)
            .field("max_open_duration", &self.max_open_duration)
            .field("jitter", &self.jitter)
            .field("jitter_seed", &self.jitter_seed)
            .field(
                "listener",
                &self.listener.as_ref().map(|_| "Fn(&StateChange)"),
            )
            .finish()
    }
}

impl BreakerConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder {
            config: Self::default(),
        }
    }

    /// The failure-rate threshold, or `None` when the rate rule is off.
    pub fn failure_rate(&self) -> Option<f64> {
        self.failure_rate
    }

    /// The fewest calls the window must hold before a rate (failure or slow) can open the breaker.
    pub fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }

    /// The length of the sliding window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The number of buckets the window is split into.
    pub fn buckets(&self) -> u32 {
        self.buckets
    }

    /// The number of consecutive failures that opens the breaker, or `None` when that rule is off.
    pub fn consecutive_failures(&self) -> Option<u32> {
        self.consecutive_failures
    }

    /// The slow-call rule, when on.
    pub fn slow_calls(&self) -> Option<SlowCallRule> {
        self.slow_calls
    }

    /// How many probes half-open admits; all must succeed to close.
    pub fn half_open_probes(&self) -> u32 {
        self.half_open_probes
    }

    /// How long a probe may stay unanswered before the breaker opens again.
    pub fn probe_timeout(&self) -> Duration {
        self.probe_timeout
    }

    /// The open duration after the first trip.
    pub fn open_duration(&self) -> Duration {
        self.open_duration
    }

    /// The factor the open duration grows by on each repeated trip.
    pub fn open_multiplier(&self) -> f64 {
        self.open_multiplier
    }

    /// The cap on the (nominal, before jitter) open duration.
    pub fn max_open_duration(&self) -> Duration {
        self.max_open_duration
    }

    /// The jitter fraction: the open duration is drawn from nominal × (1 ± jitter).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let unit = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(ConfigError::Threshold { name, value: v })
            }
        };
        if let Some(rate) = self.failure_rate {
            unit("failure_rate", rate)?;
        }
        if let Some(rule) = self.slow_calls {
            unit("slow_call_rate", rule.rate)?;
            if rule.threshold.is_zero() {
                return Err(ConfigError::Zero {
                    name: "slow_call_threshold",
                });
            }
        }
        if self.minimum_calls == 0 {
            return Err(ConfigError::Zero {
                name: "minimum_calls",
            });
        }
        if self.consecutive_failures == Some(0) {
            return Err(ConfigError::Zero {
                name: "consecutive_failures",
            });
        }
        if self.failure_rate.is_none()
            && self.consecutive_failures.is_none()
            && self.slow_calls.is_none()
        {
            return Err(ConfigError::NoTripRule);
        }
        if self.buckets == 0 {
            return Err(ConfigError::Zero { name: "buckets" });
        }
        if self.window / self.buckets < MIN_BUCKET_WIDTH {
            return Err(ConfigError::BucketTooShort {
                window: self.window,
                buckets: self.buckets,
            });
        }
        if self.half_open_probes == 0 || self.half_open_probes > MAX_HALF_OPEN_PROBES {
            return Err(ConfigError::Probes {
                value: self.half_open_probes,
            });
        }
        if self.probe_timeout.is_zero() {
            return Err(ConfigError::Zero {
                name: "probe_timeout",
            });
        }
        if self.open_duration.is_zero() {
            return Err(ConfigError::Zero {
                name: "open_duration",
            });
        }
        if self.max_open_duration < self.open_duration || self.max_open_duration > MAX_OPEN_DURATION
        {
            return Err(ConfigError::MaxOpenDuration {
                base: self.open_duration,
                max: self.max_open_duration,
            });
        }
        if !(self.open_multiplier.is_finite() && self.open_multiplier >= 1.0) {
            return Err(ConfigError::Multiplier {
                value: self.open_multiplier,
            });
        }
        if !(self.jitter.is_finite() && (0.0..1.0).contains(&self.jitter)) {
            return Err(ConfigError::Jitter { value: self.jitter });
        }
        Ok(())
    }
}

/// Builds a [`BreakerConfig`]; every setter starts from the defaults and `build` validates.
#[derive(Debug, Clone)]
pub struct BreakerConfigBuilder {
    config: BreakerConfig,
}

impl BreakerConfigBuilder {
    /// Opens the breaker when the failure rate in the window is at least `rate` (0 < rate ≤ 1).
    pub fn failure_rate(mut self, rate: f64) -> Self {
        self.config.failure_rate = Some(rate);
        self
    }

    /// Turns the failure-rate rule off (the consecutive-failure or slow-call rule must stay on).
    pub fn no_failure_rate(mut self) -> Self {
        self.config.failure_rate = None;
        self
    }

    /// The fewest calls the window must hold before a rate can open the breaker.
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.config.minimum_calls = calls;
        self
    }

    /// The sliding window: its length and the number of buckets it is split into.
    pub fn window(mut self, length: Duration, buckets: u32) -> Self {
        self.config.window = length;
        self.config.buckets = buckets;
        self
    }

    /// Opens the breaker after `count` failures in a row (successes reset the count).
    pub fn consecutive_failures(mut self, count: u32) -> Self {
        self.config.consecutive_failures = Some(count);
        self
    }

    /// Turns the consecutive-failure rule off.
    pub fn no_consecutive_failures(mut self) -> Self {
        self.config.consecutive_failures = None;
        self
    }

    /// Turns the slow-call rule on: calls taking at least `threshold` are slow, and a slow share
    /// of at least `rate` in the window opens the breaker.
    pub fn slow_calls(mut self, threshold: Duration, rate: f64) -> Self {
        self.config.slow_calls = Some(SlowCallRule { threshold, rate });
        self
    }

    /// How many probes half-open admits (1 to [`MAX_HALF_OPEN_PROBES`]).
    pub fn half_open_probes(mut self, probes: u32) -> Self {
        self.config.half_open_probes = probes;
        self
    }

    /// How long a probe may stay unanswered before the breaker opens again.
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.config.probe_timeout = timeout;
        self
    }

    /// The open duration: `base` after the first trip, times `multiplier` per repeated trip,
    /// capped at `max`.
    pub fn open_duration(mut self, base: Duration, multiplier: f64, max: Duration) -> Self {
        self.config.open_duration = base;
        self.config.open_multiplier = multiplier;
        self.config.max_open_duration = max;
        self
    }

    /// The jitter fraction on the open duration (0 ≤ jitter < 1; 0 turns jitter off).
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.config.jitter = fraction;
        self
    }

    /// Seeds the jitter, so that tests and simulations are reproducible.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.config.jitter_seed = Some(seed);
        self
    }

    /// Calls `listener` on every state change (after the change, outside the breaker's lock).
    pub fn on_state_change(
        mut self,
        listener: impl Fn(&StateChange) + Send + Sync + 'static,
    ) -> Self {
        self.config.listener = Some(Arc::new(listener));
        self
    }

    /// Validates and returns the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first setting out of range.
    pub fn build(self) -> Result<BreakerConfig, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

/// A breaker setting out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A rate threshold outside (0, 1].
    #[error("{name} must be in (0, 1], got {value}")]
    Threshold {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A count or duration that must not be zero.
    #[error("{name} must not be zero")]
    Zero {
        /// The setting.
        name: &'static str,
    },
    /// Every trip rule is off, so the breaker could never open.
    #[error("at least one trip rule (failure rate, consecutive failures, slow calls) must be on")]
    NoTripRule,
    /// The window's buckets would be shorter than [`MIN_BUCKET_WIDTH`].
    #[error("a window of {window:?} in {buckets} buckets gives buckets shorter than 10ms")]
    BucketTooShort {
        /// The window length.
        window: Duration,
        /// The bucket count.
        buckets: u32,
    },
    /// A half-open probe count outside 1..=[`MAX_HALF_OPEN_PROBES`].
    #[error("half_open_probes must be in 1..=1024, got {value}")]
    Probes {
        /// The value given.
        value: u32,
    },
    /// The maximum open duration is below the base or above [`MAX_OPEN_DURATION`].
    #[error(
        "max_open_duration {max:?} must be at least open_duration {base:?} and at most one day"
    )]
    MaxOpenDuration {
        /// The base open duration.
        base: Duration,
        /// The maximum given.
        max: Duration,
    },
    /// A growth multiplier below 1 or not finite.
    #[error("open_multiplier must be a finite number ≥ 1, got {value}")]
    Multiplier {
        /// The value given.
        value: f64,
    },
    /// A jitter fraction outside [0, 1).
    #[error("jitter must be in [0, 1), got {value}")]
    Jitter {
        /// The value given.
        value: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let config = BreakerConfig::builder().build().unwrap();
        assert_eq!(config.failure_rate(), Some(0.5));
        assert_eq!(config.minimum_calls(), 20);
        assert_eq!(config.window(), Duration::from_secs(30));
        assert_eq!(config.buckets(), 10);
        assert_eq!(config.consecutive_failures(), Some(10));
        assert_eq!(config.half_open_probes(), 3);
        assert_eq!(config.open_duration(), Duration::from_secs(5));
        assert_eq!(config.max_open_duration(), Duration::from_secs(60));
        assert_eq!(config.jitter(), 0.2);
        assert!(config.slow_calls().is_none());
    }

    #[test]
    fn bad_settings_are_named() {
        let b = BreakerConfig::builder;
        assert_eq!(
            b().failure_rate(0.0).build().unwrap_err(),
            ConfigError::Threshold {
                name: "failure_rate",
                value: 0.0
            }
        );
        assert!(matches!(
            b().failure_rate(f64::NAN).build(),
            Err(ConfigError::Threshold { .. })
        ));
        assert!(matches!(
            b().slow_calls(Duration::from_secs(1), 1.5).build(),
            Err(ConfigError::Threshold {
                name: "slow_call_rate",
                ..
            })
        ));
        assert!(matches!(
            b().minimum_calls(0).build(),
            Err(ConfigError::Zero {
                name: "minimum_calls"
            })
        ));
        assert_eq!(
            b().no_failure_rate()
                .no_consecutive_failures()
                .build()
                .unwrap_err(),
            ConfigError::NoTripRule
        );
        assert!(matches!(
            b().window(Duration::from_millis(50), 10).build(),
            Err(ConfigError::BucketTooShort { .. })
        ));
        assert!(matches!(
            b().window(Duration::from_secs(1), 0).build(),
            Err(ConfigError::Zero { name: "buckets" })
        ));
        assert!(matches!(
            b().half_open_probes(0).build(),
            Err(ConfigError::Probes { value: 0 })
        ));
        assert!(matches!(
            b().open_duration(Duration::from_secs(10), 2.0, Duration::from_secs(5))
                .build(),
            Err(ConfigError::MaxOpenDuration { .. })
        ));
        assert!(matches!(
            b().open_duration(Duration::from_secs(1), 0.5, Duration::from_secs(5))
                .build(),
            Err(ConfigError::Multiplier { .. })
        ));
        assert!(matches!(
            b().jitter(1.0).build(),
            Err(ConfigError::Jitter { .. })
        ));
        assert!(
            b().no_failure_rate().build().is_ok(),
            "consecutive rule alone is enough"
        );
        let msg = b().failure_rate(2.0).build().unwrap_err().to_string();
        assert_eq!(msg, "failure_rate must be in (0, 1], got 2");
    }
}
