//! Retry behaviour over HTTP request/response types, on tokio's paused clock.

mod support;

use bytes::Bytes;
use http_body_util::Full;
use metrics_util::debugging::DebuggingRecorder;
use resilience_core::extensions::{Deadline as DeadlineAt, Idempotent};
use resilience_core::{BoxError, HttpClassifier, NotSent, Outcome, Rejected, TimedOut};
use resilience_retry::{
    Backoff, DeadlineLayer, FixedRandom, Jitter, RetryAfterExceeded, RetryBudget, RetryLayer,
    RetryPolicy, SplitMix64,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::*;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

fn no_jitter(name: &'static str) -> resilience_retry::RetryPolicyBuilder {
    RetryPolicy::builder(name).jitter(Jitter::None).no_budget()
}

fn io_error(kind: std::io::ErrorKind) -> BoxError {
    Box::new(std::io::Error::from(kind))
}

#[tokio::test(start_paused = true)]
async fn attempt_counts() {
    // Always failing: exactly max_attempts calls, the last response returned.
    for attempts in [1, 3, 5] {
        let log = Log::default();
        let svc = RetryLayer::new(no_jitter("t").max_attempts(attempts).build().unwrap())
            .layer(scripted(log.clone(), |_, _| Ok(response(500))));
        let res = svc.oneshot(request("GET")).await.unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(log.count(), attempts as usize, "max_attempts {attempts}");
    }
    // Success on the second attempt stops there.
    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("t").build().unwrap())
        .layer(scripted(log.clone(), |n, _| {
            Ok(response(if n == 0 { 502 } else { 200 }))
        }));
    assert_eq!(svc.oneshot(request("GET")).await.unwrap().status(), 200);
    assert_eq!(log.count(), 2);
    // A neutral outcome (the caller's 404) is never retried.
    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("t").build().unwrap())
        .layer(scripted(log.clone(), |_, _| Ok(response(404))));
    assert_eq!(svc.oneshot(request("GET")).await.unwrap().status(), 404);
    assert_eq!(log.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn default_delays_stay_within_full_jitter_bounds() {
    // 250 ms ×2: retry k waits in [0, 250·2^(k-1)] ms; many seeded samples, each within bounds.
    let policy = RetryPolicy::builder("t")
        .max_attempts(5)
        .no_budget()
        .random_source(SplitMix64::seeded(42))
        .build()
        .unwrap();
    let log = Log::default();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |_, _| Ok(response(503))));
    let mut below_half = 0;
    let mut samples = 0;
    for _ in 0..200 {
        log.clear();
        svc.clone().oneshot(request("GET")).await.unwrap();
        for (k, gap) in log.gaps().into_iter().enumerate() {
            let bound = ms(250 << k);
            // tokio's timer has millisecond resolution and rounds up, never down.
            assert!(
                gap <= bound + ms(1),
                "retry {} waited {gap:?} > {bound:?}",
                k + 1
            );
            samples += 1;
            if gap < bound / 2 {
                below_half += 1;
            }
        }
    }
    assert_eq!(samples, 800);
    // Full jitter spreads over the whole range: about half the samples fall below half.
    assert!(
        (300..500).contains(&below_half),
        "{below_half} of 800 below half"
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_pinned_at_its_top_reaches_the_bound_but_not_past_it() {
    let policy = RetryPolicy::builder("t")
        .max_attempts(4)
        .no_budget()
        .random_source(FixedRandom(0.999_999))
        .build()
        .unwrap();
    let log = Log::default();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |_, _| Ok(response(500))));
    svc.oneshot(request("GET")).await.unwrap();
    assert_eq!(log.gaps(), vec![ms(250), ms(500), ms(1000)]);
}

#[tokio::test(start_paused = true)]
async fn delays_grow_to_the_cap_and_stay_there() {
    let backoff = Backoff::exponential(Duration::from_secs(1), 10.0, Duration::from_secs(3))
        .unwrap()
        .with_jitter(Jitter::None);
    let policy = no_jitter("t")
        .backoff(backoff)
        .max_attempts(5)
        .build()
        .unwrap();
    let log = Log::default();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |_, _| Ok(response(500))));
    svc.oneshot(request("GET")).await.unwrap();
    let secs = Duration::from_secs;
    assert_eq!(log.gaps(), vec![secs(1), secs(3), secs(3), secs(3)]);
}

