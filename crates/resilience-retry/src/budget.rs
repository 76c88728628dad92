//! A retry budget: retries may be at most a percentage of recent requests, plus a small floor.
//!
//! # Why a budget and not only max attempts?
//!
//! With 3 attempts per call, an outage can triple the traffic a struggling server receives. A
//! budget bounds the *ratio*: over a sliding window (10 s by default) retries may be at most
//! 20 % of the calls made, plus a floor (10 retries per second by default) so a client with
//! little traffic can still retry at all. When the budget is spent the policy stops retrying
//! and counts `resilience_retry_budget_exhausted_total`.
//!
//! This is tower's `TpsBudget` idea without its rounding bug (tower-rs/tower#857: tower turns
//! the percentage into an integer number of deposits per withdrawal, so 60 % behaves like
//! 100 %). Here every call deposits `percent × 1000` units and every retry withdraws 1000, so any
//! percentage is exact to 0.1 %.

use crate::error::ConfigError;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Units one retry costs; a call deposits `percent × UNIT`.
const UNIT: i64 = 1000;
/// The window is split into this many slots that expire one at a time.
const SLOTS: usize = 10;
/// Each slot is striped over this many cache lines so concurrent deposits do not contend.
const SHARDS: usize = 8;

/// One counter on its own cache line: packs (epoch: u32 high, units: i32 low).
#[derive(Debug, Default)]
#[repr(align(64))]
struct Cell(AtomicU64);

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The stripe this thread deposits into, assigned round-robin.
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// A retry budget shared by every clone of a policy (and, if you pass the same `Arc`, by several
/// policies): retries ≤ `percent` of recent calls + `min_per_sec` over a sliding window.
///
/// Lock-free for deposits (one per call, striped over cache lines by thread); withdrawals (one
/// per retry) take a short lock so two retries cannot both spend the last unit.
#[derive(Debug)]
pub struct RetryBudget {
    start: Instant,
    slot_nanos: u64,
    deposit_units: i64,
    reserve_units: i64,
    /// `SLOTS` time slots × `SHARDS` stripes.
    cells: Box<[Cell]>,
    withdraw_lock: Mutex<()>,
}

impl Default for RetryBudget {
    /// 10 s window, 10 retries per second floor, 20 % of calls.
    fn default() -> Self {
        Self::build(Duration::from_secs(10), 10, 0.2)
    }
}

impl RetryBudget {
    /// A budget over `window` (1 s to 60 s) that allows `retry_percent` (0.0 to 10.0, i.e. up to
    /// 1000 %) retries per call, plus `min_per_sec` retries per second whatever the traffic.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Budget`] when the window or the percentage is out of range.
    pub fn new(
        window: Duration,
        min_per_sec: u32,
        retry_percent: f64,
    ) -> Result<Self, ConfigError> {
        if window < Duration::from_secs(1) || window > Duration::from_secs(60) {
            return Err(ConfigError::Budget(format!(
                "window must be between 1 s and 60 s, got {window:?}"
            )));
        }
        if !retry_percent.is_finite() || !(0.0..=10.0).contains(&retry_percent) {
            return Err(ConfigError::Budget(format!(
                "retry_percent must be between 0.0 and 10.0, got {retry_percent}"
            )));
        }
        Ok(Self::build(window, min_per_sec, retry_percent))
    }

    fn build(window: Duration, min_per_sec: u32, retry_percent: f64) -> Self {
        let slot_nanos = (window.as_nanos() / SLOTS as u128).max(1) as u64;
        Self {
            start: Instant::now(),
            slot_nanos,
            deposit_units: (retry_percent * UNIT as f64).round() as i64,
            reserve_units: i64::from(min_per_sec)
                .saturating_mul(window.as_secs() as i64)
                .saturating_mul(UNIT),
            cells: (0..SLOTS * SHARDS).map(|_| Cell::default()).collect(),
            withdraw_lock: Mutex::new(()),
        }
    }

