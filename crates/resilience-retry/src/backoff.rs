//! Backoff arithmetic: capped exponential delays, jitter, and the random source behind it.
//!
//! Everything here is pure and saturating: no attempt number and no duration, however large,
//! can overflow or panic.

use crate::error::ConfigError;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a computed delay is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// Full jitter (the default): a uniform delay in `[0, min(cap, base·factorⁿ))`.
    #[default]
    Full,
    /// Decorrelated jitter: a uniform delay in `[base, 3·previous delay)`, capped; spreads a
    /// fleet's retries further apart than full jitter while never going below `base`.
    Decorrelated,
    /// No jitter: exactly `min(cap, base·factorⁿ)`. Meant for tests and for the `test`
    /// environment, never for a fleet of clients.
    None,
}

/// A capped exponential backoff: the `n`-th retry (counting from 1) waits about
/// `min(cap, base · factor^(n-1))`, randomised by a [`Jitter`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    base: Duration,
    factor: f64,
    cap: Duration,
    jitter: Jitter,
}

impl Default for Backoff {
    /// 250 ms base, ×2, 20 s cap, full jitter.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            factor: 2.0,
            cap: Duration::from_secs(20),
            jitter: Jitter::Full,
        }
    }
}

impl Backoff {
    /// An exponential backoff from `base`, multiplied by `factor` per retry, never above `cap`,
    /// with full jitter.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Backoff`] when `factor` is not a finite number ≥ 1 or `base` exceeds `cap`.
    pub fn exponential(base: Duration, factor: f64, cap: Duration) -> Result<Self, ConfigError> {
        if !factor.is_finite() || factor < 1.0 {
            return Err(ConfigError::Backoff(format!(
                "factor must be a finite number >= 1, got {factor}"
            )));
        }
        if base > cap {
            return Err(ConfigError::Backoff(format!(
                "base {base:?} is larger than the cap {cap:?}"
            )));
        }
        Ok(Self {
            base,
            factor,
            cap,
            jitter: Jitter::Full,
        })
    }

    /// The same backoff with another jitter.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The first retry's delay before jitter.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The growth factor per retry.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The longest delay this backoff ever chooses.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The jitter mode.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The delay before jitter for retry number `retry` (1 = the first retry):
    /// `min(cap, base · factor^(retry-1))`. Monotone in `retry`, saturating, never above the cap.
    pub fn delay_before_jitter(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1);
        if exponent == 0 || self.factor == 1.0 {
            return self.base.min(self.cap);
        }
        // powi takes an i32; anything past ~2000 doublings is infinite anyway.
        let growth = self.factor.powi(exponent.min(i32::MAX as u32) as i32);
        let secs = self.base.as_secs_f64() * growth;
        if !secs.is_finite() || secs >= self.cap.as_secs_f64() {
            return self.cap;
        }
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.cap)
            .min(self.cap)
            // Rounding in f64 must never make a later delay shorter than the first one.
            .max(self.base.min(self.cap))
    }

    /// The jittered delay for retry number `retry`, given the previous delay (used by
    /// decorrelated jitter) and a uniform sample `unit` in `[0, 1)`. Never above the cap.
    pub fn delay(&self, retry: u32, previous: Option<Duration>, unit: f64) -> Duration {
        let unit = clamp_unit(unit);
        match self.jitter {
            Jitter::None => self.delay_before_jitter(retry),
            Jitter::Full => scale(self.delay_before_jitter(retry), unit),
            Jitter::Decorrelated => {
                let low = self.base.min(self.cap);
                let previous = previous.unwrap_or(low).max(low);
                let high = previous.saturating_mul(3).min(self.cap);
                let span = high.saturating_sub(low);
                low.saturating_add(scale(span, unit)).min(self.cap)
            }
        }
    }
}

/// `unit` forced into `[0, 1)`: NaN and negatives become 0, 1 and above become just below 1.
fn clamp_unit(unit: f64) -> f64 {
    if unit.is_nan() || unit <= 0.0 {
        0.0
    } else if unit >= 1.0 {
        1.0 - f64::EPSILON
    } else {
        unit
    }
}