#[tokio::test(start_paused = true)]
async fn decorrelated_jitter_stays_between_base_and_three_times_the_previous_delay() {
    let policy = RetryPolicy::builder("t")
        .jitter(Jitter::Decorrelated)
        .max_attempts(6)
        .no_budget()
        .random_source(SplitMix64::seeded(7))
        .build()
        .unwrap();
    let log = Log::default();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |_, _| Ok(response(500))));
    for _ in 0..50 {
        log.clear();
        svc.clone().oneshot(request("GET")).await.unwrap();
        let mut previous = ms(250);
        for gap in log.gaps() {
            assert!(gap >= ms(250), "{gap:?} below base");
            assert!(
                gap <= (previous * 3).min(ms(20_000)) + ms(1),
                "{gap:?} vs {previous:?}"
            );
            previous = gap;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_never_undercut() {
    // Default jitter adds 0–10 % on top of the server's wait, never less.
    let policy = RetryPolicy::builder("t")
        .no_budget()
        .random_source(SplitMix64::seeded(3))
        .build()
        .unwrap();
    let log = Log::default();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |n, _| {
        Ok(if n % 2 == 0 {
            response_with_retry_after(429, "7")
        } else {
            response(200)
        })
    }));
    for _ in 0..50 {
        log.clear();
        let res = svc.clone().oneshot(request("GET")).await.unwrap();
        assert_eq!(res.status(), 200);
        let gap = log.gaps()[0];
        assert!(
            gap >= Duration::from_secs(7),
            "retried after {gap:?}, before 7 s"
        );
        assert!(gap <= ms(7700) + ms(1), "{gap:?}");
    }
    // Without jitter, exactly the server's wait.
    let log = Log::default();
    let svc =
        RetryLayer::new(no_jitter("t").build().unwrap()).layer(scripted(log.clone(), |n, _| {
            Ok(if n == 0 {
                response_with_retry_after(503, "7")
            } else {
                response(200)
            })
        }));
    svc.oneshot(request("GET")).await.unwrap();
    assert_eq!(log.gaps(), vec![Duration::from_secs(7)]);
}

fn fixed_wall_clock() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_is_never_undercut() {
    let date = httpdate::fmt_http_date(fixed_wall_clock() + Duration::from_secs(5));
    let policy = RetryPolicy::builder("t")
        .classifier(HttpClassifier::with_clock(fixed_wall_clock))
        .no_budget()
        .build()
        .unwrap();
    let log = Log::default();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), move |n, _| {
        Ok(if n == 0 {
            response_with_retry_after(503, &date)
        } else {
            response(200)
        })
    }));
    let start = Instant::now();
    assert_eq!(svc.oneshot(request("GET")).await.unwrap().status(), 200);
    let times = log.times();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - start >= Duration::from_secs(5),
        "{:?}",
        times[1] - start
    );
    assert!(times[1] - start <= ms(5500) + ms(1));
}

