//! Per-item processing: ordering, accounting, cancellation, concurrency, rate, panics, config.

use batch::{
    BatchProcessor, CancellationToken, ConfigError, GateFuture, ItemError, ItemOutcome, ItemRate,
    RateGate,
};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{Instant, sleep};

#[tokio::test(start_paused = true)]
async fn records_are_in_input_order_whatever_the_completion_order() {
    let processor = BatchProcessor::builder().concurrency(20).build().unwrap();
    let completed = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let result = processor
        .process(0..20u64, |i| {
            let completed = Arc::clone(&completed);
            async move {
                // Later items finish first.
                sleep(Duration::from_millis(200 - i * 10)).await;
                completed.lock().push(i);
                Ok::<_, String>(i * 2)
            }
        })
        .await;

    let completion_order = completed.lock().clone();
    assert_eq!(completion_order, (0..20).rev().collect::<Vec<_>>());
    assert_eq!(result.records.len(), 20);
    for (position, record) in result.records.iter().enumerate() {
        assert_eq!(record.index, position);
        assert_eq!(record.outcome.value(), Some(&(position as u64 * 2)));
    }
    assert_eq!(result.total(), 20);
    assert_eq!(result.succeeded(), 20);
    assert!((result.success_rate() - 1.0).abs() < f64::EPSILON);
    assert_eq!(result.duration(), Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn keyed_records_keep_the_key_and_the_operation_error() {
    let processor = BatchProcessor::new();
    let emails = ["a@x.io", "bad", "c@x.io"];
    let result = processor
        .process_keyed(
            emails,
            |email| email.to_string(),
            |email| async move {
                if email.contains('@') {
                    Ok(email.len())
                } else {
                    Err(format!("invalid email {email:?}"))
                }
            },
        )
        .await;
    assert_eq!(result.records[1].key, "bad");
    match &result.records[1].outcome {
        ItemOutcome::Failed(ItemError::Operation(message)) => {
            assert_eq!(message, "invalid email \"bad\"")
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    assert_eq!(result.succeeded(), 2);
    assert_eq!(result.failed(), 1);
    assert!((result.success_rate() - 2.0 / 3.0).abs() < 1e-9);
    let failures: Vec<_> = result
        .failures()
        .map(|(i, key, _)| (i, key.clone()))
        .collect();
    assert_eq!(failures, vec![(1, "bad".to_string())]);
    let successes: Vec<_> = result.successes().map(|(i, _, v)| (i, *v)).collect();
    assert_eq!(successes, vec![(0, 6), (2, 6)]);
}

#[tokio::test(start_paused = true)]
async fn an_empty_input_is_an_empty_successful_result() {
    let result = BatchProcessor::new()
        .process(Vec::<u32>::new(), |i| async move { Ok::<_, String>(i) })
        .await;
    assert_eq!(result.total(), 0);
    assert!(result.records.is_empty());
    assert!((result.success_rate() - 1.0).abs() < f64::EPSILON);
}

#[tokio::test(start_paused = true)]
async fn concurrency_never_exceeds_the_limit_and_reaches_it() {
    for limit in [1usize, 3, 7] {
        let processor = BatchProcessor::builder()
            .concurrency(limit)
            .build()
            .unwrap();
        let current = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let result = processor
            .process(0..50u64, |i| {
                let current = Arc::clone(&current);
                let max = Arc::clone(&max);
                async move {
                    let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    sleep(Duration::from_millis(10 + (i * 7) % 13)).await;
                    current.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, String>(())
                }
            })
            .await;
        assert_eq!(max.load(Ordering::SeqCst), limit, "limit {limit}");
        assert_eq!(result.stats.peak_in_flight, limit);
        assert_eq!(result.succeeded(), 50);
    }
}

#[tokio::test(start_paused = true)]
async fn the_default_concurrency_is_five() {
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    BatchProcessor::new()
        .process(0..20, |_| {
            let current = Arc::clone(&current);
            let max = Arc::clone(&max);
            async move {
                max.fetch_max(current.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                sleep(Duration::from_millis(10)).await;
                current.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, String>(())
            }
        })
        .await;
    assert_eq!(max.load(Ordering::SeqCst), batch::DEFAULT_CONCURRENCY);
    assert_eq!(batch::DEFAULT_CONCURRENCY, 5);
}

#[tokio::test(start_paused = true)]
async fn cancellation_records_unstarted_items_and_lets_in_flight_ones_finish() {
    let token = CancellationToken::new();
    let processor = BatchProcessor::builder()
        .concurrency(3)
        .cancellation(token.clone())
        .build()
        .unwrap();
    let started = Arc::new(parking_lot::Mutex::new(BTreeSet::new()));
    let begin = Instant::now();
    let canceller = {
        let token = token.clone();
        tokio::spawn(async move {
            sleep(Duration::from_millis(150)).await;
            token.cancel();
        })
    };
    let result = processor
        .process(0..20usize, |i| {
            let started = Arc::clone(&started);
            async move {
                started.lock().insert(i);
                sleep(Duration::from_millis(100)).await;
                Ok::<_, String>(i)
            }
        })
        .await;
    canceller.await.unwrap();

    // Items 0..3 ran in [0, 100 ms], items 3..6 started at 100 ms and were in flight at the
    // cancel (150 ms): they finish at 200 ms. Nothing else started.
    assert_eq!(*started.lock(), (0..6).collect::<BTreeSet<_>>());
    assert_eq!(begin.elapsed(), Duration::from_millis(200));
    assert_eq!(result.succeeded(), 6);
    assert_eq!(result.cancelled(), 14);
    assert_eq!(result.failed(), 0);
    for record in &result.records {
        if record.index < 6 {
            assert_eq!(record.outcome.value(), Some(&record.index));
        } else {
            assert!(record.is_cancelled(), "index {}", record.index);
        }
    }
    assert_eq!(result.cancelled_records().count(), 14);
}

#[tokio::test(start_paused = true)]
async fn a_token_cancelled_before_the_run_starts_nothing() {
    let token = CancellationToken::new();
    token.cancel();
    let processor = BatchProcessor::builder()
        .cancellation(token)
        .rate_per_second(1.0)
        .build()
        .unwrap();
    let calls = AtomicUsize::new(0);
    let result = processor
        .process(0..10, |i| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(i) }
        })
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(result.cancelled(), 10);
    assert_eq!(result.total(), 10);
}

#[tokio::test(start_paused = true)]
async fn cancelling_while_waiting_for_the_rate_gate_cancels_the_waiting_item() {
    let token = CancellationToken::new();
    let processor = BatchProcessor::builder()
        .concurrency(4)
        .rate_per_second(1.0)
        .cancellation(token.clone())
        .build()
        .unwrap();
    let begin = Instant::now();
    tokio::spawn({
        let token = token.clone();
        async move {
            sleep(Duration::from_millis(2500)).await;
            token.cancel();
        }
    });
    let result = processor
        .process(0..10, |i| async move { Ok::<_, String>(i) })
        .await;
    // Starts at 0 s, 1 s, 2 s; the item due at 3 s was waiting on the gate at 2.5 s.
    assert_eq!(result.succeeded(), 3);
    assert_eq!(result.cancelled(), 7);
    assert_eq!(begin.elapsed(), Duration::from_millis(2500));
}

#[tokio::test(start_paused = true)]
async fn the_rate_spreads_starts_and_takes_at_least_n_minus_one_intervals() {
    let processor = BatchProcessor::builder()
        .concurrency(10)
        .rate_per_second(5.0)
        .build()
        .unwrap();
    let begin = Instant::now();
    let starts = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let result = processor
        .process(0..10, |i| {
            let starts = Arc::clone(&starts);
            async move {
                starts.lock().push(Instant::now());
                Ok::<_, String>(i)
            }
        })
        .await;
    assert_eq!(result.succeeded(), 10);
    // N items at R/s take at least (N - 1) / R.
    assert!(begin.elapsed() >= Duration::from_millis(1800));
    let starts = starts.lock().clone();
    assert_eq!(starts.len(), 10);
    for pair in starts.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(200), "{pair:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_shared_gate_paces_two_batches_together() {
    let gate = ItemRate::per_second(10.0).unwrap();
    let a = BatchProcessor::builder()
        .rate_gate(gate.clone())
        .build()
        .unwrap();
    let b = BatchProcessor::builder().rate_gate(gate).build().unwrap();
    let starts = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let op = |i: u32| {
        let starts = Arc::clone(&starts);
        async move {
            starts.lock().push(Instant::now());
            Ok::<_, String>(i)
        }
    };
    let begin = Instant::now();
    let (ra, rb) = tokio::join!(a.process(0..10, &op), b.process(0..10, &op));
    assert_eq!(ra.succeeded() + rb.succeeded(), 20);
    // 20 items from one 10/s budget: at least 1.9 s, every start 100 ms after the previous.
    assert!(begin.elapsed() >= Duration::from_millis(1900));
    let mut starts = starts.lock().clone();
    starts.sort();
    for pair in starts.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(100));
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_lets_that_many_start_at_once() {
    let gate = ItemRate::with_interval(Duration::from_secs(1))
        .unwrap()
        .with_burst(NonZeroU32::new(3).unwrap());
    let processor = BatchProcessor::builder()
        .concurrency(10)
        .rate_gate(gate)
        .build()
        .unwrap();
    let begin = Instant::now();
    let starts = Arc::new(parking_lot::Mutex::new(Vec::new()));
    processor
        .process(0..5, |i| {
            let starts = Arc::clone(&starts);
            async move {
                starts.lock().push(begin.elapsed());
                Ok::<_, String>(i)
            }
        })
        .await;
    let starts = starts.lock().clone();
    let secs = |s: u64| Duration::from_secs(s);
    assert_eq!(starts, vec![secs(0), secs(0), secs(0), secs(1), secs(2)]);
}

/// A gate that refuses every second request.
#[derive(Debug, Default)]
struct Flaky {
    calls: AtomicUsize,
}

impl RateGate for Flaky {
    fn acquire(&self, _permits: NonZeroU32) -> GateFuture<'_> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if call % 2 == 1 {
                Err("wait longer than the deadline".into())
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_refusing_gate_fails_the_item_without_calling_the_operation() {
    let processor = BatchProcessor::builder()
        .rate_gate(Flaky::default())
        .build()
        .unwrap();
    let seen = Arc::new(parking_lot::Mutex::new(BTreeSet::new()));
    let result = processor
        .process(0..6usize, |i| {
            seen.lock().insert(i);
            async move { Ok::<_, String>(i) }
        })
        .await;
    assert_eq!(result.succeeded(), 3);
    assert_eq!(result.failed(), 3);
    for (index, _, error) in result.failures() {
        assert_eq!(error.kind(), "rate_gate");
        assert!(error.to_string().contains("wait longer than the deadline"));
        assert!(!seen.lock().contains(&index));
    }
}

#[tokio::test(start_paused = true)]
async fn panics_are_recorded_as_failures_of_their_item() {
    let processor = BatchProcessor::builder().concurrency(4).build().unwrap();
    let result = processor
        .process(0..12u32, |i| {
            if i == 7 {
                panic!("sync boom {i}");
            }
            async move {
                sleep(Duration::from_millis(u64::from(i))).await;
                if i % 3 == 0 {
                    panic!("async boom {i}");
                }
                Ok::<_, String>(i)
            }
        })
        .await;
    assert_eq!(result.total(), 12);
    assert_eq!(result.failed(), 5); // 0, 3, 6, 9 and 7
    assert_eq!(result.succeeded(), 7);
    for record in &result.records {
        let i = record.index as u32;
        match &record.outcome {
            ItemOutcome::Failed(ItemError::Panicked { message }) if i == 7 => {
                assert_eq!(message, "sync boom 7")
            }
            ItemOutcome::Failed(ItemError::Panicked { message }) if i % 3 == 0 => {
                assert_eq!(message, &format!("async boom {i}"))
            }
            ItemOutcome::Succeeded(v) => assert_eq!(*v, i),
            other => panic!("index {i}: unexpected {other:?}"),
        }
    }
}

#[test]
fn bad_settings_are_typed_errors() {
    assert_eq!(
        BatchProcessor::builder()
            .concurrency(0)
            .build()
            .unwrap_err(),
        ConfigError::ZeroConcurrency
    );
    assert_eq!(
        BatchProcessor::builder().chunk_size(0).build().unwrap_err(),
        ConfigError::ZeroChunkSize
    );
    for rate in [0.0, -1.0, f64::INFINITY] {
        assert_eq!(
            BatchProcessor::builder()
                .rate_per_second(rate)
                .build()
                .unwrap_err(),
            ConfigError::InvalidRate { rate }
        );
    }
    assert!(matches!(
        BatchProcessor::builder().rate_per_second(f64::NAN).build(),
        Err(ConfigError::InvalidRate { .. })
    ));
    assert_eq!(
        ItemRate::with_interval(Duration::ZERO).unwrap_err(),
        ConfigError::ZeroInterval
    );
}

#[tokio::test(start_paused = true)]
async fn runs_are_send_and_can_be_spawned() {
    let processor = BatchProcessor::builder()
        .rate_per_second(100.0)
        .build()
        .unwrap();
    let handle = tokio::spawn(async move {
        processor
            .process(0..3, |i| async move {
                sleep(Duration::from_millis(1)).await;
                Ok::<_, std::io::Error>(i)
            })
            .await
    });
    assert_eq!(handle.await.unwrap().succeeded(), 3);
}

/// What the operation does with one item in the property test.
#[derive(Debug, Clone)]
enum Plan {
    Ok(u64),
    Err(u64),
    Panic(u64),
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![
        (0..50u64).prop_map(Plan::Ok),
        (0..50u64).prop_map(Plan::Err),
        (0..50u64).prop_map(Plan::Panic),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_item_is_accounted_for_exactly_once(
        plans in prop::collection::vec(plan(), 0..60),
        concurrency in 1usize..8,
        cancel_at in prop::option::of(0u64..300),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let token = CancellationToken::new();
            if let Some(at) = cancel_at {
                let token = token.clone();
                tokio::spawn(async move {
                    sleep(Duration::from_millis(at)).await;
                    token.cancel();
                });
            }
            let processor = BatchProcessor::builder()
                .concurrency(concurrency)
                .cancellation(token)
                .build()
                .unwrap();
            let started = Arc::new(parking_lot::Mutex::new(BTreeSet::new()));
            let result = processor
                .process(plans.clone().into_iter().enumerate(), |(i, plan)| {
                    started.lock().insert(i);
                    async move {
                        match plan {
                            Plan::Ok(ms) => { sleep(Duration::from_millis(ms)).await; Ok(i) }
                            Plan::Err(ms) => { sleep(Duration::from_millis(ms)).await; Err(format!("e{i}")) }
                            Plan::Panic(ms) => { sleep(Duration::from_millis(ms)).await; panic!("p{i}") }
                        }
                    }
                })
                .await;
            let s = &result.stats;
            prop_assert_eq!(s.total, plans.len() as u64);
            prop_assert_eq!(s.total, s.succeeded + s.failed + s.cancelled);
            prop_assert_eq!(result.records.len(), plans.len());
            prop_assert!(s.peak_in_flight <= concurrency);
            let started = started.lock().clone();
            for (position, record) in result.records.iter().enumerate() {
                prop_assert_eq!(record.index, position);
                let was_started = started.contains(&position);
                match (&plans[position], &record.outcome) {
                    (_, ItemOutcome::Cancelled) => prop_assert!(!was_started),
                    (Plan::Ok(_), ItemOutcome::Succeeded(v)) => prop_assert_eq!(*v, position),
                    (Plan::Err(_), ItemOutcome::Failed(ItemError::Operation(e))) => {
                        prop_assert_eq!(e, &format!("e{position}"))
                    }
                    (Plan::Panic(_), ItemOutcome::Failed(ItemError::Panicked { message })) => {
                        prop_assert_eq!(message, &format!("p{position}"))
                    }
                    (plan, outcome) => prop_assert!(false, "{position}: {plan:?} gave {outcome:?}"),
                }
            }
            if cancel_at.is_none() {
                prop_assert_eq!(s.cancelled, 0);
            }
            Ok(())
        })?;
    }
}

#[tokio::test(start_paused = true)]
async fn a_huge_configured_interval_never_panics() {
    use batch::RateGate as _;
    use std::num::NonZeroU32;
    let gate = ItemRate::with_interval(Duration::MAX).unwrap();
    let begin = Instant::now();
    // The first permit is due at once; the next one is (practically) never due.
    gate.acquire(NonZeroU32::new(100).unwrap()).await.unwrap();
    assert_eq!(begin.elapsed(), Duration::ZERO);
    let next = tokio::time::timeout(Duration::from_secs(3600), gate.acquire(NonZeroU32::MIN)).await;
    assert!(next.is_err(), "the second permit must still be waiting");
}