/// `duration · unit` for `unit` in `[0, 1]`, never above `duration` and never panicking.
pub(crate) fn scale(duration: Duration, unit: f64) -> Duration {
    let unit = if unit.is_nan() {
        0.0
    } else {
        unit.clamp(0.0, 1.0)
    };
    Duration::try_from_secs_f64(duration.as_secs_f64() * unit)
        .unwrap_or(duration)
        .min(duration)
}

/// A source of uniform samples in `[0, 1)` for jitter; inject one to make delays reproducible.
pub trait RandomSource: Send + Sync + fmt::Debug + 'static {
    /// The next uniform sample in `[0, 1)`.
    fn next_unit(&self) -> f64;
}

/// A lock-free SplitMix64 generator: fast, shared safely across tasks, seedable for tests.
///
/// Not cryptographic; it only spreads retry times.
#[derive(Debug)]
pub struct SplitMix64 {
    state: AtomicU64,
}

impl SplitMix64 {
    /// A generator that yields the same sequence for the same seed.
    pub fn seeded(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    /// A generator seeded from the process's random hashing keys (different in each process).
    pub fn from_entropy() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x5eed);
        Self::seeded(hasher.finish())
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Default for SplitMix64 {
    fn default() -> Self {
        Self::from_entropy()
    }
}

impl RandomSource for SplitMix64 {
    fn next_unit(&self) -> f64 {
        // The top 53 bits give every representable multiple of 2^-53 in [0, 1).
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A source that always returns the same sample; handy to pin jitter at its bounds in tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedRandom(pub f64);

impl RandomSource for FixedRandom {
    fn next_unit(&self) -> f64 {
        clamp_unit(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn defaults_match_the_docs() {
        let b = Backoff::default();
        assert_eq!((b.base(), b.factor(), b.cap()), (ms(250), 2.0, ms(20_000)));
        assert_eq!(b.jitter(), Jitter::Full);
        let delays: Vec<_> = (1..=9).map(|n| b.delay_before_jitter(n)).collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000].map(ms)
        );
    }

    #[test]
    fn full_jitter_bounds() {
        let b = Backoff::default();
        assert_eq!(b.delay(3, None, 0.0), Duration::ZERO);
        let top = b.delay(3, None, 1.0 - f64::EPSILON);
        assert!(top <= ms(1000) && top > ms(999), "{top:?}");
        assert_eq!(b.delay(3, None, 0.5), ms(500));
    }

    #[test]
    fn decorrelated_stays_between_base_and_three_times_previous() {
        let b = Backoff::default().with_jitter(Jitter::Decorrelated);
        assert_eq!(b.delay(1, None, 0.0), ms(250));
        let d = b.delay(2, Some(ms(400)), 0.5);
        assert_eq!(d, ms(250) + (ms(1200) - ms(250)) / 2);
        let late = b.delay(9, Some(ms(19_000)), 0.99);
        assert!(late >= ms(250) && late <= ms(20_000), "{late:?}");
        let top = b.delay(9, Some(ms(19_000)), 1.0);
        assert!(top > ms(19_999) && top <= ms(20_000), "{top:?}");
    }

    #[test]
    fn invalid_configs_are_errors() {
        assert!(Backoff::exponential(ms(1), 0.5, ms(2)).is_err());
        assert!(Backoff::exponential(ms(1), f64::NAN, ms(2)).is_err());
        assert!(Backoff::exponential(ms(3), 2.0, ms(2)).is_err());
        assert!(Backoff::exponential(ms(1), 1.0, ms(2)).is_ok());
    }

    #[test]
    fn seeded_sources_repeat_and_stay_in_range() {
        let (a, b) = (SplitMix64::seeded(7), SplitMix64::seeded(7));
        for _ in 0..1000 {
            let x = a.next_unit();
            assert_eq!(x, b.next_unit());
            assert!((0.0..1.0).contains(&x));
        }
        assert_eq!(FixedRandom(1.5).next_unit(), 1.0 - f64::EPSILON);
        assert_eq!(FixedRandom(f64::NAN).next_unit(), 0.0);
    }
}
