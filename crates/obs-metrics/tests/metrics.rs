//! MetricsLayer end to end: a scripted sequence of calls through the layer over a tiny service,
//! read back from a local Prometheus recorder (no global recorder, so tests run in parallel).

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use obs_metrics::testing::TestRecorder;
use obs_metrics::{
    ByOutcome, DEFAULT_DURATION_BUCKETS, FixedOperation, MetricsLayer, PrometheusConfig,
};
use resilience_core::extensions::Operation;
use resilience_core::{BoxError, Outcome, Rejected, TimedOut};
use std::future::poll_fn;
use std::pin::pin;
use std::time::Duration;
use tower::timeout::TimeoutLayer;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// What the tiny service does, chosen by the request's URI path.
async fn scripted(request: Request<()>) -> Result<Response<()>, BoxError> {
    let respond = |code: u16| Ok(Response::builder().status(code).body(()).unwrap());
    match request.uri().path() {
        "/ok" => {
            tokio::time::sleep(Duration::from_millis(20)).await;
            respond(200)
        }
        "/not-found" => respond(404),
        "/unavailable" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            respond(503)
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            respond(200)
        }
        "/deadline" => Err(Box::new(TimedOut)),
        "/breaker" => Err(Box::new(Rejected::new(
            "circuit_breaker",
            Some(Duration::from_secs(5)),
        ))),
        "/limited" => Err(Box::new(Rejected::new("rate_limiter", None))),
        "/reset" => Err(Box::new(std::io::Error::other("connection reset"))),
        "/hang" => std::future::pending().await,
        other => panic!("unscripted path {other}"),
    }
}

fn request(path: &str, operation: Option<&'static str>) -> Request<()> {
    let mut request = Request::get(path).body(()).unwrap();
    if let Some(op) = operation {
        request.extensions_mut().insert(Operation::new(op));
    }
    request
}

