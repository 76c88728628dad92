//! Breaker behaviour through tower, on tokio's paused clock.

use resilience_breaker::{
    Breaker, BreakerConfig, BreakerOpen, BreakerRegistry, CircuitBreaker, CircuitBreakerLayer,
    State, StateChange, TransitionReason, get_circuit_breaker,
};
use resilience_core::{BoxError, Classify, HttpClassifier, Outcome, Rejected, find_in_chain};
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::time::advance;
use tower::util::BoxCloneService;
use tower::{Layer, Service, ServiceExt};
use tower_test::mock;

/// What the test service should answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Req {
    Ok,
    Fail,
    Neutral,
    Throttle,
    Slow(Duration),
}

type Answer = &'static str;

fn classify(result: &Result<Answer, BoxError>) -> Outcome {
    match result {
        Ok("neutral") => Outcome::Neutral,
        Ok("throttled") => Outcome::Throttled {
            retry_after: Some(Duration::from_secs(1)),
        },
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

type Svc = BoxCloneService<Req, Answer, BoxError>;

/// A breaker over a tiny service that answers as asked and counts the calls it receives.
fn stack(breaker: &Breaker) -> (Svc, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let inner = tower::service_fn(move |req: Req| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match req {
                Req::Ok => Ok("ok"),
                Req::Fail => Err::<Answer, BoxError>("boom".into()),
                Req::Neutral => Ok("neutral"),
                Req::Throttle => Ok("throttled"),
                Req::Slow(d) => {
                    tokio::time::sleep(d).await;
                    Ok("slow")
                }
            }
        }
    });
    let layer = CircuitBreakerLayer::with_classifier(breaker.clone(), classify);
    (BoxCloneService::new(layer.layer(inner)), calls)
}

fn config() -> resilience_breaker::BreakerConfigBuilder {
    BreakerConfig::builder().jitter(0.0)
}

fn recorder() -> (
    Arc<Mutex<Vec<StateChange>>>,
    impl Fn(&StateChange) + Send + Sync,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, move |c: &StateChange| {
        sink.lock().unwrap().push(c.clone())
    })
}

fn transitions(events: &Mutex<Vec<StateChange>>) -> Vec<(State, State, TransitionReason)> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|c| (c.from, c.to, c.reason))
        .collect()
}

async fn send(svc: &Svc, req: Req, times: usize) {
    for _ in 0..times {
        let _ = svc.clone().oneshot(req).await;
    }
}

fn open_error(result: Result<Answer, BoxError>) -> BreakerOpen {
    let error = result.expect_err("the breaker should refuse");
    error
        .downcast_ref::<BreakerOpen>()
        .unwrap_or_else(|| panic!("not a BreakerOpen: {error}"))
        .clone()
}

#[tokio::test(start_paused = true)]
async fn minimum_calls_gate_the_failure_rate() {
    let breaker = Breaker::new(
        "min-calls",
        config().no_consecutive_failures().build().unwrap(),
    );
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Fail, 19).await;
    assert_eq!(
        breaker.state(),
        State::Closed,
        "19 calls are below the minimum of 20"
    );
    assert_eq!(breaker.snapshot().failure_rate, Some(1.0));
    send(&svc, Req::Fail, 1).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn failure_rate_at_threshold_opens() {
    let (events, listener) = recorder();
    let breaker = Breaker::new(
        "rate",
        config()
            .no_consecutive_failures()
            .on_state_change(listener)
            .build()
            .unwrap(),
    );
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Ok, 11).await;
    send(&svc, Req::Fail, 9).await; // 9/20 = 45 %
    assert_eq!(breaker.state(), State::Closed);
    send(&svc, Req::Fail, 1).await; // 10/21 = 47.6 %
    assert_eq!(breaker.state(), State::Closed);
    send(&svc, Req::Ok, 1).await; // a success never opens: 10/22
    assert_eq!(breaker.state(), State::Closed);
    send(&svc, Req::Fail, 1).await; // 11/23 = 47.8 %
    assert_eq!(breaker.state(), State::Closed);
    send(&svc, Req::Fail, 1).await; // 12/24 = 50 %
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        transitions(&events),
        vec![(State::Closed, State::Open, TransitionReason::FailureRate)]
    );
}

