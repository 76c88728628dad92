//! Quotas: how many permits per period, and how many may be spent at once.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A rate: one permit every `emission interval`, with up to `burst` permits available at once.
///
/// Built from "`count` permits per `period`"; the emission interval is `period / count`,
/// **rounded up** to the nanosecond so the limiter is never faster than the quota says. The
/// burst defaults to `count` (governor's default): a full period's worth may be spent at once,
/// after which permits arrive one per interval. Over any window of length `W` the limiter grants
/// at most `burst + W / interval` permits (see [`crate::gcra`]). Against a server that enforces a
/// *rolling* window of `count` per `period`, choose a smaller burst with [`Quota::with_burst`]
/// (the server's `X-HubSpot-RateLimit-Remaining` header corrects the overshoot anyway).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    emission_ns: u64,
    burst: u32,
}

/// Why a quota could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidQuota {
    /// The permit count was zero.
    ZeroCount,
    /// The period was zero.
    ZeroPeriod,
    /// The period is so long that one permit's interval does not fit in 584 years of nanoseconds.
    PeriodTooLong,
    /// A rolling-window quota was asked for a burst larger than the window's count.
    BurstAboveCount,
}

impl fmt::Display for InvalidQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidQuota::ZeroCount => {
                f.write_str("invalid quota: the permit count must be at least 1")
            }
            InvalidQuota::ZeroPeriod => {
                f.write_str("invalid quota: the period must be longer than zero")
            }
            InvalidQuota::PeriodTooLong => f.write_str(
                "invalid quota: the interval between permits overflows 64-bit nanoseconds",
            ),
            InvalidQuota::BurstAboveCount => {
                f.write_str("invalid quota: the burst cannot exceed the window's count")
            }
        }
    }
}

impl std::error::Error for InvalidQuota {}

impl Quota {
    /// `count` permits per `period`, burst `count`.
    ///
    /// # Errors
    ///
    /// [`InvalidQuota`] when `count` is zero, `period` is zero, or `period / count` does not fit
    /// in `u64` nanoseconds. A rate faster than one permit per nanosecond is clamped to one per
    /// nanosecond.
    pub fn per_period(count: u32, period: Duration) -> Result<Self, InvalidQuota> {
        if count == 0 {
            return Err(InvalidQuota::ZeroCount);
        }
        if period.is_zero() {
            return Err(InvalidQuota::ZeroPeriod);
        }
        let emission = period.as_nanos().div_ceil(u128::from(count));
        let emission_ns = u64::try_from(emission).map_err(|_| InvalidQuota::PeriodTooLong)?;
        Ok(Self {
            emission_ns: emission_ns.max(1),
            burst: count,
        })
    }

    /// A quota that never sends more than `count` requests in any window of length `window`
    /// (a server's *rolling* window, half-open), while still allowing `burst` at once: the
    /// steady interval is `window / (count - burst + 1)`, rounded up.
    ///
    /// # Errors
    ///
    /// [`InvalidQuota`] when `count` is zero, `burst` exceeds `count`, `window` is zero, or the
    /// interval overflows.
    pub fn within_rolling_window(
        count: u32,
        window: Duration,
        burst: NonZeroU32,
    ) -> Result<Self, InvalidQuota> {
        if count == 0 {
            return Err(InvalidQuota::ZeroCount);
        }
        if burst.get() > count {
            return Err(InvalidQuota::BurstAboveCount);
        }
        Ok(Self::per_period(count - burst.get() + 1, window)?.with_burst(burst))
    }

    /// `count` permits per second, burst `count`.
    pub const fn per_second(count: NonZeroU32) -> Self {
        Self::from_count_per(count, NANOS_PER_SEC)
    }

    /// `count` permits per minute, burst `count`.
    pub const fn per_minute(count: NonZeroU32) -> Self {
        Self::from_count_per(count, 60 * NANOS_PER_SEC)
    }

    /// `count` permits per hour, burst `count`.
    pub const fn per_hour(count: NonZeroU32) -> Self {
        Self::from_count_per(count, 3600 * NANOS_PER_SEC)
    }

    const fn from_count_per(count: NonZeroU32, period_ns: u64) -> Self {
        let emission_ns = period_ns.div_ceil(count.get() as u64);
        Self {
            emission_ns: if emission_ns == 0 { 1 } else { emission_ns },
            burst: count.get(),
        }
    }

    /// A quota given directly by its emission interval in nanoseconds (at least 1) and burst.
    ///
    /// Used by stores that read learned limits back from shared state.
    pub const fn from_raw(emission_ns: u64, burst: NonZeroU32) -> Self {
        Self {
            emission_ns: if emission_ns == 0 { 1 } else { emission_ns },
            burst: burst.get(),
        }
    }

    /// The same rate with `burst` permits available at once (1 = strictly spaced).
    pub const fn with_burst(self, burst: NonZeroU32) -> Self {
        Self {
            emission_ns: self.emission_ns,
            burst: burst.get(),
        }
    }

    /// The interval between two permits at the steady rate.
    pub const fn emission_interval(&self) -> Duration {
        Duration::from_nanos(self.emission_ns)
    }

    /// The interval between two permits, in nanoseconds (always at least 1).
    pub const fn emission_ns(&self) -> u64 {
        self.emission_ns
    }

