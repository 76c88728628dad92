//! Behaviour of the rate-limit layer on tokio's paused clock.

mod common;

use common::*;
use resilience_core::extensions::{Deadline, Operation};
use resilience_core::{BoxError, Outcome, Rejected, find_in_chain};
use resilience_ratelimit::{
    FixedKey, InMemoryStore, NoSignals, RateClass, RateKey, RateLimitLayer, RateLimited,
};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt};

fn rate_limited(err: &BoxError) -> &RateLimited {
    err.downcast_ref::<RateLimited>()
        .unwrap_or_else(|| panic!("expected RateLimited, got {err}"))
}

#[tokio::test(start_paused = true)]
async fn a_burst_is_spread_to_the_configured_rate() {
    let api = Api::ok();
    let svc = RateLimitLayer::new("spread", per_sec(5, 2))
        .with_max_wait(LONG)
        .layer(api.clone());
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..20 {
        set.spawn(svc.clone().oneshot(req("https://api.example.com/x")));
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    let times = api.times_ms(t0);
    assert_eq!(times.len(), 20);
    let mut per_second = [0usize; 5];
    for t in &times {
        per_second[(*t / 1000) as usize] += 1;
    }
    // burst of 2 at t=0, then one every 200 ms: 6 in the first second, 5 after, the last at 3.6 s
    assert_eq!(per_second, [6, 5, 5, 4, 0], "{times:?}");
    let mut sorted = times.clone();
    sorted.sort();
    for pair in sorted[1..].windows(2) {
        assert!(pair[1] - pair[0] >= 200, "{sorted:?}");
    }
    assert_eq!(*sorted.last().unwrap(), 3600);
}

#[tokio::test(start_paused = true)]
async fn burst_capacity_is_honoured_then_a_fast_error_with_the_wait() {
    let api = Api::ok();
    let mut svc = RateLimitLayer::new("burst", per_sec(1, 3))
        .with_max_wait(Duration::ZERO)
        .layer(api.clone());
    for _ in 0..3 {
        svc.ready()
            .await
            .unwrap()
            .call(req("https://a.example/"))
            .await
            .unwrap();
    }
    let err = svc
        .ready()
        .await
        .unwrap()
        .call(req("https://a.example/"))
        .await
        .unwrap_err();
    assert_eq!(rate_limited(&err).wait(), Duration::from_secs(1));
    let rejected = find_in_chain::<Rejected>(&*err).unwrap();
    assert_eq!(rejected.layer(), "rate_limiter");
    assert_eq!(rejected.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(api.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn hubspot_headers_lower_the_rate() {
    let api = Api::new(|n| {
        if n == 0 {
            with_headers(
                200,
                &[
                    ("X-HubSpot-RateLimit-Max", "2"),
                    ("X-HubSpot-RateLimit-Interval-Milliseconds", "1000"),
                    ("X-HubSpot-RateLimit-Remaining", "1"),
                ],
            )
        } else {
            ok()
        }
    });
    let layer = RateLimitLayer::new("learn", per_sec(10, 10)).with_max_wait(LONG);
    let store = layer.store().clone();
    let svc = layer.layer(api.clone());
    let t0 = Instant::now();
    svc.clone()
        .oneshot(req("https://api.hubapi.com/a"))
        .await
        .unwrap();
    let snap = store
        .snapshot(&RateKey::scope("https://api.hubapi.com"), per_sec(10, 10))
        .unwrap();
    assert_eq!(
        snap.effective.emission_interval(),
        Duration::from_millis(500)
    );
    assert_eq!(snap.effective.burst(), 2);
    let mut set = JoinSet::new();
    for _ in 0..4 {
        set.spawn(svc.clone().oneshot(req("https://api.hubapi.com/b")));
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    // one permit left now (remaining = 1), then one every 500 ms instead of every 100 ms
    assert_eq!(api.times_ms(t0), vec![0, 0, 500, 1000, 1500]);
}

#[tokio::test(start_paused = true)]
async fn remaining_zero_pauses_until_the_interval_ends() {
    let api = Api::new(|n| {
        if n == 0 {
            with_headers(
                200,
                &[
                    ("X-HubSpot-RateLimit-Max", "100"),
                    ("X-HubSpot-RateLimit-Interval-Milliseconds", "2000"),
                    ("X-HubSpot-RateLimit-Remaining", "0"),
                ],
            )
        } else {
            ok()
        }
    });
    let svc = RateLimitLayer::new("remaining0", per_sec(10, 10))
        .with_max_wait(LONG)
        .layer(api.clone());
    let t0 = Instant::now();
    svc.clone()
        .oneshot(req("https://api.hubapi.com/a"))
        .await
        .unwrap();
    let mut set = JoinSet::new();
    for _ in 0..3 {
        set.spawn(svc.clone().oneshot(req("https://api.hubapi.com/b")));
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    // paused for the 2 s interval; waiters leave one interval apart after it, no burst
    assert_eq!(api.times_ms(t0), vec![0, 2000, 2100, 2200]);
}

#[tokio::test(start_paused = true)]
async fn ietf_headers_lower_the_rate_and_pause() {
    let api = Api::new(|n| match n {
        0 => with_headers(
            200,
            &[
                ("RateLimit-Policy", "\"default\";q=2;w=1"),
                ("RateLimit", "\"default\";r=0;t=3"),
            ],
        ),
        _ => ok(),
    });
    let svc = RateLimitLayer::new("ietf", per_sec(10, 10))
        .with_max_wait(LONG)
        .layer(api.clone());
    let t0 = Instant::now();
    svc.clone()
        .oneshot(req("https://x.example/a"))
        .await
        .unwrap();
    svc.clone()
        .oneshot(req("https://x.example/a"))
        .await
        .unwrap();
    svc.clone()
        .oneshot(req("https://x.example/a"))
        .await
        .unwrap();
    assert_eq!(api.times_ms(t0), vec![0, 3000, 3500]);
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_pauses_the_key_for_every_waiter() {
    let api = Api::new(|n| {
        if n == 0 {
            with_headers(429, &[("Retry-After", "3")])
        } else {
            ok()
        }
    });
    let svc = RateLimitLayer::new("429", per_sec(10, 1))
        .with_max_wait(LONG)
        .layer(api.clone());
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    // the first gets the 429 at t=0; the other four are already queued at 100..400 ms
    for _ in 0..5 {
        set.spawn(svc.clone().oneshot(req("https://api.hubapi.com/x")));
    }
    let mut statuses = Vec::new();
    while let Some(done) = set.join_next().await {
        statuses.push(done.unwrap().unwrap().status().as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 200, 200, 429]);
    let times = api.times_ms(t0);
    assert_eq!(times[0], 0);
    assert!(times[1..].iter().all(|t| *t >= 3000), "{times:?}");
    assert_eq!(times, vec![0, 3000, 3100, 3200, 3300]);
}

#[tokio::test(start_paused = true)]
async fn a_throttle_without_retry_after_pauses_for_the_configured_pause() {
    let api = Api::new(|n| if n == 0 { with_headers(429, &[]) } else { ok() });
    let svc = RateLimitLayer::new("429-bare", per_sec(10, 5))
        .with_throttle_pause(Duration::from_millis(1500))
        .layer(api.clone());
    let t0 = Instant::now();
    svc.clone()
        .oneshot(req("https://a.example/"))
        .await
        .unwrap();
    svc.clone()
        .oneshot(req("https://a.example/"))
        .await
        .unwrap();
    assert_eq!(api.times_ms(t0), vec![0, 1500]);
}

#[tokio::test(start_paused = true)]
async fn the_wait_never_exceeds_the_deadline() {
    let api = Api::ok();
    let svc = RateLimitLayer::new("deadline", per_sec(1, 1))
        .with_max_wait(LONG)
        .layer(api.clone());
    let t0 = Instant::now();
    svc.clone()
        .oneshot(req("https://a.example/"))
        .await
        .unwrap();

    let mut tight = req("https://a.example/");
    tight.extensions_mut().insert(Deadline(
        (Instant::now() + Duration::from_millis(300)).into_std(),
    ));
    let err = svc.clone().oneshot(tight).await.unwrap_err();
    assert_eq!(rate_limited(&err).wait(), Duration::from_secs(1));
    assert_eq!(Instant::now(), t0, "the rejection is immediate, no waiting");
    assert_eq!(api.count(), 1);

    let mut roomy = req("https://a.example/");
    roomy.extensions_mut().insert(Deadline(
        (Instant::now() + Duration::from_secs(2)).into_std(),
    ));
    svc.clone().oneshot(roomy).await.unwrap();
    assert_eq!(api.times_ms(t0), vec![0, 1000]);

    // a deadline already passed: only an immediately available permit would do
    let mut late = req("https://a.example/");
    late.extensions_mut().insert(Deadline(t0.into_std()));
    let err = svc.clone().oneshot(late).await.unwrap_err();
    assert_eq!(rate_limited(&err).wait(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn max_wait_bounds_the_wait_without_a_deadline() {
    let api = Api::ok();
    let svc = RateLimitLayer::new("maxwait", per_sec(1, 1))
        .with_max_wait(Duration::from_millis(999))
        .layer(api.clone());
    svc.clone()
        .oneshot(req("https://a.example/"))
        .await
        .unwrap();
    let err = svc
        .clone()
        .oneshot(req("https://a.example/"))
        .await
        .unwrap_err();
    assert_eq!(rate_limited(&err).wait(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn keys_are_independent() {
    let api = Api::ok();
    let svc = RateLimitLayer::new("keys", per_sec(1, 1))
        .with_quota("search", per_sec(5, 1))
        .with_max_wait(Duration::ZERO)
        .layer(api.clone());
    let call =
        |uri: &str, auth: Option<&str>, class: Option<&'static str>, op: Option<&'static str>| {
            let mut r = req(uri);
            if let Some(a) = auth {
                r.headers_mut().insert("authorization", a.parse().unwrap());
            }
            if let Some(c) = class {
                r.extensions_mut().insert(RateClass::new(c));
            }
            if let Some(o) = op {
                r.extensions_mut().insert(Operation::new(o));
            }
            svc.clone().oneshot(r)
        };
    call("https://a.example/1", None, None, None).await.unwrap();
    assert!(call("https://a.example/2", None, None, None).await.is_err());
    // another host, another token on the same host: their own buckets
    call("https://b.example/1", None, None, None).await.unwrap();
    call("https://a.example/1", Some("Bearer one"), None, None)
        .await
        .unwrap();
    call("https://a.example/1", Some("Bearer two"), None, None)
        .await
        .unwrap();
    assert!(
        call("https://a.example/1", Some("Bearer one"), None, None)
            .await
            .is_err()
    );
    // a class with its own quota is its own bucket; an operation without one shares "default"
    call("https://a.example/search", None, Some("search"), None)
        .await
        .unwrap();
    assert!(
        call("https://a.example/search", None, Some("search"), None)
            .await
            .is_err()
    );
    assert!(
        call("https://a.example/get", None, None, Some("contacts.get"))
            .await
            .is_err()
    );
    assert_eq!(api.count(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_learned_rate_never_exceeds_the_configured_maximum() {
    let generous = || {
        with_headers(
            200,
            &[
                ("X-HubSpot-RateLimit-Max", "1000"),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", "1000"),
                ("X-HubSpot-RateLimit-Remaining", "999"),
                ("RateLimit-Policy", "1000;w=1"),
                ("RateLimit", "limit=1000, remaining=999, reset=1"),
            ],
        )
    };
    let api = Api::new(move |_| generous());
    let layer = RateLimitLayer::new("nohigher", per_sec(5, 1)).with_max_wait(LONG);
    let store = layer.store().clone();
    let svc = layer.layer(api.clone());
    let t0 = Instant::now();
    for _ in 0..6 {
        svc.clone()
            .oneshot(req("https://a.example/"))
            .await
            .unwrap();
    }
    assert_eq!(api.times_ms(t0), vec![0, 200, 400, 600, 800, 1000]);
    let snap = store
        .snapshot(&RateKey::scope("https://a.example"), per_sec(5, 1))
        .unwrap();
    assert_eq!(snap.effective, per_sec(5, 1));
    assert_eq!(snap.learned_for, None);
}

#[tokio::test(start_paused = true)]
async fn a_learned_limit_decays_back_after_its_window() {
    let api = Api::new(|n| {
        if n == 0 {
            with_headers(
                200,
                &[
                    ("X-HubSpot-RateLimit-Max", "1"),
                    ("X-HubSpot-RateLimit-Interval-Milliseconds", "1000"),
                ],
            )
        } else {
            ok()
        }
    });
    let svc = RateLimitLayer::new("decay", per_sec(10, 1))
        .with_max_wait(LONG)
        .layer(api.clone());
    let t0 = Instant::now();
    for _ in 0..5 {
        svc.clone()
            .oneshot(req("https://a.example/"))
            .await
            .unwrap();
    }
    // The header lands at t=0 with the first response and holds until t=1 s. Permits are
    // charged at the rate in force when they are reserved: the permits reserved at 0 and
    // 100 ms cost 1 s each; the one reserved at 1.1 s costs the configured 100 ms again.
    assert_eq!(api.times_ms(t0), vec![0, 100, 1100, 2100, 2200]);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_gives_its_permit_back() {
    let api = Api::ok();
    let svc = RateLimitLayer::new("cancel", per_sec(1, 1))
        .with_max_wait(LONG)
        .layer(api.clone());
    let t0 = Instant::now();
    svc.clone()
        .oneshot(req("https://a.example/"))
        .await
        .unwrap();
    // this one would go at 1 s; its caller gives up at 0.5 s
    let gave_up = tokio::time::timeout(
        Duration::from_millis(500),
        svc.clone().oneshot(req("https://a.example/")),
    )
    .await;
    assert!(gave_up.is_err());
    // the next caller gets the freed slot at 1 s, not 2 s
    svc.clone()
        .oneshot(req("https://a.example/"))
        .await
        .unwrap();
    assert_eq!(api.times_ms(t0), vec![0, 1000]);
}

#[tokio::test(start_paused = true)]
async fn poll_ready_stays_ready_and_an_unsent_permit_is_returned() {
    let (mock, mut handle) = tower_test::mock::pair::<Req, Res>();
    handle.allow(0);
    let mut svc = RateLimitLayer::new("notready", per_sec(1, 1))
        .with_max_wait(Duration::ZERO)
        .layer(mock);
    // ready even though the inner service is not
    let first = svc.ready().await.unwrap().call(req("https://a.example/"));
    let task = tokio::spawn(first);
    tokio::time::advance(Duration::from_millis(10)).await;
    tokio::task::yield_now().await;
    assert!(!task.is_finished());
    // the caller gives up while the inner service is still not ready: the request was never
    // sent, so the permit comes back and the next request does not have to wait
    task.abort();
    let _ = task.await;
    handle.allow(1);
    let second = tokio::spawn(svc.ready().await.unwrap().call(req("https://a.example/")));
    let (_request, respond) = handle.next_request().await.unwrap();
    respond.send_response(ok());
    second.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn any_service_with_a_fixed_key_and_its_own_classifier() {
    #[derive(Clone)]
    struct Db {
        calls: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
    }
    impl tower::Service<u32> for Db {
        type Response = &'static str;
        type Error = BoxError;
        type Future = std::future::Ready<Result<&'static str, BoxError>>;
        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), BoxError>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, n: u32) -> Self::Future {
            self.calls.lock().unwrap().push(Instant::now());
            std::future::ready(Ok(if n == 0 { "busy" } else { "done" }))
        }
    }
    let db = Db {
        calls: Default::default(),
    };
    let classify = |r: &Result<&'static str, BoxError>| match r {
        Ok("busy") => Outcome::Throttled {
            retry_after: Some(Duration::from_secs(2)),
        },
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    };
    let svc = RateLimitLayer::new("db", per_sec(100, 10))
        .with_key_fn(FixedKey(RateKey::scope("db")))
        .with_classifier(classify)
        .with_signals(NoSignals)
        .with_store(InMemoryStore::with_max_keys(16))
        .layer(db.clone());
    let t0 = Instant::now();
    assert_eq!(svc.clone().oneshot(0).await.unwrap(), "busy");
    assert_eq!(svc.clone().oneshot(1).await.unwrap(), "done");
    let times: Vec<_> = db
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.duration_since(t0))
        .collect();
    assert_eq!(times, vec![Duration::ZERO, Duration::from_secs(2)]);
}

#[tokio::test(start_paused = true)]
async fn clones_and_separate_layers_sharing_a_store_share_the_budget() {
    let store = InMemoryStore::new();
    let api = Api::ok();
    let a = RateLimitLayer::new("shared", per_sec(1, 1))
        .with_max_wait(Duration::ZERO)
        .with_store(store.clone())
        .layer(api.clone());
    let b = RateLimitLayer::new("shared", per_sec(1, 1))
        .with_max_wait(Duration::ZERO)
        .with_store(store)
        .layer(api.clone());
    a.clone().oneshot(req("https://a.example/")).await.unwrap();
    assert!(b.clone().oneshot(req("https://a.example/")).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_waiter_moved_behind_a_pause_still_respects_its_deadline() {
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = calls.clone();
    // the first call is answered after 50 ms with a 429 asking for 3 s
    let slow = tower::service_fn(move |_req: Req| {
        let n = {
            let mut c = recorded.lock().unwrap();
            c.push(Instant::now());
            c.len() - 1
        };
        async move {
            if n == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, BoxError>(with_headers(429, &[("Retry-After", "3")]))
            } else {
                Ok(ok())
            }
        }
    });
    let svc = RateLimitLayer::new("pause-deadline", per_sec(10, 1))
        .with_max_wait(LONG)
        .layer(slow);
    let t0 = Instant::now();
    let first = tokio::spawn(svc.clone().oneshot(req("https://a.example/")));
    tokio::task::yield_now().await;
    // reserved for 100 ms, before the 429 arrives; may spend 1 s in all
    let mut with_deadline = req("https://a.example/");
    with_deadline
        .extensions_mut()
        .insert(Deadline((t0 + Duration::from_secs(1)).into_std()));
    let bounded = tokio::spawn(svc.clone().oneshot(with_deadline));
    // reserved for 200 ms, no deadline
    let patient = tokio::spawn(svc.clone().oneshot(req("https://a.example/")));

    assert_eq!(first.await.unwrap().unwrap().status(), 429);
    let err = bounded.await.unwrap().unwrap_err();
    // it woke at 100 ms, found the key paused until 3.05 s, and gave up at once
    assert_eq!(
        Instant::now().duration_since(t0),
        Duration::from_millis(100)
    );
    assert_eq!(rate_limited(&err).wait(), Duration::from_millis(2950));
    assert_eq!(patient.await.unwrap().unwrap().status(), 200);
    let times: Vec<u128> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.duration_since(t0).as_millis())
        .collect();
    assert_eq!(times, vec![0, 3050]);
}