#[tokio::test(start_paused = true)]
async fn consecutive_failures_open_and_a_success_resets_the_count() {
    let (events, listener) = recorder();
    let breaker = Breaker::new(
        "consecutive",
        config().on_state_change(listener).build().unwrap(),
    );
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Fail, 9).await;
    assert_eq!(breaker.snapshot().consecutive_failures, 9);
    send(&svc, Req::Ok, 1).await;
    assert_eq!(breaker.snapshot().consecutive_failures, 0);
    send(&svc, Req::Fail, 9).await;
    assert_eq!(
        breaker.state(),
        State::Closed,
        "19 calls: no rate yet, 9 in a row"
    );
    send(&svc, Req::Fail, 1).await;
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        transitions(&events),
        vec![(
            State::Closed,
            State::Open,
            TransitionReason::ConsecutiveFailures
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn neutral_and_throttled_outcomes_are_ignored() {
    // Consecutive rule: neutral and throttled outcomes neither add to nor reset the count.
    let breaker = Breaker::new("ignored", config().consecutive_failures(3).build().unwrap());
    let (svc, calls) = stack(&breaker);
    send(&svc, Req::Fail, 2).await;
    send(&svc, Req::Neutral, 50).await;
    send(&svc, Req::Throttle, 50).await;
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Closed);
    assert_eq!(snapshot.consecutive_failures, 2);
    assert_eq!(
        snapshot.calls_in_window, 2,
        "only the failures are in the window"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 102);
    send(&svc, Req::Fail, 1).await;
    assert_eq!(breaker.state(), State::Open);

    // Rate rule: neutral outcomes do not count toward the minimum, and do not dilute the rate.
    let breaker = Breaker::new(
        "ignored-rate",
        config().no_consecutive_failures().build().unwrap(),
    );
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Fail, 19).await;
    send(&svc, Req::Neutral, 100).await;
    send(&svc, Req::Throttle, 100).await;
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().calls_in_window, 19);
    send(&svc, Req::Fail, 1).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn http_defaults_never_open_on_caller_errors_or_throttling() {
    let breaker = Breaker::new("http", config().build().unwrap());
    let svc = CircuitBreakerLayer::new(breaker.clone()).layer(tower::service_fn(
        |status: u16| async move {
            Ok::<_, BoxError>(http::Response::builder().status(status).body(()).unwrap())
        },
    ));
    for status in [400, 404, 409, 422, 429] {
        for _ in 0..30 {
            svc.clone().oneshot(status).await.unwrap();
        }
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().calls_in_window, 0);

    // Another layer's local refusal (a rate limiter's `Rejected`) is neutral too.
    let refusing =
        CircuitBreakerLayer::new(breaker.clone()).layer(tower::service_fn(|_: u16| async move {
            Err::<http::Response<()>, BoxError>(Box::new(Rejected::new(
                "rate_limiter",
                Some(Duration::from_secs(1)),
            )))
        }));
    for _ in 0..30 {
        refusing.clone().oneshot(200).await.unwrap_err();
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().consecutive_failures, 0);

    for _ in 0..10 {
        svc.clone().oneshot(503).await.unwrap();
    }
    assert_eq!(breaker.state(), State::Open);
    let error = svc.clone().oneshot(200).await.unwrap_err();
    assert!(error.is::<BreakerOpen>());
}