#[tokio::test(start_paused = true)]
async fn prometheus_text_after_a_scripted_sequence() {
    let (recorder, exporter) = PrometheusConfig::new().build();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let mut service = ServiceBuilder::new()
        .layer(MetricsLayer::new("hubspot").unwrap())
        .layer(TimeoutLayer::new(Duration::from_secs(1)))
        .service(service_fn(scripted));

    let calls: &[(&str, &str, bool)] = &[
        ("/ok", "contacts.get", true),
        ("/ok", "contacts.get", true),
        ("/not-found", "contacts.get", true),
        ("/unavailable", "contacts.get", true),
        ("/slow", "contacts.search", false), // tower's Elapsed after 1 s
        ("/deadline", "contacts.search", false),
        ("/breaker", "contacts.search", false),
        ("/limited", "contacts.search", false),
        ("/reset", "contacts.search", false),
    ];
    for (path, op, ok) in calls {
        let result = service
            .ready()
            .await
            .unwrap()
            .call(request(path, Some(op)))
            .await;
        assert_eq!(result.is_ok(), *ok, "{path}");
    }

    // Cancelled: the response future is polled once, then dropped by a caller that gives up.
    {
        let mut fut = pin!(
            service
                .ready()
                .await
                .unwrap()
                .call(request("/hang", Some("contacts.get")))
        );
        poll_fn(|cx| {
            assert!(fut.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    // No operation extension: labelled `unknown`, never the path.
    service
        .ready()
        .await
        .unwrap()
        .call(request("/not-found", None))
        .await
        .unwrap();

    let text = exporter.render();
    let expect = [
        r#"hubspot_api_requests_total{operation="contacts.get",status="2xx"} 2"#,
        r#"hubspot_api_requests_total{operation="contacts.get",status="4xx"} 1"#,
        r#"hubspot_api_requests_total{operation="contacts.get",status="5xx"} 1"#,
        r#"hubspot_api_requests_total{operation="contacts.get",status="cancelled"} 1"#,
        r#"hubspot_api_requests_total{operation="contacts.search",status="timeout"} 2"#,
        r#"hubspot_api_requests_total{operation="contacts.search",status="breaker_open"} 1"#,
        r#"hubspot_api_requests_total{operation="contacts.search",status="rate_limited"} 1"#,
        r#"hubspot_api_requests_total{operation="contacts.search",status="error"} 1"#,
        r#"hubspot_api_requests_total{operation="unknown",status="4xx"} 1"#,
        "# TYPE hubspot_api_requests_total counter",
        "# TYPE hubspot_api_request_duration_seconds histogram",
        "# TYPE hubspot_api_requests_in_flight gauge",
        "# HELP hubspot_api_request_duration_seconds",
        // contacts.get: 20 ms, 20 ms, 0 ms, 300 ms, cancelled after 40 ms.
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.get",le="0.005"} 1"#,
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.get",le="0.025"} 3"#,
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.get",le="0.05"} 4"#,
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.get",le="0.25"} 4"#,
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.get",le="0.5"} 5"#,
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.get",le="+Inf"} 5"#,
        r#"hubspot_api_request_duration_seconds_count{operation="contacts.get"} 5"#,
        // contacts.search: the tower timeout fired at exactly 1 s (paused clock), the rest at 0.
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.search",le="0.5"} 4"#,
        r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.search",le="1"} 5"#,
        r#"hubspot_api_request_duration_seconds_sum{operation="contacts.search"} 1"#,
        r#"hubspot_api_requests_in_flight{operation="contacts.get"} 0"#,
        r#"hubspot_api_requests_in_flight{operation="contacts.search"} 0"#,
    ];
    for line in expect {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // Every default bucket is rendered: a real histogram, not a summary.
    for bound in DEFAULT_DURATION_BUCKETS {
        let le = format!(
            r#"hubspot_api_request_duration_seconds_bucket{{operation="contacts.get",le="{bound}"}}"#
        );
        assert!(text.contains(&le), "missing bucket {bound} in:\n{text}");
    }
    assert!(!text.contains("quantile"), "{text}");
    assert!(!text.contains("/not-found"), "a path leaked into a label");

    // The JSON snapshot tells the same story.
    let snapshot = exporter.snapshot();
    assert_eq!(
        snapshot.counter(
            "hubspot_api_requests_total",
            &[("operation", "contacts.search"), ("status", "timeout")]
        ),
        Some(2.0)
    );
    let h = snapshot
        .histogram(
            "hubspot_api_request_duration_seconds",
            &[("operation", "contacts.get")],
        )
        .unwrap();
    assert_eq!(h.count, 5);
    assert!((h.sum - 0.38).abs() < 1e-9, "{}", h.sum);
    assert_eq!(h.buckets.len(), DEFAULT_DURATION_BUCKETS.len());
}

#[tokio::test(start_paused = true)]
async fn in_flight_gauge_counts_pending_calls_and_returns_to_zero() {
    let recorder = TestRecorder::new();
    let _guard = recorder.enter();
    let service = ServiceBuilder::new()
        .layer(MetricsLayer::new("manychat").unwrap())
        .service(service_fn(scripted));
    let gauge =
        |r: &TestRecorder| r.gauge("manychat_api_requests_in_flight", &[("operation", "send")]);

    let first = tokio::spawn(service.clone().oneshot(request("/ok", Some("send"))));
    let second = tokio::spawn(
        service
            .clone()
            .oneshot(request("/unavailable", Some("send"))),
    );
    let hung = tokio::spawn(service.clone().oneshot(request("/hang", Some("send"))));
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(gauge(&recorder), Some(3.0));

    first.await.unwrap().unwrap();
    assert_eq!(gauge(&recorder), Some(2.0));
    second.await.unwrap().unwrap();
    assert_eq!(gauge(&recorder), Some(1.0));
    hung.abort();
    assert!(hung.await.unwrap_err().is_cancelled());
    assert_eq!(gauge(&recorder), Some(0.0));
    assert_eq!(
        recorder.counter(
            "manychat_api_requests_total",
            &[("operation", "send"), ("status", "cancelled")]
        ),
        Some(1)
    );
    assert_eq!(recorder.counter_total("manychat_api_requests_total"), 3);
    assert_eq!(
        recorder.histogram(
            "manychat_api_request_duration_seconds",
            &[("operation", "send")]
        ),
        Some(vec![0.02, 0.3, 0.3])
    );
}

#[tokio::test]
async fn operation_names_are_capped() {
    let recorder = TestRecorder::new();
    let _guard = recorder.enter();
    let service = ServiceBuilder::new()
        .layer(MetricsLayer::new("capped").unwrap().max_operations(2))
        .service(service_fn(scripted));
    for op in ["a", "b", "c", "d", "a"] {
        service
            .clone()
            .oneshot(request("/not-found", Some(op)))
            .await
            .unwrap();
    }
    let count = |op| {
        recorder.counter(
            "capped_api_requests_total",
            &[("operation", op), ("status", "4xx")],
        )
    };
    assert_eq!(count("a"), Some(2));
    assert_eq!(count("b"), Some(1));
    assert_eq!(count("other"), Some(2));
    assert_eq!(count("c"), None);
}

#[tokio::test]
async fn any_service_with_a_classifier_or_a_closure() {
    let recorder = TestRecorder::new();
    let _guard = recorder.enter();
    // A service that is not HTTP: u32 in, bool out.
    let inner = service_fn(|n: u32| async move {
        if n == 0 {
            Err::<bool, BoxError>(Box::new(TimedOut))
        } else {
            Ok(n % 2 == 0)
        }
    });
    let classify = |r: &Result<bool, BoxError>| match r {
        Ok(true) => Outcome::Success,
        _ => Outcome::Failure,
    };
    let service = ServiceBuilder::new()
        .layer(
            MetricsLayer::new("jobs")
                .unwrap()
                .status_label(ByOutcome::new(classify))
                .operation_from(FixedOperation("run")),
        )
        .service(inner);
    for n in [2, 4, 3, 0] {
        let _ = service.clone().oneshot(n).await;
    }
    let count = |status| {
        recorder.counter(
            "jobs_api_requests_total",
            &[("operation", "run"), ("status", status)],
        )
    };
    assert_eq!(count("success"), Some(2));
    assert_eq!(count("failure"), Some(1));
    assert_eq!(count("timeout"), Some(1));

    // A closure labeller and a closure operation extractor.
    let service = ServiceBuilder::new()
        .layer(
            MetricsLayer::new("jobs2")
                .unwrap()
                .status_label(
                    |r: &Result<bool, BoxError>| if r.is_ok() { "done" } else { "broken" },
                )
                .operation_from(|n: &u32| if *n > 10 { "big" } else { "small" }),
        )
        .service(inner);
    let _ = service.clone().oneshot(11).await;
    let _ = service.clone().oneshot(0).await;
    assert_eq!(
        recorder.counter(
            "jobs2_api_requests_total",
            &[("operation", "big"), ("status", "done")]
        ),
        Some(1)
    );
    assert_eq!(
        recorder.counter(
            "jobs2_api_requests_total",
            &[("operation", "small"), ("status", "broken")]
        ),
        Some(1)
    );
}

#[test]
fn prefix_is_validated() {
    for bad in ["", "9lives", "my-api", "a:b", "__x", "hub spot"] {
        assert!(MetricsLayer::new(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        MetricsLayer::new("hubspot").unwrap().prefix().as_str(),
        "hubspot"
    );
}

#[tokio::test]
async fn json_snapshot_shape() {
    let (recorder, exporter) = PrometheusConfig::new().build();
    let _guard = metrics::set_default_local_recorder(&recorder);
    obs_metrics::names::describe_resilience_metrics();
    metrics::counter!(obs_metrics::names::CACHE_REQUESTS_TOTAL, "cache" => "contacts", "result" => "hit").increment(3);
    metrics::gauge!(obs_metrics::names::BREAKER_STATE, "service" => "hubspot").set(2.0);
    metrics::histogram!(obs_metrics::names::RATELIMIT_WAIT_SECONDS, "service" => "hubspot", "key" => "api.hubapi.com").record(0.2);

    let json = exporter.snapshot_json();
    let expected = serde_json::json!({
        "counters": [{
            "name": "resilience_cache_requests_total",
            "labels": {"cache": "contacts", "result": "hit"},
            "value": 3.0
        }],
        "gauges": [{
            "name": "resilience_breaker_state",
            "labels": {"service": "hubspot"},
            "value": 2.0
        }],
    });
    assert_eq!(json["counters"], expected["counters"]);
    assert_eq!(json["gauges"], expected["gauges"]);
    let h = &json["histograms"][0];
    assert_eq!(h["name"], "resilience_ratelimit_wait_seconds");
    assert_eq!(
        h["labels"],
        serde_json::json!({"service": "hubspot", "key": "api.hubapi.com"})
    );
    assert_eq!(h["count"], 1);
    assert_eq!(h["sum"], 0.2);
    assert_eq!(h["mean"], 0.2);
    assert_eq!(
        h["buckets"][0],
        serde_json::json!({"le": 0.005, "count": 0})
    );
    assert_eq!(h["buckets"][5], serde_json::json!({"le": 0.25, "count": 1}));
    // p50 of one observation in (0.1, 0.25] interpolates to the bucket's middle.
    assert!((h["quantiles"]["p50"].as_f64().unwrap() - 0.175).abs() < 1e-9);
    // The HELP text from the naming scheme reaches Prometheus.
    assert!(exporter.render().contains(
        "# HELP resilience_breaker_state Circuit breaker state: 0 closed, 1 half-open, 2 open"
    ));
    // And it round-trips through serde.
    let back: obs_metrics::MetricsSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, exporter.snapshot());
}

#[tokio::test]
async fn custom_buckets_and_global_labels() {
    let (recorder, exporter) = PrometheusConfig::new()
        .duration_buckets(&[0.1, 1.0])
        .unwrap()
        .histogram_buckets("batch_size", &[10.0, 100.0])
        .unwrap()
        .global_label("env", "test")
        .build();
    let _guard = metrics::set_default_local_recorder(&recorder);
    metrics::histogram!("x_seconds").record(0.5);
    metrics::histogram!("batch_size").record(42.0);
    let text = exporter.render();
    assert!(
        text.contains(r#"x_seconds_bucket{env="test",le="1"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"x_seconds_bucket{env="test",le="0.1"} 0"#),
        "{text}"
    );
    assert!(
        !text.contains(r#"x_seconds_bucket{env="test",le="0.005"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"batch_size_bucket{env="test",le="100"} 1"#),
        "{text}"
    );
}

async fn body_string(body: Full<Bytes>) -> String {
    String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn metrics_service_routes() {
    let (recorder, exporter) = PrometheusConfig::new().build();
    let _guard = metrics::set_default_local_recorder(&recorder);
    metrics::counter!("hits_total").increment(1);
    let service = exporter.service();

    let response = service
        .clone()
        .oneshot(Request::get("/metrics").body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        obs_metrics::PROMETHEUS_CONTENT_TYPE
    );
    assert!(
        body_string(response.into_body())
            .await
            .contains("hits_total 1")
    );

    let response = service
        .clone()
        .oneshot(Request::get("/metrics.json").body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    let json: serde_json::Value =
        serde_json::from_str(&body_string(response.into_body()).await).unwrap();
    assert_eq!(json["counters"][0]["name"], "hits_total");

    let response = service
        .clone()
        .oneshot(Request::get("/other").body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = service
        .clone()
        .oneshot(Request::post("/metrics").body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn http_listener_serves_prometheus_text_over_tcp() {
    let (recorder, exporter) = PrometheusConfig::new().build();
    // The listener task renders on another task; record through the recorder directly.
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("served_total", "service" => "hubspot").increment(7);
    });
    let listener = exporter
        .spawn_listener("127.0.0.1:0".parse().unwrap())
        .unwrap();
    let addr = listener.local_addr();
    assert!(addr.ip().is_loopback());

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let response = client
        .get(format!("http://{addr}/metrics").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        obs_metrics::PROMETHEUS_CONTENT_TYPE
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.contains(r#"served_total{service="hubspot"} 7"#),
        "{text}"
    );

    let response = client
        .get(format!("http://{addr}/nope").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    listener.abort();
}