#[tokio::test(start_paused = true)]
async fn retry_after_past_the_deadline_gives_up_at_once_with_the_servers_wait() {
    let log = Log::default();
    let retry = RetryLayer::new(RetryPolicy::new("t")).layer(scripted(log.clone(), |_, _| {
        Ok(response_with_retry_after(429, "30"))
    }));
    let svc = DeadlineLayer::new(Duration::from_secs(10)).layer(retry);
    let start = Instant::now();
    let err = svc.oneshot(request("GET")).await.unwrap_err();
    assert_eq!(Instant::now(), start, "gave up without sleeping");
    assert_eq!(log.count(), 1);
    let gave_up = err
        .downcast_ref::<RetryAfterExceeded>()
        .expect("a RetryAfterExceeded error");
    assert_eq!(gave_up.retry_after(), Duration::from_secs(30));
    assert_eq!(gave_up.available(), Duration::from_secs(10));
    assert!(gave_up.is_deadline());
    // It reads as a local rejection carrying the wait, so no outer layer repeats it.
    let rejected = resilience_core::find_in_chain::<Rejected>(&*err).expect("rejected");
    assert_eq!(rejected.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test(start_paused = true)]
async fn retry_after_above_the_maximum_gives_up_at_once() {
    let log = Log::default();
    let svc = RetryLayer::new(RetryPolicy::new("t")).layer(scripted(log.clone(), |_, _| {
        Ok(response_with_retry_after(429, "120"))
    }));
    let err = svc.oneshot(request("GET")).await.unwrap_err();
    let gave_up = err.downcast_ref::<RetryAfterExceeded>().unwrap();
    assert_eq!(gave_up.retry_after(), Duration::from_secs(120));
    assert_eq!(gave_up.available(), Duration::from_secs(60));
    assert!(!gave_up.is_deadline());
    assert_eq!(log.count(), 1);

    // With keep_last_result, the throttled response itself comes back, still without waiting.
    let log = Log::default();
    let policy = RetryPolicy::builder("t")
        .keep_last_result()
        .build()
        .unwrap();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |_, _| {
        Ok(response_with_retry_after(429, "120"))
    }));
    let start = Instant::now();
    assert_eq!(svc.oneshot(request("GET")).await.unwrap().status(), 429);
    assert_eq!((log.count(), Instant::now()), (1, start));
}

#[tokio::test(start_paused = true)]
async fn backoff_that_does_not_fit_the_deadline_returns_the_last_result() {
    let log = Log::default();
    let backoff = Backoff::exponential(Duration::from_secs(2), 2.0, Duration::from_secs(20))
        .unwrap()
        .with_jitter(Jitter::None);
    let retry = RetryLayer::new(no_jitter("t").backoff(backoff).build().unwrap())
        .layer(scripted(log.clone(), |_, _| Ok(response(500))));
    let svc = DeadlineLayer::new(Duration::from_secs(1)).layer(retry);
    let start = Instant::now();
    assert_eq!(svc.oneshot(request("GET")).await.unwrap().status(), 500);
    assert_eq!((log.count(), Instant::now()), (1, start));
}

#[tokio::test(start_paused = true)]
async fn budget_exhaustion_stops_retries_under_a_sustained_outage() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);

    // 20 % of calls, no floor: 100 calls into a dead server may retry ~20 times, not 200.
    let budget = Arc::new(RetryBudget::new(Duration::from_secs(10), 0, 0.2).unwrap());
    let policy = RetryPolicy::builder("outage")
        .jitter(Jitter::None)
        .backoff(Backoff::exponential(ms(10), 2.0, ms(100)).unwrap())
        .budget(Arc::clone(&budget))
        .build()
        .unwrap();
    let log = Log::default();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |_, _| Ok(response(503))));
    for _ in 0..100 {
        let res = svc.clone().oneshot(request("GET")).await.unwrap();
        assert_eq!(res.status(), 503);
    }
    let calls = log.count();
    assert_eq!(calls, 120, "100 first attempts + 20 % of them as retries");
    let counters = Counters::take(&snapshotter);
    let exhausted = counters.get(
        "resilience_retry_budget_exhausted_total",
        &[("service", "outage")],
    );
    assert!(exhausted >= 80, "budget exhausted {exhausted} times");
    let retried = counters.get(
        "resilience_retry_attempts_total",
        &[("service", "outage"), ("reason", "failure")],
    );
    assert_eq!(retried, 20);

    // Without a budget the same outage triples the traffic.
    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("t").build().unwrap())
        .layer(scripted(log.clone(), |_, _| Ok(response(503))));
    for _ in 0..100 {
        svc.clone().oneshot(request("GET")).await.unwrap();
    }
    assert_eq!(log.count(), 300);
}