#[tokio::test(start_paused = true)]
async fn open_fails_fast_with_retry_after_and_a_rejected_source() {
    let breaker = Breaker::new(
        "fast-fail",
        config().consecutive_failures(2).build().unwrap(),
    );
    let (svc, calls) = stack(&breaker);
    send(&svc, Req::Fail, 2).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let open = open_error(svc.clone().oneshot(Req::Ok).await);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the inner service was not called"
    );
    assert_eq!(open.retry_after(), Some(Duration::from_secs(5)));
    assert_eq!(open.state(), State::Open);
    assert_eq!(open.name(), "fast-fail");
    assert_eq!(open.to_string(), "circuit breaker 'fast-fail' is open");

    let boxed: BoxError = Box::new(open);
    let rejected = find_in_chain::<Rejected>(&*boxed).expect("a Rejected in the chain");
    assert_eq!(rejected.layer(), "circuit_breaker");
    assert_eq!(rejected.retry_after(), Some(Duration::from_secs(5)));
    let as_http: Result<http::Response<()>, BoxError> = Err(boxed);
    assert_eq!(HttpClassifier::new().classify(&as_http), Outcome::Neutral);

    advance(Duration::from_secs(3)).await;
    let open = open_error(svc.clone().oneshot(Req::Ok).await);
    assert_eq!(open.retry_after(), Some(Duration::from_secs(2)));
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.retry_after, Some(Duration::from_secs(2)));
    assert!(snapshot.next_probe_at.is_some());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

fn poll_ready_once<S: Service<R>, R>(svc: &mut S) -> Poll<Result<(), S::Error>> {
    svc.poll_ready(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test(start_paused = true)]
async fn poll_ready_does_not_wait_for_the_inner_service_when_open() {
    let breaker = Breaker::new("ready", config().consecutive_failures(1).build().unwrap());
    let (inner, mut handle) = mock::pair::<Req, Answer>();
    let mut svc = CircuitBreaker::new(inner, breaker.clone(), classify);
    handle.allow(0);
    assert!(
        poll_ready_once(&mut svc).is_pending(),
        "closed: readiness is the inner service's"
    );

    breaker.try_acquire().unwrap().record(Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    assert!(matches!(poll_ready_once(&mut svc), Poll::Ready(Ok(()))));
    let open = open_error(svc.call(Req::Ok).await);
    assert_eq!(open.state(), State::Open);

    // Ready was granted while open, then the open duration passed: this call is refused
    // (the inner service was never made ready), and the next poll readies the inner service.
    assert!(matches!(poll_ready_once(&mut svc), Poll::Ready(Ok(()))));
    advance(Duration::from_secs(5)).await;
    let open = open_error(svc.call(Req::Ok).await);
    assert_eq!(open.retry_after(), Some(Duration::ZERO));
    handle.allow(1);
    assert!(matches!(poll_ready_once(&mut svc), Poll::Ready(Ok(()))));
    let response = svc.call(Req::Ok);
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req, Req::Ok);
    reply.send_response("ok");
    assert_eq!(response.await.unwrap(), "ok");
}

#[tokio::test(start_paused = true)]
async fn half_open_closes_after_all_probes_succeed() {
    let (events, listener) = recorder();
    let breaker = Breaker::new(
        "recover",
        config()
            .consecutive_failures(2)
            .on_state_change(listener)
            .build()
            .unwrap(),
    );
    let (svc, calls) = stack(&breaker);
    send(&svc, Req::Fail, 2).await;
    advance(Duration::from_millis(4_999)).await;
    assert!(svc.clone().oneshot(Req::Ok).await.is_err());
    advance(Duration::from_millis(1)).await;
    assert_eq!(svc.clone().oneshot(Req::Ok).await.unwrap(), "ok");
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(svc.clone().oneshot(Req::Ok).await.unwrap(), "ok");
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(svc.clone().oneshot(Req::Ok).await.unwrap(), "ok");
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(
        transitions(&events),
        vec![
            (
                State::Closed,
                State::Open,
                TransitionReason::ConsecutiveFailures
            ),
            (State::Open, State::HalfOpen, TransitionReason::OpenElapsed),
            (
                State::HalfOpen,
                State::Closed,
                TransitionReason::ProbesSucceeded
            ),
        ]
    );
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.calls_in_window, 0, "a close starts a fresh window");
    assert_eq!(snapshot.consecutive_trips, 0);
}

