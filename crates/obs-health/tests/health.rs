//! HealthChecker aggregation, timeouts, caching, and the HTTP service (paused clock).

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use obs_health::{
    BreakerState, Health, HealthCheck, HealthCheckExt, HealthChecker, HealthService, HttpProbe,
    Observation, Status, breaker_check, check_fn,
};
use resilience_core::BoxError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Pass,
    Warn,
    Fail,
    Timeout,
}

/// A check named `name` that behaves as `kind` after 10 ms (or hangs, for `Timeout`), with a
/// 1 s timeout.
fn check(name: &str, kind: Kind, optional: bool) -> impl HealthCheck + 'static {
    let c = check_fn(name.to_owned(), move || async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        match kind {
            Kind::Pass => Ok(Observation::pass()),
            Kind::Warn => Ok(Observation::warn("slow responses")),
            Kind::Fail => Err::<Observation, BoxError>("connection refused".into()),
            Kind::Timeout => std::future::pending().await,
        }
    })
    .with_timeout(Duration::from_secs(1));
    if optional {
        c.mark_optional()
    } else {
        c.mark_required()
    }
}

async fn health_of(checks: &[(Kind, bool)]) -> Health {
    let mut builder = HealthChecker::builder();
    for (i, (kind, optional)) in checks.iter().enumerate() {
        builder = builder.check(check(&format!("c{i}"), *kind, *optional));
    }
    builder.build().run().await.health()
}

#[tokio::test(start_paused = true)]
async fn aggregation_table() {
    use Health::{Degraded, Healthy, Unhealthy};
    use Kind::{Fail, Pass, Timeout, Warn};
    const REQ: bool = false;
    const OPT: bool = true;
    let table: &[(&[(Kind, bool)], Health)] = &[
        (&[], Healthy),
        // One check: required/optional × pass/warn/fail/timeout.
        (&[(Pass, REQ)], Healthy),
        (&[(Pass, OPT)], Healthy),
        (&[(Warn, REQ)], Degraded),
        (&[(Warn, OPT)], Degraded),
        (&[(Fail, REQ)], Unhealthy),
        (&[(Fail, OPT)], Degraded),
        (&[(Timeout, REQ)], Unhealthy),
        (&[(Timeout, OPT)], Degraded),
        // Two checks: the worst effective status wins.
        (&[(Pass, REQ), (Pass, OPT)], Healthy),
        (&[(Pass, REQ), (Fail, OPT)], Degraded),
        (&[(Pass, REQ), (Timeout, OPT)], Degraded),
        (&[(Fail, REQ), (Pass, OPT)], Unhealthy),
        (&[(Timeout, REQ), (Pass, OPT)], Unhealthy),
        (&[(Fail, REQ), (Fail, OPT)], Unhealthy),
        (&[(Timeout, REQ), (Timeout, OPT)], Unhealthy),
        (&[(Fail, OPT), (Timeout, OPT)], Degraded),
        (&[(Pass, REQ), (Fail, REQ)], Unhealthy),
        (&[(Pass, REQ), (Timeout, REQ)], Unhealthy),
        (&[(Warn, REQ), (Fail, OPT)], Degraded),
        (&[(Warn, OPT), (Fail, REQ)], Unhealthy),
    ];
    for (checks, expected) in table {
        assert_eq!(health_of(checks).await, *expected, "{checks:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_check_times_out_without_delaying_the_others() {
    let checker = HealthChecker::builder()
        .check(check_fn("hangs", || {
            std::future::pending::<Result<(), BoxError>>()
        }))
        .check(check_fn("fast", || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(())
        }))
        .check(
            check_fn("slow", || async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok(())
            })
            .with_timeout(Duration::from_secs(3)),
        )
        .build();

    let start = Instant::now();
    let report = checker.run().await;
    // All checks ran concurrently: the report arrives at the hanging check's 5 s timeout, not
    // after 5 s + 2 s + 10 ms.
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(report.duration(), Duration::from_secs(5));
    assert_eq!(report.health(), Health::Unhealthy);

    let hangs = report.check("hangs").unwrap();
    assert!(hangs.timed_out);
    assert_eq!(hangs.status, Status::Fail);
    assert_eq!(hangs.duration, Duration::from_secs(5));
    assert_eq!(hangs.output.as_deref(), Some("timed out after 5000 ms"));

    let fast = report.check("fast").unwrap();
    assert_eq!(
        (fast.status, fast.duration, fast.timed_out),
        (Status::Pass, Duration::from_millis(10), false)
    );
    let slow = report.check("slow").unwrap();
    assert_eq!(
        (slow.status, slow.duration),
        (Status::Pass, Duration::from_secs(2))
    );
    assert_eq!(
        report.summary().unwrap(),
        "unhealthy: required check(s) failing: hangs"
    );
}

