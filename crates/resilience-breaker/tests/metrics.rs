//! The breaker's metrics, read back from a debugging recorder installed as the global recorder
//! (one test in this binary, so nothing else writes to it).

use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use resilience_breaker::{Breaker, BreakerConfig, CircuitBreakerLayer, metrics as names};
use resilience_core::{BoxError, Outcome};
use std::collections::HashMap;
use std::time::Duration;
use tower::{Layer, ServiceExt};

type Labels = Vec<(String, String)>;

fn read(snapshotter: &metrics_util::debugging::Snapshotter) -> HashMap<(String, Labels), f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let mut labels: Labels = key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            let value = match (key.kind(), value) {
                (MetricKind::Counter, DebugValue::Counter(v)) => v as f64,
                (MetricKind::Gauge, DebugValue::Gauge(v)) => v.into_inner(),
                _ => f64::NAN,
            };
            ((key.key().name().to_owned(), labels), value)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut labels: Labels = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    labels
}

#[tokio::test(start_paused = true)]
async fn state_gauge_transitions_rejections_and_calls_are_published() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder in this binary");

    let breaker = Breaker::new(
        "billing",
        BreakerConfig::builder()
            .consecutive_failures(2)
            .jitter(0.0)
            .build()
            .unwrap(),
    );
    let classify = |r: &Result<u8, BoxError>| match r {
        Ok(0) => Outcome::Neutral,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    };
    let svc = CircuitBreakerLayer::with_classifier(breaker.clone(), classify).layer(
        tower::service_fn(|n: u8| async move {
            if n == 9 {
                Err::<u8, BoxError>("down".into())
            } else {
                Ok(n)
            }
        }),
    );
    svc.clone().oneshot(1).await.unwrap();
    svc.clone().oneshot(0).await.unwrap();
    for _ in 0..2 {
        svc.clone().oneshot(9).await.unwrap_err();
    }
    for _ in 0..3 {
        svc.clone().oneshot(1).await.unwrap_err(); // rejected
    }

    let m = read(&snapshotter);
    let service = [("service", "billing")];
    assert_eq!(m[&(names::STATE.to_owned(), labels(&service))], 2.0, "open");
    assert_eq!(m[&(names::REJECTED.to_owned(), labels(&service))], 3.0);
    let calls = |outcome: &str| {
        m[&(
            names::CALLS.to_owned(),
            labels(&[("service", "billing"), ("outcome", outcome)]),
        )]
    };
    assert_eq!(calls("success"), 1.0);
    assert_eq!(calls("neutral"), 1.0);
    assert_eq!(calls("failure"), 2.0);
    assert_eq!(calls("throttled"), 0.0);
    assert_eq!(
        m[&(
            names::TRANSITIONS.to_owned(),
            labels(&[("service", "billing"), ("from", "closed"), ("to", "open")])
        )],
        1.0
    );

    // Recover: open → half-open → closed, and the gauge follows.
    tokio::time::advance(Duration::from_secs(5)).await;
    for _ in 0..3 {
        svc.clone().oneshot(1).await.unwrap();
    }
    breaker.force_open();
    let m = read(&snapshotter);
    assert_eq!(
        m[&(names::STATE.to_owned(), labels(&service))],
        3.0,
        "forced open"
    );
    for (from, to) in [
        ("open", "half_open"),
        ("half_open", "closed"),
        ("closed", "forced_open"),
    ] {
        assert_eq!(
            m[&(
                names::TRANSITIONS.to_owned(),
                labels(&[("service", "billing"), ("from", from), ("to", to)])
            )],
            1.0,
            "{from} → {to}"
        );
    }
    breaker.disable();
    let m = read(&snapshotter);
    assert_eq!(
        m[&(names::STATE.to_owned(), labels(&service))],
        4.0,
        "disabled"
    );
}