#[tokio::test(start_paused = true)]
async fn open_duration_grows_on_repeated_trips_and_resets_after_a_clean_close() {
    let (events, listener) = recorder();
    let breaker = Breaker::new(
        "growth",
        config()
            .consecutive_failures(1)
            .on_state_change(listener)
            .build()
            .unwrap(),
    );
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Fail, 1).await;
    let mut expected = vec![5];
    for wait in [5u64, 10, 20, 40, 60, 60] {
        assert_eq!(
            open_error(svc.clone().oneshot(Req::Ok).await).retry_after(),
            Some(Duration::from_secs(wait))
        );
        advance(Duration::from_secs(wait)).await;
        // The probe fails: open again, for longer.
        assert!(svc.clone().oneshot(Req::Fail).await.is_err());
        assert_eq!(breaker.state(), State::Open);
        expected.push((wait * 2).min(60));
    }
    assert_eq!(breaker.snapshot().consecutive_trips, 7);
    let open_for: Vec<u64> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| c.open_for.map(|d| d.as_secs()))
        .collect();
    assert_eq!(open_for, expected);

    // Recover cleanly, then trip again: back to the base duration.
    advance(Duration::from_secs(60)).await;
    send(&svc, Req::Ok, 3).await;
    assert_eq!(breaker.state(), State::Closed);
    send(&svc, Req::Fail, 1).await;
    assert_eq!(
        open_error(svc.clone().oneshot(Req::Ok).await).retry_after(),
        Some(Duration::from_secs(5))
    );
}