fn counting(runs: &Arc<AtomicUsize>, delay: Duration) -> impl HealthCheck + 'static {
    let runs = Arc::clone(runs);
    check_fn("counted", move || {
        let runs = Arc::clone(&runs);
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            Ok(())
        }
    })
}

#[tokio::test(start_paused = true)]
async fn reports_are_cached_for_the_configured_time() {
    let runs = Arc::new(AtomicUsize::new(0));
    let checker = HealthChecker::builder()
        .check(counting(&runs, Duration::ZERO))
        .cache_ttl(Duration::from_secs(2))
        .build();

    let first = checker.report().await;
    let again = checker.report().await;
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    tokio::time::advance(Duration::from_millis(1999)).await;
    checker.report().await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "still inside the cache window"
    );

    tokio::time::advance(Duration::from_millis(1)).await;
    let fresh = checker.report().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the window ended");
    assert!(!Arc::ptr_eq(&first, &fresh));

    // `run` always bypasses the cache.
    checker.run().await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let checker = HealthChecker::builder()
        .check(counting(&runs, Duration::from_millis(100)))
        .build();
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let checker = checker.clone();
            tokio::spawn(async move { checker.report().await })
        })
        .collect();
    let mut reports = Vec::new();
    for caller in callers {
        reports.push(caller.await.unwrap());
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(reports.iter().all(|r| Arc::ptr_eq(r, &reports[0])));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_refresh_lets_the_next_caller_run_the_checks() {
    let runs = Arc::new(AtomicUsize::new(0));
    let checker = HealthChecker::builder()
        .check(counting(&runs, Duration::from_millis(100)))
        .build();
    let abandoned = tokio::time::timeout(Duration::from_millis(50), checker.report()).await;
    assert!(abandoned.is_err());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let report = checker.report().await;
    assert_eq!(report.health(), Health::Healthy);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn breaker_check_states() {
    let cases = [
        (BreakerState::Closed, true, Health::Healthy, Status::Pass),
        (BreakerState::Disabled, true, Health::Healthy, Status::Pass),
        (BreakerState::HalfOpen, true, Health::Degraded, Status::Warn),
        (
            BreakerState::HalfOpen,
            false,
            Health::Degraded,
            Status::Warn,
        ),
        (BreakerState::Open, true, Health::Degraded, Status::Fail),
        (
            BreakerState::ForcedOpen,
            true,
            Health::Degraded,
            Status::Fail,
        ),
        (BreakerState::Open, false, Health::Unhealthy, Status::Fail),
    ];
    for (state, optional, health, status) in cases {
        let check = breaker_check("hubspot", move || state);
        let checker = if optional {
            HealthChecker::builder().check(check)
        } else {
            HealthChecker::builder().check(check.required())
        }
        .build();
        let report = checker.run().await;
        assert_eq!(report.health(), health, "{state} optional={optional}");
        let result = report.check("hubspot").unwrap();
        assert_eq!(result.status, status, "{state}");
        let measurement = result.measurement.as_ref().unwrap();
        assert_eq!(
            (measurement.name.as_str(), &measurement.value),
            ("state", &serde_json::json!(state.as_str()))
        );
    }
    assert_eq!(BreakerState::Open.gauge_value(), 2.0);
    assert_eq!(BreakerState::HalfOpen.gauge_value(), 1.0);
}

#[tokio::test(start_paused = true)]
async fn errors_and_panics_become_failures_with_output() {
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("query failed")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let checker = HealthChecker::builder()
        .check(check_fn("db", || async {
            Err::<(), BoxError>(Box::new(Outer(std::io::Error::other("connection reset"))))
        }))
        .check(check_fn("buggy", || async {
            if true {
                panic!("bug in a check");
            }
            Ok(())
        }))
        .build();
    let report = checker.run().await;
    assert_eq!(
        report.check("db").unwrap().output.as_deref(),
        Some("query failed: connection reset")
    );
    assert_eq!(
        report.check("buggy").unwrap().output.as_deref(),
        Some("check panicked")
    );
    assert_eq!(report.health(), Health::Unhealthy);
}

fn fixed_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_862_617_123)
}

