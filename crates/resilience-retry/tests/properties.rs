//! Property tests for the backoff and budget arithmetic.

use proptest::prelude::*;
use resilience_retry::{Backoff, Jitter, RetryBudget};
use std::time::Duration;

/// Any duration, up to `Duration::MAX`.
fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..=u64::MAX, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..100_000_000_000).prop_map(Duration::from_nanos),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

/// A valid backoff: base ≤ cap, factor in [1, 1000] or exactly 1.
fn any_backoff() -> impl Strategy<Value = Backoff> {
    (
        any_duration(),
        any_duration(),
        prop_oneof![1.0f64..1000.0, Just(1.0), Just(2.0)],
        0..3u8,
    )
        .prop_map(|(a, b, factor, jitter)| {
            let (base, cap) = if a <= b { (a, b) } else { (b, a) };
            let jitter = match jitter {
                0 => Jitter::Full,
                1 => Jitter::Decorrelated,
                _ => Jitter::None,
            };
            Backoff::exponential(base, factor, cap)
                .expect("valid by construction")
                .with_jitter(jitter)
        })
}

fn any_unit() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0f64..1.0,
        Just(0.0),
        Just(1.0 - f64::EPSILON),
        Just(1.0),
        Just(f64::NAN),
        Just(-3.0),
        Just(7.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn delays_never_overflow_and_never_exceed_the_cap(
        backoff in any_backoff(),
        retry in any::<u32>(),
        previous in proptest::option::of(any_duration()),
        unit in any_unit(),
    ) {
        let plain = backoff.delay_before_jitter(retry);
        prop_assert!(plain <= backoff.cap());
        let jittered = backoff.delay(retry, previous, unit);
        prop_assert!(jittered <= backoff.cap(), "{jittered:?} > cap {:?}", backoff.cap());
        if backoff.jitter() == Jitter::Full {
            prop_assert!(jittered <= plain);
        }
        if backoff.jitter() == Jitter::Decorrelated {
            prop_assert!(jittered >= backoff.base());
        }
    }

    #[test]
    fn delays_before_jitter_are_monotone_in_the_attempt(
        backoff in any_backoff(),
        retry in 0u32..5000,
    ) {
        let now = backoff.delay_before_jitter(retry);
        let next = backoff.delay_before_jitter(retry + 1);
        prop_assert!(now <= next, "retry {retry}: {now:?} then {next:?}");
        prop_assert!(now >= backoff.base().min(backoff.cap()));
    }

    #[test]
    fn huge_attempt_numbers_reach_the_cap(backoff in any_backoff()) {
        if backoff.factor() >= 1.5 {
            prop_assert_eq!(backoff.delay_before_jitter(u32::MAX), backoff.cap());
        }
    }

    #[test]
    fn the_budget_grants_exactly_its_percentage(
        permille in 0u32..=10_000,
        floor_per_sec in 0u32..5,
        calls in 0u32..400,
    ) {
        let budget = RetryBudget::new(
            Duration::from_secs(60),
            floor_per_sec,
            f64::from(permille) / 1000.0,
        )
        .unwrap();
        for _ in 0..calls {
            budget.deposit();
        }
        let expected = u64::from(calls) * u64::from(permille) / 1000 + u64::from(floor_per_sec) * 60;
        let mut granted = 0u64;
        while budget.withdraw() {
            granted += 1;
            prop_assert!(granted <= expected, "over-allocated");
        }
        prop_assert_eq!(granted, expected);
    }
}