#[tokio::test(start_paused = true)]
async fn one_failed_probe_reopens_and_late_probe_results_are_ignored() {
    let breaker = Breaker::new(
        "probe-fail",
        config().consecutive_failures(1).build().unwrap(),
    );
    let (inner, mut handle) = mock::pair::<Req, Answer>();
    let svc = CircuitBreaker::new(inner, breaker.clone(), classify);
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    advance(Duration::from_secs(5)).await;

    let first = svc.clone().oneshot(Req::Ok);
    let second = svc.clone().oneshot(Req::Ok);
    let (first, second) = (tokio::spawn(first), tokio::spawn(second));
    let (_, reply_first) = handle.next_request().await.unwrap();
    let (_, reply_second) = handle.next_request().await.unwrap();
    reply_first.send_error("down");
    assert!(first.await.unwrap().is_err());
    assert_eq!(breaker.state(), State::Open);
    reply_second.send_response("ok");
    assert!(second.await.unwrap().is_ok());
    assert_eq!(
        breaker.state(),
        State::Open,
        "a late success does not close"
    );
    assert_eq!(breaker.snapshot().consecutive_trips, 2);
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_exactly_n_probes_among_many_tasks() {
    let breaker = Breaker::new("probes", config().consecutive_failures(1).build().unwrap());
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    advance(Duration::from_secs(5)).await;

    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let (gate, calls) = (gate.clone(), calls.clone());
        tower::service_fn(move |_: Req| {
            calls.fetch_add(1, Ordering::SeqCst);
            let gate = gate.clone();
            async move {
                gate.acquire().await.unwrap().forget();
                Ok::<Answer, BoxError>("ok")
            }
        })
    };
    let svc: Svc = BoxCloneService::new(
        CircuitBreakerLayer::with_classifier(breaker.clone(), classify).layer(inner),
    );
    let rejected = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let svc = svc.clone();
            let rejected = rejected.clone();
            tokio::spawn(async move {
                let result = svc.oneshot(Req::Ok).await;
                if let Err(error) = &result {
                    let open = error.downcast_ref::<BreakerOpen>().expect("BreakerOpen");
                    assert_eq!(open.state(), State::HalfOpen);
                    rejected.fetch_add(1, Ordering::SeqCst);
                }
                result
            })
        })
        .collect();
    for _ in 0..100 {
        if rejected.load(Ordering::SeqCst) == 47 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "exactly 3 probes reached the service"
    );
    assert_eq!(rejected.load(Ordering::SeqCst), 47);
    assert_eq!(breaker.state(), State::HalfOpen);
    gate.add_permits(3);
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 3);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn probe_slots_are_exact_under_parallel_threads() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    for round in 0..50 {
        let breaker = Breaker::new(
            format!("parallel-{round}"),
            config()
                .consecutive_failures(1)
                .half_open_probes(3)
                .build()
                .unwrap(),
        );
        let start = tokio::time::Instant::now();
        breaker
            .try_acquire_at(start)
            .unwrap()
            .record_at(Outcome::Failure, start);
        let later = start + Duration::from_secs(6);
        let go = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ready = Arc::new(AtomicUsize::new(0));
        let admitted = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (breaker, go, ready, admitted) =
                    (breaker.clone(), go.clone(), ready.clone(), admitted.clone());
                std::thread::spawn(move || {
                    ready.fetch_add(1, Ordering::SeqCst);
                    while !go.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                    let mut held = Vec::new();
                    for _ in 0..20 {
                        if let Ok(permit) = breaker.try_acquire_at(later) {
                            admitted.fetch_add(1, Ordering::SeqCst);
                            held.push(permit);
                        }
                        std::thread::yield_now();
                    }
                    held
                })
            })
            .collect();
        while ready.load(Ordering::SeqCst) < 8 {
            std::thread::yield_now();
        }
        go.store(true, Ordering::SeqCst);
        let held: Vec<_> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(admitted.load(Ordering::SeqCst), 3, "round {round}");
        assert!(held.iter().all(|p| p.is_probe()));
        for permit in held {
            permit.record_at(Outcome::Success, later);
        }
        assert_eq!(breaker.snapshot_at(later).state, State::Closed);
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_frees_its_slot() {
    let breaker = Breaker::new("cancel", config().consecutive_failures(1).build().unwrap());
    let (inner, mut handle) = mock::pair::<Req, Answer>();
    let mut svc = CircuitBreaker::new(inner, breaker.clone(), classify);
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    advance(Duration::from_secs(5)).await;

    let mut pending = Vec::new();
    for _ in 0..3 {
        svc.ready().await.unwrap();
        pending.push(svc.call(Req::Ok));
    }
    let mut replies = Vec::new();
    for _ in 0..3 {
        replies.push(handle.next_request().await.unwrap().1);
    }
    svc.ready().await.unwrap();
    let refused = open_error(svc.call(Req::Ok).await);
    assert_eq!(refused.state(), State::HalfOpen);
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(10)));

    // The caller of the first probe gives up: its slot goes to the next caller, no verdict.
    drop(pending.remove(0));
    drop(replies.remove(0));
    assert_eq!(breaker.state(), State::HalfOpen);
    svc.ready().await.unwrap();
    pending.push(svc.call(Req::Ok));
    let admitted = tokio::time::timeout(Duration::from_secs(1), handle.next_request()).await;
    replies.push(
        admitted
            .expect("the freed slot admitted a new probe")
            .unwrap()
            .1,
    );
    for reply in replies {
        reply.send_response("ok");
    }
    for response in pending {
        assert_eq!(response.await.unwrap(), "ok");
    }
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_neutral_probe_frees_its_slot_without_a_verdict() {
    let breaker = Breaker::new(
        "neutral-probe",
        config()
            .consecutive_failures(1)
            .half_open_probes(1)
            .build()
            .unwrap(),
    );
    let (svc, calls) = stack(&breaker);
    send(&svc, Req::Fail, 1).await;
    advance(Duration::from_secs(5)).await;
    send(&svc, Req::Neutral, 5).await;
    send(&svc, Req::Throttle, 5).await;
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        11,
        "each freed slot admitted the next probe"
    );
    send(&svc, Req::Ok, 1).await;
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_hung_probe_times_out_back_to_open() {
    let (events, listener) = recorder();
    let breaker = Breaker::new(
        "hung",
        config()
            .consecutive_failures(1)
            .half_open_probes(1)
            .probe_timeout(Duration::from_secs(10))
            .on_state_change(listener)
            .build()
            .unwrap(),
    );
    let (inner, mut handle) = mock::pair::<Req, Answer>();
    let mut svc = CircuitBreaker::new(inner, breaker.clone(), classify);
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    advance(Duration::from_secs(5)).await;

    svc.ready().await.unwrap();
    let hung = svc.call(Req::Ok);
    let (_, late_reply) = handle.next_request().await.unwrap();
    advance(Duration::from_millis(9_999)).await;
    assert_eq!(breaker.state(), State::HalfOpen);
    advance(Duration::from_millis(1)).await;
    assert_eq!(breaker.state(), State::Open, "the probe timed out");
    assert_eq!(
        transitions(&events).last(),
        Some(&(
            State::HalfOpen,
            State::Open,
            TransitionReason::ProbeTimedOut
        ))
    );
    svc.ready().await.unwrap();
    let open = open_error(svc.call(Req::Ok).await);
    assert_eq!(
        open.retry_after(),
        Some(Duration::from_secs(10)),
        "second trip: 5 s × 2"
    );

    // The hung call finally answers: too late to count.
    late_reply.send_response("ok");
    assert_eq!(hung.await.unwrap(), "ok");
    assert_eq!(breaker.state(), State::Open);

    // A timed-out probe is also noticed by a caller, without anyone asking for the state.
    advance(Duration::from_secs(10)).await;
    svc.ready().await.unwrap();
    let _second_hung = svc.call(Req::Ok);
    let _reply = handle.next_request().await.unwrap();
    advance(Duration::from_secs(10)).await;
    svc.ready().await.unwrap();
    let open = open_error(svc.call(Req::Ok).await);
    assert_eq!(open.state(), State::Open);
    assert_eq!(open.retry_after(), Some(Duration::from_secs(20)));
}