    /// How many permits may be spent at once (always at least 1).
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The steady rate in permits per second (for gauges and logs; not used in decisions).
    pub fn permits_per_second(&self) -> f64 {
        NANOS_PER_SEC as f64 / self.emission_ns as f64
    }

    /// The stricter of two quotas: the longer interval, the smaller burst, and a tolerance
    /// (`interval × (burst − 1)`, how far ahead of the steady rate a burst may run) no larger
    /// than either's. Learning uses it so a learned limit can only lower the configured one:
    /// a longer interval with the same burst would otherwise widen the tolerance and let a
    /// burst arrive sooner than the configured quota allows.
    pub fn strictest(self, other: Quota) -> Quota {
        let emission_ns = self.emission_ns.max(other.emission_ns);
        let tolerance = self.tolerance_ns().min(other.tolerance_ns());
        let burst_for_tolerance = tolerance / u128::from(emission_ns) + 1;
        let burst = u128::from(self.burst.min(other.burst)).min(burst_for_tolerance);
        Quota {
            emission_ns,
            burst: u32::try_from(burst).unwrap_or(u32::MAX).max(1),
        }
    }

    fn tolerance_ns(&self) -> u128 {
        u128::from(self.emission_ns) * u128::from(self.burst.saturating_sub(1))
    }
}

impl fmt::Debug for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Quota")
            .field("emission_interval", &self.emission_interval())
            .field("burst", &self.burst)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: NonZeroU32 = NonZeroU32::new(5).unwrap();

    #[test]
    fn constructors() {
        let q = Quota::per_second(FIVE);
        assert_eq!(q.emission_interval(), Duration::from_millis(200));
        assert_eq!(q.burst(), 5);
        let hubspot = Quota::per_period(100, Duration::from_secs(10)).unwrap();
        assert_eq!(hubspot.emission_interval(), Duration::from_millis(100));
        assert_eq!(hubspot.burst(), 100);
        assert_eq!(
            Quota::per_minute(FIVE).emission_interval(),
            Duration::from_secs(12)
        );
        assert_eq!(
            Quota::per_hour(FIVE).emission_interval(),
            Duration::from_secs(720)
        );
        assert!((q.permits_per_second() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn rounds_up_so_never_faster_than_asked() {
        let q = Quota::per_period(3, Duration::from_nanos(10)).unwrap();
        assert_eq!(q.emission_ns(), 4);
        let fast = Quota::per_period(10, Duration::from_nanos(1)).unwrap();
        assert_eq!(fast.emission_ns(), 1);
        let max = Quota::per_second(NonZeroU32::MAX);
        assert_eq!(max.emission_ns(), 1);
    }

    #[test]
    fn invalid_quotas_are_typed_errors() {
        assert_eq!(
            Quota::per_period(0, Duration::from_secs(1)),
            Err(InvalidQuota::ZeroCount)
        );
        assert_eq!(
            Quota::per_period(1, Duration::ZERO),
            Err(InvalidQuota::ZeroPeriod)
        );
        assert_eq!(
            Quota::per_period(1, Duration::MAX),
            Err(InvalidQuota::PeriodTooLong)
        );
        assert!(
            InvalidQuota::ZeroCount
                .to_string()
                .starts_with("invalid quota")
        );
    }

    #[test]
    fn rolling_window_quota_never_exceeds_the_window() {
        let q = Quota::within_rolling_window(
            100,
            Duration::from_secs(10),
            NonZeroU32::new(10).unwrap(),
        )
        .unwrap();
        assert_eq!(q.burst(), 10);
        // 10 at once, then 91 per 10 s: any half-open 10 s window holds at most 100
        assert_eq!(q.emission_ns(), 10_000_000_000u64.div_ceil(91));
        let worst = u64::from(q.burst() - 1) + 10_000_000_000u64.div_ceil(q.emission_ns());
        assert!(worst <= 100, "{worst}");
        assert_eq!(
            Quota::within_rolling_window(5, Duration::from_secs(1), NonZeroU32::new(6).unwrap()),
            Err(InvalidQuota::BurstAboveCount)
        );
    }

    #[test]
    fn strictest_takes_the_lower_of_each() {
        let a = Quota::per_second(FIVE);
        let b = Quota::per_period(100, Duration::from_secs(10)).unwrap();
        let s = a.strictest(b);
        assert_eq!(s.emission_interval(), Duration::from_millis(200));
        assert_eq!(s.burst(), 5);
        // a slightly longer interval with the same burst would widen the tolerance: the burst
        // shrinks so the tolerance stays within the configured one
        let configured =
            Quota::per_second(NonZeroU32::new(10).unwrap()).with_burst(NonZeroU32::new(2).unwrap());
        let learned = Quota::per_period(2, Duration::from_millis(201)).unwrap();
        let s = configured.strictest(learned);
        assert_eq!(s.emission_ns(), 100_500_000);
        assert_eq!(s.burst(), 1);
        let wide = Quota::per_period(10, Duration::from_secs(2)).unwrap(); // 200 ms, burst 10
        let s = Quota::per_second(NonZeroU32::new(10).unwrap()).strictest(wide);
        assert_eq!(s.emission_ns(), 200_000_000);
        assert_eq!(s.burst(), 5); // tolerance 800 ms <= the configured 900 ms
    }
}
