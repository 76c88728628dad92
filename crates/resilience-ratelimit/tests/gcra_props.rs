//! Property tests of the GCRA arithmetic: no overflow, and never more permits than
//! `burst + window / interval` over any window, whatever happens to the key meanwhile.

use proptest::prelude::*;
use resilience_ratelimit::gcra::{self, GcraState, Verdict};
use resilience_ratelimit::signals::{Observation, ServerQuota};
use resilience_ratelimit::{Decision, InMemoryStore, Quota, RateKey, RateLimitStore, Reservation};
use std::num::NonZeroU32;
use std::time::Duration;

fn quota(emission_ns: u64, burst: u32) -> Quota {
    Quota::from_raw(emission_ns, NonZeroU32::new(burst.max(1)).unwrap())
}

/// Checks `t_j - t_i + tau >= (j - i) * T` for every pair of granted permit times (sorted),
/// i.e. no window of length W holds more than `burst + W / T` permits.
fn assert_bound(times: &mut [u64], q: Quota) -> Result<(), TestCaseError> {
    times.sort_unstable();
    let t = u128::from(q.emission_ns());
    let tau = t * u128::from(q.burst() - 1);
    for i in 0..times.len() {
        for j in i + 1..times.len() {
            let span = u128::from(times[j] - times[i]);
            prop_assert!(
                span + tau >= (j - i) as u128 * t,
                "{} permits within {} ns (interval {} ns, burst {})",
                j - i + 1,
                span,
                t,
                q.burst()
            );
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Op {
    Acquire { advance: u64, max_wait: u64 },
    ReleaseLatest,
    ReleaseOldest,
    Pause { advance: u64, for_: u64 },
    Remaining { remaining: u64 },
}

fn op(emission: u64) -> impl Strategy<Value = Op> {
    let span = emission.saturating_mul(4).max(1);
    prop_oneof![
        6 => (0..span, prop_oneof![Just(0u64), 0..span * 4, Just(u64::MAX)])
            .prop_map(|(advance, max_wait)| Op::Acquire { advance, max_wait }),
        1 => Just(Op::ReleaseLatest),
        1 => Just(Op::ReleaseOldest),
        1 => (0..span, 0..span * 3).prop_map(|(advance, for_)| Op::Pause { advance, for_ }),
        1 => (0u64..20).prop_map(|remaining| Op::Remaining { remaining }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Extreme inputs saturate instead of overflowing (overflow checks are on in tests).
    #[test]
    fn arithmetic_never_overflows(
        tat in any::<u64>(),
        paused_until in any::<u64>(),
        now in any::<u64>(),
        emission in 1u64..=u64::MAX,
        burst in 1u32..=u32::MAX,
        max_wait in any::<u64>(),
        remaining in any::<u64>(),
    ) {
        let q = quota(emission, burst);
        let mut state = GcraState { tat, paused_until };
        let verdict = gcra::acquire(&mut state, q, now, max_wait);
        if let Verdict::Granted { tat_after, .. } = verdict {
            gcra::release(&mut state, tat_after, emission);
        }
        gcra::limit_remaining(&mut state, q, now, remaining);
        gcra::pause(&mut state, now.saturating_add(max_wait));
        let _ = gcra::earliest(&state, q, now);
    }

    /// Over any window, granted (and not refunded) permits never exceed burst + W / T, through
    /// pauses, server "remaining" syncs and refunds.
    #[test]
    fn permits_never_exceed_the_rate_over_any_window(
        (emission, burst, ops) in (1u64..1_000_000, 1u32..8)
            .prop_flat_map(|(e, b)| (Just(e), Just(b), proptest::collection::vec(op(e), 1..120)))
    ) {
        let q = quota(emission, burst);
        let mut state = GcraState::default();
        let mut now = 0u64;
        // (permit time, tat_after) of live reservations, in grant order
        let mut granted: Vec<(u64, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Acquire { advance, max_wait } => {
                    now += advance;
                    match gcra::acquire(&mut state, q, now, max_wait) {
                        Verdict::Granted { wait_ns, tat_after } => {
                            prop_assert!(wait_ns <= max_wait);
                            granted.push((now + wait_ns, tat_after));
                        }
                        Verdict::Denied { wait_ns } => prop_assert!(wait_ns > max_wait),
                    }
                }
                Op::ReleaseLatest | Op::ReleaseOldest => {
                    // only a reservation whose permit time is still ahead can be cancelled
                    let pick = match op {
                        Op::ReleaseLatest => granted.iter().rposition(|(t, _)| *t > now),
                        _ => granted.iter().position(|(t, _)| *t > now),
                    };
                    if let Some(i) = pick {
                        if gcra::release(&mut state, granted[i].1, emission) {
                            granted.remove(i);
                        }
                    }
                }
                Op::Pause { advance, for_ } => {
                    now += advance;
                    gcra::pause(&mut state, now + for_);
                }
                Op::Remaining { remaining } => gcra::limit_remaining(&mut state, q, now, remaining),
            }
        }
        let mut times: Vec<u64> = granted.iter().map(|(t, _)| *t).collect();
        assert_bound(&mut times, q)?;
    }

    /// Through the in-memory store with learning, pauses, confirmations and refunds: whatever
    /// the server announces (higher or lower limits, remaining counts, pauses), the configured
    /// quota's bound still holds.
    #[test]
    fn learning_never_raises_the_rate_above_the_configured_quota(
        burst in 1u32..6,
        steps in proptest::collection::vec(store_step(), 1..80),
    ) {
        let configured = quota(100_000_000, burst); // 10/s
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let times = rt.block_on(async move {
            let store = InMemoryStore::new();
            let key = RateKey::scope("k");
            let t0 = tokio::time::Instant::now();
            let at = |wait: Duration| {
                let t = tokio::time::Instant::now() + wait;
                u64::try_from(t.duration_since(t0).as_nanos()).unwrap()
            };
            // (permit time, reservation) of live permits
            let mut live: Vec<(u64, Reservation)> = Vec::new();
            for step in steps {
                tokio::time::advance(Duration::from_millis(step.advance_ms)).await;
                match step.action {
                    StoreAction::Acquire { max_wait_ms } => {
                        let max_wait = Duration::from_millis(max_wait_ms);
                        if let Ok(Decision::Granted(g)) = store.acquire(&key, configured, max_wait).await {
                            live.push((at(g.wait), g.reservation));
                        }
                    }
                    StoreAction::Learn { max, window_ms, remaining, reset_ms } => {
                        let obs = Observation {
                            quota: Some(ServerQuota { max, window: Duration::from_millis(window_ms) }),
                            remaining,
                            reset: reset_ms.map(Duration::from_millis),
                            pause: None,
                        };
                        let _ = store.observe(&key, configured, obs).await;
                    }
                    StoreAction::Pause { ms } => {
                        let _ = store.pause(&key, configured, Duration::from_millis(ms)).await;
                    }
                    StoreAction::CancelLatest => {
                        let now = at(Duration::ZERO);
                        if let Some(i) = live.iter().rposition(|(t, _)| *t > now) {
                            let (_, r) = live.remove(i);
                            store.release(&key, r);
                            // a slot that could not be refunded passes unused: not a permit
                        }
                    }
                    StoreAction::ConfirmDue => {
                        // a waiter whose time has come re-checks; it may be moved behind a pause
                        let now = at(Duration::ZERO);
                        if let Some(i) = live.iter().position(|(t, _)| *t == now) {
                            let (_, r) = live.remove(i);
                            if let Ok(Decision::Granted(g)) =
                                store.confirm(&key, configured, r, Duration::from_secs(10)).await
                            {
                                live.push((at(g.wait), g.reservation));
                            }
                        }
                    }
                }
            }
            live.into_iter().map(|(t, _)| t).collect::<Vec<u64>>()
        });
        let mut times = times;
        assert_bound(&mut times, configured)?;
    }
}

#[derive(Debug, Clone)]
enum StoreAction {
    Acquire {
        max_wait_ms: u64,
    },
    Learn {
        max: u64,
        window_ms: u64,
        remaining: Option<u64>,
        reset_ms: Option<u64>,
    },
    Pause {
        ms: u64,
    },
    CancelLatest,
    ConfirmDue,
}

#[derive(Debug, Clone)]
struct StoreStep {
    advance_ms: u64,
    action: StoreAction,
}

fn store_step() -> impl Strategy<Value = StoreStep> {
    let action = prop_oneof![
        5 => prop_oneof![Just(0u64), 0u64..3_000, Just(10_000)]
            .prop_map(|max_wait_ms| StoreAction::Acquire { max_wait_ms }),
        2 => (1u64..2_000, 1u64..3_000, proptest::option::of(0u64..5), proptest::option::of(1u64..2_000))
            .prop_map(|(max, window_ms, remaining, reset_ms)| StoreAction::Learn { max, window_ms, remaining, reset_ms }),
        // limits just below the configured 10/s, where a wider tolerance would sneak in
        2 => (1u64..20, 0u64..60, proptest::option::of(0u64..5)).prop_map(|(max, extra, remaining)| {
            StoreAction::Learn { max, window_ms: max * 100 + extra, remaining, reset_ms: None }
        }),
        1 => (0u64..2_000).prop_map(|ms| StoreAction::Pause { ms }),
        1 => Just(StoreAction::CancelLatest),
        1 => Just(StoreAction::ConfirmDue),
    ];
    (prop_oneof![Just(0u64), 0u64..400], action)
        .prop_map(|(advance_ms, action)| StoreStep { advance_ms, action })
}