#[tokio::test(start_paused = true)]
async fn forced_open_and_disabled_override_the_rules() {
    let breaker = Breaker::new(
        "operator",
        config().consecutive_failures(2).build().unwrap(),
    );
    let (svc, calls) = stack(&breaker);

    breaker.force_open();
    assert_eq!(breaker.state(), State::ForcedOpen);
    advance(Duration::from_secs(3600)).await;
    let open = open_error(svc.clone().oneshot(Req::Ok).await);
    assert_eq!(open.state(), State::ForcedOpen);
    assert_eq!(open.retry_after(), None, "forced open has no automatic end");
    assert_eq!(
        open.to_string(),
        "circuit breaker 'operator' is forced open"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    breaker.disable();
    assert_eq!(breaker.state(), State::Disabled);
    send(&svc, Req::Fail, 50).await;
    assert_eq!(breaker.state(), State::Disabled);
    assert_eq!(calls.load(Ordering::SeqCst), 50);
    assert_eq!(breaker.snapshot().calls_in_window, 0, "nothing is recorded");

    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    send(&svc, Req::Fail, 2).await;
    assert_eq!(breaker.state(), State::Open);
    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(svc.clone().oneshot(Req::Ok).await.unwrap(), "ok");
}

#[tokio::test(start_paused = true)]
async fn registry_layers_share_one_breaker() {
    let registry = BreakerRegistry::new(8);
    let cfg = || config().consecutive_failures(3).build().unwrap();
    let a = registry.get_or_insert("crm", cfg()).unwrap();
    let b = registry.get_or_insert("crm", cfg()).unwrap();
    assert!(a.ptr_eq(&b));
    let (client_one, _) = stack(&a);
    let (client_two, calls_two) = stack(&b);
    send(&client_one, Req::Fail, 3).await;
    let open = open_error(client_two.clone().oneshot(Req::Ok).await);
    assert_eq!(open.name(), "crm");
    assert_eq!(calls_two.load(Ordering::SeqCst), 0);

    let other = registry.get_or_insert("chat", cfg()).unwrap();
    assert_eq!(
        other.state(),
        State::Closed,
        "another name, another breaker"
    );
    let names: Vec<_> = registry
        .snapshots()
        .into_iter()
        .map(|s| (s.name.to_string(), s.state))
        .collect();
    assert_eq!(
        names,
        vec![("chat".into(), State::Closed), ("crm".into(), State::Open)]
    );

    let global_one = get_circuit_breaker("global-test-api", cfg()).unwrap();
    let global_two = get_circuit_breaker("global-test-api", BreakerConfig::default()).unwrap();
    assert!(global_one.ptr_eq(&global_two));
}

#[test]
fn registry_is_bounded_and_evicts_only_unused_breakers() {
    let registry = BreakerRegistry::new(2);
    let a = registry
        .get_or_insert("a", BreakerConfig::default())
        .unwrap();
    let b = registry
        .get_or_insert("b", BreakerConfig::default())
        .unwrap();
    let full = registry
        .get_or_insert("c", BreakerConfig::default())
        .unwrap_err();
    assert_eq!(full.capacity(), 2);
    assert_eq!(
        full.to_string(),
        "circuit breaker registry is full (2 breakers, all in use)"
    );
    drop(b);
    let c = registry
        .get_or_insert("c", BreakerConfig::default())
        .unwrap();
    assert_eq!(registry.len(), 2);
    assert!(
        registry.get("b").is_none(),
        "the unused breaker was evicted"
    );
    assert!(registry.get("a").unwrap().ptr_eq(&a));
    assert!(registry.get("c").unwrap().ptr_eq(&c));
}

#[tokio::test(start_paused = true)]
async fn slow_calls_open_the_breaker() {
    let (events, listener) = recorder();
    let breaker = Breaker::new(
        "slow",
        config()
            .no_consecutive_failures()
            .minimum_calls(4)
            .slow_calls(Duration::from_secs(1), 0.5)
            .on_state_change(listener)
            .build()
            .unwrap(),
    );
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Slow(Duration::from_millis(999)), 1).await;
    send(&svc, Req::Ok, 1).await;
    send(&svc, Req::Slow(Duration::from_secs(1)), 1).await;
    assert_eq!(breaker.state(), State::Closed, "3 calls, below the minimum");
    assert_eq!(
        breaker.snapshot().slow_calls_in_window,
        1,
        "999 ms is not slow"
    );
    send(&svc, Req::Slow(Duration::from_secs(2)), 1).await;
    assert_eq!(breaker.state(), State::Open, "2 of 4 calls slow");
    assert_eq!(
        transitions(&events),
        vec![(State::Closed, State::Open, TransitionReason::SlowCallRate)]
    );

    // In half-open, a slow probe counts as a failed probe.
    advance(Duration::from_secs(5)).await;
    send(&svc, Req::Slow(Duration::from_secs(3)), 1).await;
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        transitions(&events).last(),
        Some(&(State::HalfOpen, State::Open, TransitionReason::ProbeFailed))
    );
}