async fn send(
    service: &HealthService,
    method: &str,
    path: &str,
) -> (StatusCode, http::HeaderMap, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test(start_paused = true)]
async fn http_service_status_codes_headers_and_json() {
    let required_ok = Arc::new(AtomicUsize::new(1));
    let optional_ok = Arc::new(AtomicUsize::new(1));
    let runs = Arc::new(AtomicUsize::new(0));
    let flag_check = |name: &'static str, flag: &Arc<AtomicUsize>| {
        let flag = Arc::clone(flag);
        let runs = Arc::clone(&runs);
        check_fn(name, move || {
            let ok = flag.load(Ordering::SeqCst) == 1;
            runs.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(12)).await;
                if ok {
                    Ok(())
                } else {
                    Err::<(), BoxError>("connection refused".into())
                }
            }
        })
    };
    let checker = HealthChecker::builder()
        .check(flag_check("database", &required_ok).with_component_type("datastore"))
        .check(flag_check("manychat", &optional_ok).mark_optional())
        .cache_ttl(Duration::ZERO)
        .version("1")
        .release_id("0.1.0")
        .service_id("integrations")
        .description("HubSpot and ManyChat integrations")
        .wall_clock(fixed_clock)
        .build();
    let service = HealthService::new(checker);

    // Healthy.
    let (status, headers, body) = send(&service, "GET", "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/health+json");
    assert_eq!(headers["cache-control"], "no-store");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "status": "pass",
            "version": "1",
            "releaseId": "0.1.0",
            "serviceId": "integrations",
            "description": "HubSpot and ManyChat integrations",
            "time": "2026-11-28T10:43:37.123Z",
            "checks": {
                "database:responseTime": [{
                    "status": "pass",
                    "componentType": "datastore",
                    "observedValue": 12.0,
                    "observedUnit": "ms",
                    "time": "2026-11-28T10:43:37.123Z"
                }],
                "manychat:responseTime": [{
                    "status": "pass",
                    "observedValue": 12.0,
                    "observedUnit": "ms",
                    "time": "2026-11-28T10:43:37.123Z",
                    "optional": true
                }]
            }
        })
    );

    // An optional dependency down: degraded, still 200.
    optional_ok.store(0, Ordering::SeqCst);
    let (status, _, body) = send(&service, "GET", "/health").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "warn");
    assert_eq!(
        json["output"],
        "degraded: check(s) failing or warning: manychat"
    );
    assert_eq!(json["checks"]["manychat:responseTime"][0]["status"], "fail");
    assert_eq!(
        json["checks"]["manychat:responseTime"][0]["output"],
        "connection refused"
    );

    // A required dependency down: 503, with the same headers.
    required_ok.store(0, Ordering::SeqCst);
    let (status, headers, body) = send(&service, "GET", "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["content-type"], "application/health+json");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "fail");
    let parsed: obs_health::HealthResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed.status, Status::Fail);

    // HEAD: same status and headers, no body.
    let (status, headers, body) = send(&service, "HEAD", "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["content-type"], "application/health+json");
    assert!(body.is_empty());

    // Liveness never calls a dependency, and passes while readiness fails.
    let before = runs.load(Ordering::SeqCst);
    let (status, headers, body) = send(&service, "GET", "/health/live").await;
    assert_eq!(runs.load(Ordering::SeqCst), before);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "pass");
    assert_eq!(json["serviceId"], "integrations");
    assert_eq!(json["checks"]["uptime"][0]["observedUnit"], "s");
    assert_eq!(json["checks"]["uptime"][0]["componentType"], "system");

    // Other paths and methods.
    assert_eq!(
        send(&service, "GET", "/healthz").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(send(&service, "GET", "/").await.0, StatusCode::NOT_FOUND);
    let (status, headers, _) = send(&service, "POST", "/health").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, HEAD");
    assert_eq!(
        send(&service, "DELETE", "/health/live").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

/// Serves `service_fn`-style handlers with hyper on 127.0.0.1:0.
async fn serve<F, Fut>(handler: F) -> std::net::SocketAddr
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<http::Response<Full<Bytes>>, std::convert::Infallible>>
        + Send
        + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let handler = handler.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(stream),
                        hyper::service::service_fn(handler),
                    )
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn http_probe_and_health_service_over_real_sockets() {
    // The "dependency": answers with whatever status the test sets.
    let dependency_status = Arc::new(AtomicU16::new(200));
    let seen = Arc::new(AtomicUsize::new(0));
    let dep_addr = {
        let status = Arc::clone(&dependency_status);
        let seen = Arc::clone(&seen);
        serve(move |request: Request<hyper::body::Incoming>| {
            let status = status.load(Ordering::SeqCst);
            seen.fetch_add(1, Ordering::SeqCst);
            assert_eq!(request.method(), http::Method::GET);
            assert_eq!(request.uri().path(), "/ping");
            async move {
                let mut response = http::Response::new(Full::new(Bytes::from_static(b"{}")));
                *response.status_mut() = StatusCode::from_u16(status).unwrap();
                Ok(response)
            }
        })
        .await
    };
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let probe = HttpProbe::new(
        "dependency",
        client.clone(),
        format!("http://{dep_addr}/ping").parse().unwrap(),
    );
    let checker = HealthChecker::builder()
        .check(probe)
        .cache_ttl(Duration::ZERO)
        .build();

    // Our health endpoint, served by hyper.
    let health = HealthService::new(checker);
    let health_addr = serve(move |request: Request<hyper::body::Incoming>| {
        let mut health = health.clone();
        tower::Service::call(&mut health, request)
    })
    .await;
    let get = |path: &'static str| {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("http://{health_addr}{path}").parse().unwrap())
                .await
                .unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            )
        }
    };

    let (status, json) = get("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json["checks"]["dependency:responseTime"][0]["status"],
        "pass"
    );
    assert_eq!(json["checks"]["dependency:status"][0]["observedValue"], 200);
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    dependency_status.store(500, Ordering::SeqCst);
    let (status, json) = get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        json["checks"]["dependency:responseTime"][0]["output"],
        "unexpected status 500 Internal Server Error"
    );

    let (status, json) = get("/health/live").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "pass");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "liveness did not call the dependency"
    );

    // A dependency that refuses connections fails the probe with the transport's error.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let refused = HttpProbe::new(
        "gone",
        client,
        format!("http://{closed}/ping").parse().unwrap(),
    );
    let report = HealthChecker::builder().check(refused).build().run().await;
    let gone = report.check("gone").unwrap();
    assert_eq!(gone.status, Status::Fail);
    assert!(gone.output.as_deref().is_some_and(|o| !o.is_empty()));
}
