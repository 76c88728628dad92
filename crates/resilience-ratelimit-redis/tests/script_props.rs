//! The Lua script computes exactly what `resilience_ratelimit::gcra` (and `InMemoryStore`'s
//! use of it) computes: random operation sequences run against a real Redis with an injected
//! clock and against a line-for-line Rust model built on `gcra`, comparing every answer and the
//! stored state after every step.

mod common;

use proptest::prelude::*;
use resilience_ratelimit::gcra::{self, GcraState, Verdict};
use resilience_ratelimit::{Decision, Grant, Observation, Quota, Reservation, ServerQuota};
use resilience_ratelimit_redis::script::{Confirmed, GcraScript, ObserveArgs, ScriptClock};
use std::num::NonZeroU32;
use std::time::Duration;

const EPOCH: u64 = 1_764_000_000;

/// `InMemoryStore`'s per-key state and rules, with time given explicitly.
#[derive(Debug, Default, Clone)]
struct Model {
    gcra: GcraState,
    learned: Option<(Quota, u64)>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Model {
    fn effective(&mut self, configured: Quota, now: u64) -> Quota {
        if self.learned.is_some_and(|(_, until)| until <= now) {
            self.learned = None;
        }
        match self.learned {
            Some((q, _)) => configured.strictest(q),
            None => configured,
        }
    }

    fn acquire(&mut self, quota: Quota, now: u64, max_wait: u64) -> (Decision, Quota) {
        let effective = self.effective(quota, now);
        let d = match gcra::acquire(&mut self.gcra, effective, now, max_wait) {
            Verdict::Granted { wait_ns, tat_after } => Decision::Granted(Grant {
                wait: Duration::from_nanos(wait_ns),
                reservation: Reservation::new(tat_after, effective.emission_ns()),
                limit_changed: None,
            }),
            Verdict::Denied { wait_ns } => Decision::Denied {
                wait: Duration::from_nanos(wait_ns),
            },
        };
        (d, effective)
    }

    fn confirm(&mut self, quota: Quota, now: u64, r: Reservation, max_wait: u64) -> Confirmed {
        if self.gcra.paused_until <= now {
            return Confirmed::Kept;
        }
        gcra::release(&mut self.gcra, r.tat_after(), r.emission_ns());
        let (d, q) = self.acquire(quota, now, max_wait);
        Confirmed::Requeued(d, q)
    }

    fn observe(&mut self, quota: Quota, now: u64, o: &Observation) -> (Quota, Option<Duration>) {
        let before = self.gcra.paused_until;
        if o.remaining == Some(0) {
            if let Some(window) = o.window_end() {
                gcra::pause(&mut self.gcra, now.saturating_add(nanos(window)));
            }
        }
        if let Some(pause) = o.pause {
            gcra::pause(&mut self.gcra, now.saturating_add(nanos(pause)));
        }
        if let Some(server) = o.quota {
            let emission = u64::try_from(server.window.as_nanos().div_ceil(u128::from(server.max)))
                .unwrap_or(u64::MAX);
            let burst = NonZeroU32::new(u32::try_from(server.max).unwrap_or(u32::MAX))
                .unwrap_or(NonZeroU32::MIN);
            let learned = Quota::from_raw(emission, burst);
            let from = now.max(self.gcra.paused_until);
            self.learned = (quota.strictest(learned) != quota)
                .then(|| (learned, from.saturating_add(nanos(server.window))));
        }
        let effective = self.effective(quota, now);
        if let Some(remaining @ 1..) = o.remaining {
            gcra::limit_remaining(&mut self.gcra, effective, now, remaining);
        }
        let paused_for = (self.gcra.paused_until > before.max(now))
            .then(|| Duration::from_nanos(self.gcra.paused_until - now));
        (effective, paused_for)
    }

    /// The hash fields the script stores: tat, pu, le, lb, lu.
    fn fields(&self) -> [u64; 5] {
        let (le, lb, lu) = match self.learned {
            Some((q, until)) => (q.emission_ns(), u64::from(q.burst()), until),
            None => (0, 0, 0),
        };
        [self.gcra.tat, self.gcra.paused_until, le, lb, lu]
    }
}

#[derive(Debug, Clone)]
enum Op {
    Acquire { max_wait: u64, floor: u64 },
    Confirm { pick: usize, max_wait: u64 },
    Release { pick: usize },
    Observe(Observation),
}

fn observation() -> impl Strategy<Value = Observation> {
    (
        proptest::option::of((1u64..300, 1u64..20_000)),
        proptest::option::of(0u64..120),
        proptest::option::of(0u64..5_000),
        proptest::option::of(0u64..5_000),
    )
        .prop_map(|(quota, remaining, reset_ms, pause_ms)| Observation {
            quota: quota.map(|(max, window_ms)| ServerQuota {
                max,
                window: Duration::from_millis(window_ms),
            }),
            remaining,
            reset: reset_ms.map(Duration::from_millis),
            pause: pause_ms.map(Duration::from_millis),
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..3_000_000_000).prop_map(|max_wait| Op::Acquire { max_wait, floor: 0 }),
        1 => (0u64..3_000_000_000, 1u64..2_000_000_000)
            .prop_map(|(max_wait, floor)| Op::Acquire { max_wait, floor }),
        2 => (any::<usize>(), 0u64..3_000_000_000)
            .prop_map(|(pick, max_wait)| Op::Confirm { pick, max_wait }),
        1 => any::<usize>().prop_map(|pick| Op::Release { pick }),
        2 => observation().prop_map(Op::Observe),
    ]
}

fn run_case(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    emission: u64,
    burst: u32,
    start: u64,
    steps: Vec<(u64, Op)>,
    case: u64,
) -> Result<(), TestCaseError> {
    runtime.block_on(async {
        let client = redis::Client::open(url).expect("url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection");
        let script = GcraScript::new();
        let key = format!("{}k{case}", common::unique_prefix("props"));
        let quota = Quota::from_raw(emission, NonZeroU32::new(burst).unwrap());
        let mut model: Option<Model> = None;
        let mut reservations: Vec<Reservation> = vec![Reservation::new(emission * 3, emission)];
        let mut now = start;
        for (step, op) in steps {
            now += step;
            let clock = ScriptClock::At {
                epoch_secs: EPOCH,
                now_ns: now,
            };
            match op {
                Op::Acquire { max_wait, floor } => {
                    let got = script
                        .acquire(
                            &mut conn,
                            &key,
                            quota,
                            Duration::from_nanos(max_wait),
                            Duration::from_nanos(floor),
                            clock,
                        )
                        .await
                        .expect("script");
                    // A floor acts as a pause for this permit only.
                    let m = model.get_or_insert_default();
                    let paused = m.gcra.paused_until;
                    if floor > 0 {
                        gcra::pause(&mut m.gcra, now + floor);
                    }
                    let want = m.acquire(quota, now, max_wait);
                    m.gcra.paused_until = paused;
                    prop_assert_eq!(&got, &want, "acquire at {}", now);
                    if let Decision::Granted(g) = &got.0 {
                        reservations.push(g.reservation);
                    }
                }
                Op::Confirm { pick, max_wait } => {
                    let r = reservations[pick % reservations.len()];
                    let got = script
                        .confirm(
                            &mut conn,
                            &key,
                            quota,
                            r,
                            Duration::from_nanos(max_wait),
                            clock,
                        )
                        .await
                        .expect("script");
                    let want = model
                        .get_or_insert_default()
                        .confirm(quota, now, r, max_wait);
                    prop_assert_eq!(&got, &want, "confirm {:?} at {}", r, now);
                    if let Confirmed::Requeued(Decision::Granted(g), _) = &got {
                        reservations.push(g.reservation);
                    }
                }
                Op::Release { pick } => {
                    let r = reservations[pick % reservations.len()];
                    let got = script
                        .release(&mut conn, &key, r, clock)
                        .await
                        .expect("script");
                    let want = model.as_mut().is_some_and(|m| {
                        gcra::release(&mut m.gcra, r.tat_after(), r.emission_ns())
                    });
                    prop_assert_eq!(got, want, "release {:?} at {}", r, now);
                }
                Op::Observe(o) => {
                    let got = script
                        .observe(&mut conn, &key, quota, ObserveArgs::new(quota, &o), clock)
                        .await
                        .expect("script");
                    let (effective, paused_for) =
                        model.get_or_insert_default().observe(quota, now, &o);
                    prop_assert_eq!(got.effective, effective, "observe {:?}", o);
                    prop_assert_eq!(got.paused_for, paused_for, "observe {:?}", o);
                }
            }
            if let Some(m) = &model {
                let stored: Vec<Option<u64>> = redis::cmd("HMGET")
                    .arg(&key)
                    .arg(&["tat", "pu", "le", "lb", "lu"])
                    .query_async(&mut conn)
                    .await
                    .expect("hmget");
                let stored: Vec<u64> = stored.into_iter().map(|v| v.unwrap_or(0)).collect();
                prop_assert_eq!(stored.as_slice(), &m.fields()[..], "state after step");
            }
        }
        let _: () = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("del");
        Ok(())
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn script_agrees_with_gcra() {
    // The server lives as long as this test (a static would leak the child process).
    let (url, _server) = common::redis();
    let runtime = runtime();
    // Each case is a few dozen round trips to a real Redis: fewer cases than a pure test.
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let strategy = (
        1u64..2_000_000_000,
        1u32..200,
        0u64..(1u64 << 50),
        proptest::collection::vec((0u64..400_000_000, op()), 1..40),
        any::<u64>(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |(emission, burst, start, steps, case)| {
        run_case(&runtime, &url, emission, burst, start, steps, case)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn state_written_under_an_old_epoch_is_shifted() {
    let (url, _server) = common::redis();
    runtime().block_on(async {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let script = GcraScript::new();
        let key = format!("{}epoch", common::unique_prefix("props"));
        let quota = Quota::from_raw(1_000_000_000, NonZeroU32::MIN); // 1/s, burst 1
        let period = 30 * 24 * 3600;
        let late = 2_591_999_500_000_000; // 0.5 s before the epoch moves
        let at = |epoch_secs, now_ns| ScriptClock::At { epoch_secs, now_ns };
        let (first, _) = script
            .acquire(
                &mut conn,
                &key,
                quota,
                Duration::ZERO,
                Duration::ZERO,
                at(EPOCH, late),
            )
            .await
            .unwrap();
        assert!(matches!(first, Decision::Granted(_)));
        // 0.6 s later, in the next epoch: the permit taken 0.6 s ago still counts
        let (second, _) = script
            .acquire(
                &mut conn,
                &key,
                quota,
                Duration::from_secs(2),
                Duration::ZERO,
                at(EPOCH + period, 100_000_000),
            )
            .await
            .unwrap();
        match second {
            Decision::Granted(g) => assert_eq!(g.wait, Duration::from_millis(400)),
            other => panic!("{other:?}"),
        }
    });
}
