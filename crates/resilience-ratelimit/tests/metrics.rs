//! Metrics and store-failure behaviour (one test: the debugging recorder is process-global).

mod common;

use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use resilience_ratelimit::{
    Decision, Observation, ObserveEffect, Quota, RateKey, RateLimitLayer, RateLimitStore,
    Reservation, StoreError,
};
use std::collections::HashMap;
use std::future::{Ready, ready};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

/// A store that always fails, to check the layer fails open.
#[derive(Clone, Debug)]
struct BrokenStore;

impl RateLimitStore for BrokenStore {
    type AcquireFuture = Ready<Result<Decision, StoreError>>;
    type ObserveFuture = Ready<Result<ObserveEffect, StoreError>>;

    fn acquire(&self, _: &RateKey, _: Quota, _: Duration) -> Self::AcquireFuture {
        ready(Err(StoreError::new("connection refused")))
    }
    fn confirm(&self, _: &RateKey, _: Quota, _: Reservation, _: Duration) -> Self::AcquireFuture {
        ready(Err(StoreError::new("connection refused")))
    }
    fn release(&self, _: &RateKey, _: Reservation) {}
    fn observe(&self, _: &RateKey, _: Quota, _: Observation) -> Self::ObserveFuture {
        ready(Err(StoreError::new("connection refused")))
    }
}

type Values = HashMap<(String, String), DebugValue>;

fn take(snapshotter: &metrics_util::debugging::Snapshotter) -> Values {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            ((key.name().to_string(), labels.join(",")), value)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn decisions_are_published_as_metrics_and_a_broken_store_fails_open() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let api = Api::new(|n| match n {
        2 => with_headers(429, &[("Retry-After", "2")]),
        3 => with_headers(
            200,
            &[
                ("X-HubSpot-RateLimit-Max", "2"),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", "1000"),
            ],
        ),
        _ => ok(),
    });
    let svc = RateLimitLayer::new("hubspot", per_sec(10, 1))
        .with_max_wait(Duration::from_secs(5))
        .layer(api.clone());
    let uri = "https://api.hubapi.com/crm/v3/objects/contacts/42";
    let key = "service=hubspot,key=https://api.hubapi.com/default";

    svc.clone().oneshot(req(uri)).await.unwrap(); // immediate
    svc.clone().oneshot(req(uri)).await.unwrap(); // waits 100 ms
    svc.clone().oneshot(req(uri)).await.unwrap(); // waits 100 ms, answered 429 Retry-After: 2
    svc.clone().oneshot(req(uri)).await.unwrap(); // waits for the pause, learns 2/s
    let mut tight = req(uri);
    tight
        .extensions_mut()
        .insert(resilience_core::extensions::Deadline(
            (Instant::now() + Duration::from_millis(10)).into_std(),
        ));
    assert!(svc.clone().oneshot(tight).await.is_err());

    let values = take(&snapshotter);
    let get = |name: &str| {
        values
            .get(&(name.to_string(), key.to_string()))
            .unwrap_or_else(|| panic!("{name} missing: {values:?}"))
    };
    match get("resilience_ratelimit_wait_seconds") {
        DebugValue::Histogram(waits) => {
            let waits: Vec<f64> = waits.iter().map(|w| w.into_inner()).collect();
            assert_eq!(waits.len(), 3, "{waits:?}");
            assert!((waits[0] - 0.1).abs() < 1e-9 && (waits[1] - 0.1).abs() < 1e-9);
            assert!((waits[2] - 2.0).abs() < 0.11, "{waits:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        get("resilience_ratelimit_rejected_total"),
        &DebugValue::Counter(1)
    );
    assert_eq!(
        get("resilience_ratelimit_paused_total"),
        &DebugValue::Counter(1)
    );
    match get("resilience_ratelimit_limit") {
        DebugValue::Gauge(g) => assert!((g.into_inner() - 2.0).abs() < 1e-9, "{g}"),
        other => panic!("{other:?}"),
    }
    // labels never hold the request path or IDs
    assert!(values.keys().all(|(_, labels)| !labels.contains("42")));

    // a broken store lets requests through and says so
    let open = RateLimitLayer::new("broken", per_sec(1, 1))
        .with_store(BrokenStore)
        .layer(Api::ok());
    for _ in 0..3 {
        open.clone().oneshot(req(uri)).await.unwrap();
    }
    let values = take(&snapshotter);
    assert_eq!(
        values.get(&(
            "resilience_ratelimit_store_errors_total".to_string(),
            "service=broken".to_string()
        )),
        Some(&DebugValue::Counter(3))
    );
}