#[tokio::test(start_paused = true)]
async fn post_is_not_retried_after_an_ambiguous_error() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("pay").build().unwrap())
        .layer(scripted(log.clone(), |_, _| {
            Err(io_error(std::io::ErrorKind::ConnectionReset))
        }));
    assert!(svc.oneshot(request("POST")).await.is_err());
    assert_eq!(log.count(), 1);
    let counters = Counters::take(&snapshotter);
    let gave_up = counters.get(
        "resilience_retry_give_ups_total",
        &[("service", "pay"), ("reason", "not_idempotent")],
    );
    assert_eq!(gave_up, 1);
    // A 500 on a POST may have done the work too: not retried either.
    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("pay").build().unwrap())
        .layer(scripted(log.clone(), |_, _| Ok(response(500))));
    assert_eq!(svc.oneshot(request("PATCH")).await.unwrap().status(), 500);
    assert_eq!(log.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn post_is_retried_when_it_provably_was_not_sent() {
    let log = Log::default();
    let svc =
        RetryLayer::new(no_jitter("t").build().unwrap()).layer(scripted(log.clone(), |n, _| {
            if n == 0 {
                Err(Box::new(NotSent::with_source(std::io::Error::from(
                    std::io::ErrorKind::ConnectionRefused,
                ))) as BoxError)
            } else {
                Ok(response(201))
            }
        }));
    assert_eq!(svc.oneshot(request("POST")).await.unwrap().status(), 201);
    assert_eq!(log.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn post_with_an_idempotency_marker_is_retried() {
    let fail_once = |n: usize, _: &Req| Ok(response(if n == 0 { 500 } else { 200 }));
    // The Idempotency-Key header.
    let log = Log::default();
    let svc =
        RetryLayer::new(no_jitter("t").build().unwrap()).layer(scripted(log.clone(), fail_once));
    let mut req = request("POST");
    req.headers_mut()
        .insert("idempotency-key", "order-17".parse().unwrap());
    assert_eq!(svc.oneshot(req).await.unwrap().status(), 200);
    assert_eq!(log.count(), 2);
    // The Idempotent extension (a batch read sent as POST).
    let log = Log::default();
    let svc =
        RetryLayer::new(no_jitter("t").build().unwrap()).layer(scripted(log.clone(), fail_once));
    let mut req = request("POST");
    req.extensions_mut().insert(Idempotent);
    assert_eq!(svc.oneshot(req).await.unwrap().status(), 200);
    assert_eq!(log.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn throttled_post_is_retried() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);
    for first in [response(429), response_with_retry_after(503, "1")] {
        let log = Log::default();
        let status = first.status();
        let svc = RetryLayer::new(no_jitter("hubspot").build().unwrap()).layer(scripted(
            log.clone(),
            move |n, _| {
                Ok(if n == 0 {
                    response_with_retry_after(status.as_u16(), "1")
                } else {
                    response(200)
                })
            },
        ));
        assert_eq!(svc.oneshot(request("POST")).await.unwrap().status(), 200);
        assert_eq!(log.count(), 2, "{status}");
    }
    let counters = Counters::take(&snapshotter);
    let throttled = counters.get(
        "resilience_retry_attempts_total",
        &[("service", "hubspot"), ("reason", "throttled")],
    );
    assert_eq!(throttled, 2);
}

#[tokio::test(start_paused = true)]
async fn a_local_rejection_is_never_retried() {
    // Even a classifier that calls every error a failure cannot make the policy repeat a
    // rejection by an open breaker.
    let every_error_fails = |r: &Result<Res, BoxError>| match r {
        Ok(res) if res.status().is_success() => Outcome::Success,
        _ => Outcome::Failure,
    };
    let log = Log::default();
    let policy = no_jitter("t")
        .classifier(every_error_fails)
        .build()
        .unwrap();
    let svc = RetryLayer::new(policy).layer(scripted(log.clone(), |_, _| {
        Err(Box::new(Rejected::new(
            "circuit_breaker",
            Some(Duration::from_secs(5)),
        )) as BoxError)
    }));
    let err = svc.oneshot(request("GET")).await.unwrap_err();
    assert!(err.is::<Rejected>());
    assert_eq!(log.count(), 1);
}

/// A body whose size is not known up front (a stream): not replayable.
#[derive(Clone)]
struct StreamingBody;

impl http_body::Body for StreamingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_that_cannot_be_replayed_is_sent_once_and_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("up").build().unwrap())
        .layer(scripted(log.clone(), |_, _| Ok(response(503))));
    let streaming = http::Request::put("http://api.test/blob")
        .body(StreamingBody)
        .unwrap();
    assert_eq!(svc.oneshot(streaming).await.unwrap().status(), 503);
    assert_eq!(log.count(), 1);

    // A streaming POST whose failure is ambiguous would not have been retried anyway.
    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("up").build().unwrap())
        .layer(scripted(log.clone(), |_, _| Ok(response(500))));
    let post = http::Request::post("http://api.test/blob")
        .body(StreamingBody)
        .unwrap();
    assert_eq!(svc.oneshot(post).await.unwrap().status(), 500);
    assert_eq!(log.count(), 1);

    // A body over the replay limit (1 MiB by default) is not copied either.
    let log = Log::default();
    let svc = RetryLayer::new(no_jitter("up").build().unwrap())
        .layer(scripted(log.clone(), |_, _| Ok(response(503))));
    let big = http::Request::put("http://api.test/blob")
        .body(Full::new(Bytes::from(vec![0u8; 1024 * 1024 + 1])))
        .unwrap();
    assert_eq!(svc.clone().oneshot(big).await.unwrap().status(), 503);
    assert_eq!(log.count(), 1);
    // ...while one at the limit is.
    let fits = http::Request::put("http://api.test/blob")
        .body(Full::new(Bytes::from(vec![0u8; 1024 * 1024])))
        .unwrap();
    svc.oneshot(fits).await.unwrap();
    assert_eq!(log.count(), 4);

    let counters = Counters::take(&snapshotter);
    let counted = counters.get(
        "resilience_retry_give_ups_total",
        &[("service", "up"), ("reason", "not_replayable")],
    );
    assert_eq!(counted, 2);
    let attempts = counters.get(
        "resilience_retry_give_ups_total",
        &[("service", "up"), ("reason", "attempts")],
    );
    assert_eq!(attempts, 1);
    let not_idempotent = counters.get(
        "resilience_retry_give_ups_total",
        &[("service", "up"), ("reason", "not_idempotent")],
    );
    assert_eq!(not_idempotent, 1);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_layer_bounds_the_whole_call_including_retries() {
    // Each attempt fails after 3 s; with 1 s backoff, the third attempt starts at 8 s and would
    // end at 11 s, past the 8.5 s deadline.
    let log = Log::default();
    let inner = tower::service_fn({
        let log = log.clone();
        move |_req: Req| {
            log.record();
            async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok::<_, BoxError>(response(500))
            }
        }
    });
    let backoff =
        Backoff::exponential(Duration::from_secs(1), 1.0, Duration::from_secs(1)).unwrap();
    let retry = RetryLayer::new(no_jitter("t").backoff(backoff).build().unwrap()).layer(inner);
    let svc = DeadlineLayer::new(ms(8500)).layer(retry);
    let start = Instant::now();
    let err = svc.oneshot(request("GET")).await.unwrap_err();
    assert_eq!(Instant::now() - start, ms(8500));
    assert!(err.is::<resilience_retry::DeadlineExceeded>());
    assert!(resilience_core::find_in_chain::<TimedOut>(&*err).is_some());
    assert_eq!(log.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_retry_sees_a_deadline_set_by_the_caller() {
    let log = Log::default();
    let svc = RetryLayer::new(RetryPolicy::new("t")).layer(scripted(log.clone(), |_, _| {
        Ok(response_with_retry_after(429, "5"))
    }));
    let mut req = request("GET");
    let at = tokio::time::Instant::now().into_std() + Duration::from_secs(3);
    req.extensions_mut().insert(DeadlineAt(at));
    let err = svc.oneshot(req).await.unwrap_err();
    let gave_up = err.downcast_ref::<RetryAfterExceeded>().unwrap();
    assert_eq!(gave_up.available(), Duration::from_secs(3));
    assert_eq!(log.count(), 1);
}

#[test]
fn layers_and_services_are_debug_and_clone() {
    let layer = RetryLayer::new(RetryPolicy::new("dbg"));
    let svc = layer.clone().layer(tower::service_fn(|_: Req| async {
        Ok::<_, BoxError>(response(200))
    }));
    let _copy = svc.clone();
    let text = format!("{layer:?}");
    assert!(
        text.contains("dbg") && text.contains("max_attempts: 3"),
        "{text}"
    );
}