#[tokio::test(start_paused = true)]
async fn the_sliding_window_forgets_old_buckets() {
    let breaker = Breaker::new(
        "window",
        config().no_consecutive_failures().build().unwrap(),
    );
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Fail, 15).await;
    advance(Duration::from_secs(31)).await;
    assert_eq!(breaker.snapshot().calls_in_window, 0);
    send(&svc, Req::Fail, 15).await;
    assert_eq!(
        breaker.state(),
        State::Closed,
        "the first 15 fell out of the window"
    );

    // Inside the window they add up.
    advance(Duration::from_secs(20)).await;
    assert_eq!(breaker.snapshot().calls_in_window, 15);
    send(&svc, Req::Fail, 5).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn outcomes_from_an_earlier_generation_are_ignored() {
    let breaker = Breaker::new("stale", config().consecutive_failures(2).build().unwrap());
    let (inner, mut handle) = mock::pair::<Req, Answer>();
    let mut svc = CircuitBreaker::new(inner, breaker.clone(), classify);
    svc.ready().await.unwrap();
    let slow = svc.call(Req::Fail);
    let (_, reply) = handle.next_request().await.unwrap();
    for _ in 0..2 {
        breaker.try_acquire().unwrap().record(Outcome::Failure);
    }
    assert_eq!(breaker.state(), State::Open);
    breaker.reset();
    reply.send_error("boom");
    assert!(slow.await.is_err());
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.calls_in_window, 0);
    assert_eq!(snapshot.consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn jitter_is_bounded_and_reproducible_with_a_seed() {
    async fn open_durations(seed: u64) -> Vec<Duration> {
        let (events, listener) = recorder();
        let breaker = Breaker::new(
            "jitter",
            BreakerConfig::builder()
                .consecutive_failures(1)
                .jitter_seed(seed)
                .on_state_change(listener)
                .build()
                .unwrap(),
        );
        for _ in 0..6 {
            breaker.try_acquire().unwrap().record(Outcome::Failure);
            breaker.reset();
        }
        events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|c| c.open_for)
            .collect()
    }
    let first = open_durations(42).await;
    assert_eq!(first.len(), 6);
    assert_eq!(first, open_durations(42).await);
    assert_ne!(first, open_durations(43).await);
    for d in &first {
        assert!(
            *d >= Duration::from_secs(4) && *d <= Duration::from_secs(6),
            "{d:?}"
        );
    }
    assert!(first.iter().any(|d| *d != Duration::from_secs(5)));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_closed_call_records_nothing() {
    let breaker = Breaker::new("drop", config().consecutive_failures(1).build().unwrap());
    let (inner, mut handle) = mock::pair::<Req, Answer>();
    let mut svc = CircuitBreaker::new(inner, breaker.clone(), classify);
    svc.ready().await.unwrap();
    let call = svc.call(Req::Fail);
    let (_, reply) = handle.next_request().await.unwrap();
    drop(call);
    reply.send_error("boom");
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().calls_in_window, 0);
}

