//! The Generic Cell Rate Algorithm, as pure integer arithmetic on nanoseconds.
//!
//! One number per key, the *theoretical arrival time* (`tat`): the instant at which the key's
//! bucket would be full again. With emission interval `T` and burst `b`, the tolerance is
//! `tau = T * (b - 1)`, and a request at `now` may go at
//!
//! ```text
//! allow = max(max(tat, now) - tau, paused_until)
//! ```
//!
//! A request that takes the permit (immediately, or after waiting `allow - now`) moves the key to
//! `tat' = max(tat, now) + T`, or, while a pause is in force, to
//! `tat' = max(max(tat, now), paused_until + tau) + T`: the pause is a floor under `allow`, and
//! the waiters behind it leave one interval apart after it ends (no burst right when the server
//! said the window resets).
//!
//! Guarantee (checked by the property tests): for any two granted permits `i < j` (in grant
//! order), their times satisfy `t_j - t_i + tau >= (j - i) * T`; equivalently, any window of
//! length `W` holds at most `b + W / T` permits. Every operation saturates instead of
//! overflowing, so hostile inputs (huge waits, huge bursts) cannot panic.
//!
//! The same arithmetic is meant to run inside a shared store (a Redis script keeps `tat` and
//! `paused_until` per key and computes exactly these lines with the server's clock).

use crate::quota::Quota;

/// The state of one key: its theoretical arrival time and the end of any pause, in nanoseconds
/// on the store's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcraState {
    /// Theoretical arrival time: when the bucket would be full again.
    pub tat: u64,
    /// No permit is granted before this instant (0 = not paused).
    pub paused_until: u64,
}

/// The result of asking for one permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The permit is reserved; the caller may go after `wait_ns`.
    Granted {
        /// How long the caller must wait before using the permit.
        wait_ns: u64,
        /// The key's `tat` right after this reservation (identifies it for a refund).
        tat_after: u64,
    },
    /// The permit would need a longer wait than allowed; nothing was reserved.
    Denied {
        /// The wait the permit would have needed.
        wait_ns: u64,
    },
}

fn tolerance(quota: Quota) -> u64 {
    quota
        .emission_ns()
        .saturating_mul(u64::from(quota.burst().saturating_sub(1)))
}

/// When a request arriving at `now` could go, and the key's `tat` if it takes that permit.
pub fn earliest(state: &GcraState, quota: Quota, now: u64) -> (u64, u64) {
    let tau = tolerance(quota);
    let base = state.tat.max(now);
    let allow = base.saturating_sub(tau);
    if state.paused_until > now && state.paused_until > allow {
        // Paused: the first waiter goes when the pause ends, the next ones one interval apart.
        let tat_after = base
            .max(state.paused_until.saturating_add(tau))
            .saturating_add(quota.emission_ns());
        (state.paused_until, tat_after)
    } else {
        (allow, base.saturating_add(quota.emission_ns()))
    }
}

/// Reserves one permit when its wait is at most `max_wait_ns`; otherwise leaves the state alone.
pub fn acquire(state: &mut GcraState, quota: Quota, now: u64, max_wait_ns: u64) -> Verdict {
    let (allow, tat_after) = earliest(state, quota, now);
    let wait_ns = allow.saturating_sub(now);
    if wait_ns > max_wait_ns {
        return Verdict::Denied { wait_ns };
    }
    state.tat = tat_after;
    Verdict::Granted { wait_ns, tat_after }
}

/// Gives back a reservation that was never used, when it is still the key's latest one
/// (`tat == tat_after`). Returns whether the permit was refunded.
///
/// Only the latest reservation can be undone exactly: a refund from the middle of a queue would
/// let a new request take a slot that a later waiter already holds. A slot that cannot be
/// refunded simply passes unused; GCRA state is a point in time, so nothing stays consumed
/// beyond that slot.
pub fn release(state: &mut GcraState, tat_after: u64, emission_ns: u64) -> bool {
    if state.tat == tat_after {
        state.tat = tat_after.saturating_sub(emission_ns);
        true
    } else {
        false
    }
}

/// Pauses the key: no permit before `until`.
pub fn pause(state: &mut GcraState, until: u64) {
    state.paused_until = state.paused_until.max(until);
}

/// Aligns the key with a server that says only `remaining` permits are left right now: after
/// this, at most `remaining` permits are available at once (never more than before).
/// `remaining == 0` is a pause and is handled by the caller.
pub fn limit_remaining(state: &mut GcraState, quota: Quota, now: u64, remaining: u64) {
    if remaining == 0 {
        return;
    }
    let used_after = quota.emission_ns().saturating_mul(remaining - 1);
    let target = now
        .saturating_add(tolerance(quota))
        .saturating_sub(used_after);
    state.tat = state.tat.max(target);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn q(per_sec: u32, burst: u32) -> Quota {
        Quota::per_second(NonZeroU32::new(per_sec).unwrap())
            .with_burst(NonZeroU32::new(burst).unwrap())
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn burst_then_steady_rate() {
        let quota = q(10, 3);
        let mut s = GcraState::default();
        let now = 1_000 * MS;
        for _ in 0..3 {
            assert!(matches!(
                acquire(&mut s, quota, now, 0),
                Verdict::Granted { wait_ns: 0, .. }
            ));
        }
        assert_eq!(
            acquire(&mut s, quota, now, 0),
            Verdict::Denied { wait_ns: 100 * MS }
        );
        match acquire(&mut s, quota, now, u64::MAX) {
            Verdict::Granted { wait_ns, .. } => assert_eq!(wait_ns, 100 * MS),
            other => panic!("{other:?}"),
        }
        match acquire(&mut s, quota, now, u64::MAX) {
            Verdict::Granted { wait_ns, .. } => assert_eq!(wait_ns, 200 * MS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pause_floors_and_spaces_waiters() {
        let quota = q(10, 5);
        let mut s = GcraState::default();
        pause(&mut s, 2_000 * MS);
        let waits: Vec<u64> = (0..3)
            .map(|_| match acquire(&mut s, quota, 1_000 * MS, u64::MAX) {
                Verdict::Granted { wait_ns, .. } => wait_ns,
                Verdict::Denied { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(waits, vec![1_000 * MS, 1_100 * MS, 1_200 * MS]);
    }

    #[test]
    fn only_the_latest_reservation_is_refunded() {
        let quota = q(10, 1);
        let mut s = GcraState::default();
        let Verdict::Granted { tat_after: a, .. } = acquire(&mut s, quota, MS, u64::MAX) else {
            unreachable!()
        };
        let Verdict::Granted { tat_after: b, .. } = acquire(&mut s, quota, MS, u64::MAX) else {
            unreachable!()
        };
        assert!(!release(&mut s, a, quota.emission_ns()));
        assert!(release(&mut s, b, quota.emission_ns()));
        assert_eq!(s.tat, a);
    }

    #[test]
    fn remaining_lowers_capacity_only() {
        let quota = q(10, 10);
        let mut s = GcraState::default();
        let now = 5_000 * MS;
        limit_remaining(&mut s, quota, now, 2);
        let mut granted = 0;
        while let Verdict::Granted { .. } = acquire(&mut s, quota, now, 0) {
            granted += 1;
        }
        assert_eq!(granted, 2);
        let before = s;
        limit_remaining(&mut s, quota, now, 50);
        assert_eq!(s, before);
    }
}