    /// Records one call (a first attempt); it earns the budget `percent` of a retry.
    pub fn deposit(&self) {
        if self.deposit_units != 0 {
            let shard = SHARD.try_with(|s| *s).unwrap_or(0);
            self.add(self.epoch(), shard, self.deposit_units);
        }
    }

    /// Spends one retry, if the budget allows it.
    pub fn withdraw(&self) -> bool {
        // A poisoned lock only means another thread panicked mid-withdrawal; the counters are
        // atomics and stay consistent, so carry on.
        let _guard = self
            .withdraw_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let epoch = self.epoch();
        if self.balance_at(epoch) < UNIT {
            return false;
        }
        self.add(epoch, 0, -UNIT);
        true
    }

    /// How many retries the budget would allow right now.
    pub fn available(&self) -> u64 {
        (self.balance_at(self.epoch()).max(0) / UNIT) as u64
    }

    fn epoch(&self) -> u32 {
        let since = Instant::now()
            .saturating_duration_since(self.start)
            .as_nanos();
        // Saturate after ~136 years of 1 s slots rather than wrap.
        (since / u128::from(self.slot_nanos)).min(u128::from(u32::MAX)) as u32
    }

    fn balance_at(&self, epoch: u32) -> i64 {
        let oldest = epoch.saturating_sub(SLOTS as u32 - 1);
        let recent: i64 = self
            .cells
            .iter()
            .map(|cell| unpack(cell.0.load(Ordering::Acquire)))
            .filter(|(e, _)| (oldest..=epoch).contains(e))
            .map(|(_, units)| i64::from(units))
            .sum();
        recent.saturating_add(self.reserve_units)
    }

    fn add(&self, epoch: u32, shard: usize, delta: i64) {
        let slot = &self.cells[(epoch as usize % SLOTS) * SHARDS + shard % SHARDS].0;
        let mut current = slot.load(Ordering::Acquire);
        loop {
            let (e, units) = unpack(current);
            let base = if e < epoch { 0 } else { i64::from(units) };
            let units = base
                .saturating_add(delta)
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
            let next = pack(e.max(epoch), units);
            match slot.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

fn pack(epoch: u32, units: i32) -> u64 {
    (u64::from(epoch) << 32) | u64::from(units as u32)
}

fn unpack(v: u64) -> (u32, i32) {
    ((v >> 32) as u32, v as u32 as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_percentages_are_exact() {
        // tower#857: 60 % behaved like 100 %. Here 100 calls at 60 % fund exactly 60 retries.
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.6).unwrap();
        for _ in 0..100 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 60);
        let granted = (0..100).filter(|_| budget.withdraw()).count();
        assert_eq!(granted, 60);
        assert!(!budget.withdraw());
    }

    #[test]
    fn the_floor_allows_retries_without_traffic() {
        let budget = RetryBudget::new(Duration::from_secs(2), 3, 0.0).unwrap();
        assert_eq!(budget.available(), 6);
        assert_eq!((0..10).filter(|_| budget.withdraw()).count(), 6);
    }

    #[test]
    fn ranges_are_validated() {
        assert!(RetryBudget::new(Duration::from_millis(500), 1, 0.2).is_err());
        assert!(RetryBudget::new(Duration::from_secs(61), 1, 0.2).is_err());
        assert!(RetryBudget::new(Duration::from_secs(10), 1, -0.1).is_err());
        assert!(RetryBudget::new(Duration::from_secs(10), 1, f64::NAN).is_err());
        assert!(RetryBudget::new(Duration::from_secs(10), 1, 10.0).is_ok());
    }

    #[test]
    fn pack_roundtrip() {
        for (e, u) in [(0, 0), (7, -1000), (u32::MAX, i32::MIN), (3, i32::MAX)] {
            assert_eq!(unpack(pack(e, u)), (e, u));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_and_withdrawals_expire_with_the_window() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.5).unwrap();
        for _ in 0..10 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 5);
        assert!(budget.withdraw());
        assert_eq!(budget.available(), 4);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(budget.available(), 4, "still inside the window");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(budget.available(), 0, "deposits aged out");
    }
}
