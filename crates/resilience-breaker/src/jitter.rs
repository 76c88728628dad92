//! The open duration: exponential growth per repeated trip, a cap, and seedable jitter.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// A small seedable generator (SplitMix64); jitter needs spread, not cryptographic strength.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from the per-process random keys of the standard library's hasher.
    pub(crate) fn from_entropy() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x5eed);
        Self(hasher.finish())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The open duration before jitter after `trips` trips in a row (`trips ≥ 1`):
/// `base × multiplier^(trips - 1)`, capped at `max`.
pub(crate) fn nominal(base: Duration, multiplier: f64, max: Duration, trips: u32) -> Duration {
    let exponent = trips.saturating_sub(1).min(1024) as i32;
    let secs = base.as_secs_f64() * multiplier.powi(exponent);
    if !secs.is_finite() || secs >= max.as_secs_f64() {
        max
    } else {
        Duration::from_secs_f64(secs).max(base)
    }
}

/// `nominal × (1 + jitter × (2u - 1))` for `u` in `[0, 1)`: within ±`jitter` of `nominal`.
pub(crate) fn jittered(nominal: Duration, jitter: f64, unit: f64) -> Duration {
    let factor = 1.0 + jitter * (2.0 * unit - 1.0);
    nominal.mul_f64(factor.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grows_doubles_and_caps() {
        let s = Duration::from_secs;
        let got: Vec<_> = (1..=6).map(|t| nominal(s(5), 2.0, s(60), t)).collect();
        assert_eq!(got, vec![s(5), s(10), s(20), s(40), s(60), s(60)]);
        assert_eq!(nominal(s(5), 2.0, s(60), u32::MAX), s(60));
        assert_eq!(nominal(s(5), 1.0, s(60), 100), s(5));
    }

    #[test]
    fn seeded_generator_is_reproducible_and_spread() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let xs: Vec<f64> = (0..1000).map(|_| a.next_unit()).collect();
        let ys: Vec<f64> = (0..1000).map(|_| b.next_unit()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let low = xs.iter().filter(|x| **x < 0.5).count();
        assert!((400..600).contains(&low), "{low} of 1000 below one half");
    }

    proptest! {
        #[test]
        fn open_duration_is_monotone_capped_and_jitter_bounded(
            base_ms in 1u64..100_000,
            extra_ms in 0u64..10_000_000,
            multiplier in 1.0f64..10.0,
            trips in 1u32..200,
            jitter in 0.0f64..0.99,
            unit in 0.0f64..1.0,
        ) {
            let base = Duration::from_millis(base_ms);
            let max = base + Duration::from_millis(extra_ms);
            let now = nominal(base, multiplier, max, trips);
            let next = nominal(base, multiplier, max, trips + 1);
            prop_assert!(now >= base && now <= max);
            prop_assert!(next >= now);
            let j = jittered(now, jitter, unit);
            prop_assert!(j.as_secs_f64() >= now.as_secs_f64() * (1.0 - jitter) - 1e-9);
            prop_assert!(j.as_secs_f64() <= now.as_secs_f64() * (1.0 + jitter) + 1e-9);
        }
    }
}