#[tokio::test(start_paused = true)]
async fn snapshot_reports_rates_and_next_probe() {
    let breaker = Breaker::new("snap", config().no_consecutive_failures().build().unwrap());
    let (svc, _) = stack(&breaker);
    send(&svc, Req::Ok, 3).await;
    send(&svc, Req::Fail, 1).await;
    let s = breaker.snapshot();
    assert_eq!(s.name.as_ref(), "snap");
    assert_eq!((s.calls_in_window, s.failures_in_window), (4, 1));
    assert_eq!(s.failure_rate, Some(0.25));
    assert_eq!(s.slow_call_rate, Some(0.0));
    assert_eq!(s.next_probe_at, None);
    breaker.force_open();
    assert_eq!(breaker.snapshot().state, State::ForcedOpen);
    let debug = format!("{breaker:?}");
    assert!(
        debug.contains("snap") && debug.contains("ForcedOpen"),
        "{debug}"
    );
}

#[tokio::test(start_paused = true)]
async fn poll_fn_ready_is_immediate_when_the_inner_service_is_ready() {
    let breaker = Breaker::new("ready-ok", BreakerConfig::default());
    let (svc, _) = stack(&breaker);
    let mut svc = svc;
    poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
    assert_eq!(svc.call(Req::Ok).await.unwrap(), "ok");
}

#[tokio::test(start_paused = true)]
async fn the_listener_may_call_back_into_the_breaker() {
    let slot: Arc<std::sync::OnceLock<Breaker>> = Arc::new(std::sync::OnceLock::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (slot_in, seen_in) = (slot.clone(), seen.clone());
    let breaker = Breaker::new(
        "reentrant",
        config()
            .consecutive_failures(1)
            .on_state_change(move |change| {
                let breaker = slot_in.get().expect("set before use");
                // Reading the state, and even resetting, from inside the callback must not
                // deadlock: the callback runs outside the breaker's lock.
                seen_in
                    .lock()
                    .unwrap()
                    .push((change.to, breaker.snapshot().state));
                if change.to == State::Open {
                    breaker.reset();
                }
            })
            .build()
            .unwrap(),
    );
    slot.set(breaker.clone()).unwrap();
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(State::Open, State::Open), (State::Closed, State::Closed)]
    );
}
