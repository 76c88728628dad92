//! Redis stopped and restarted under one store: the fallback takes over at its share, says so
//! in metrics, and sharing resumes when Redis is back. One test per binary: the debugging
//! metrics recorder is process-global.

mod common;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use resilience_ratelimit::{Decision, Observation, Quota, RateKey, RateLimitStore};
use resilience_ratelimit_redis::{
    FALLBACK_GAUGE, REDIS_ERRORS_COUNTER, RedisStore, TRANSITIONS_COUNTER,
};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

fn take(snapshotter: &Snapshotter) -> HashMap<(String, String), DebugValue> {
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

fn gauge(values: &HashMap<(String, String), DebugValue>) -> f64 {
    match values.get(&(FALLBACK_GAUGE.to_string(), "service=hubspot".to_string())) {
        Some(DebugValue::Gauge(v)) => v.into_inner(),
        other => panic!("no fallback gauge: {other:?}"),
    }
}

fn counter(values: &HashMap<(String, String), DebugValue>, name: &str, labels: &str) -> u64 {
    match values.get(&(name.to_string(), labels.to_string())) {
        Some(DebugValue::Counter(v)) => *v,
        None => 0,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}

fn granted(d: &Decision) -> bool {
    matches!(d, Decision::Granted(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_restart_switch_modes_with_metrics() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("recorder");

    let mut server = common::RedisServer::start();
    let prefix = common::unique_prefix("failover");
    let store = RedisStore::builder(server.url())
        .service("hubspot")
        .key_prefix(prefix.as_str())
        .expected_workers(NonZeroU32::new(4).unwrap())
        .probe_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let key = RateKey::scope("https://api.hubapi.com#00000000");
    // 8 per second, burst 8: the fallback gets a quarter, 2 per second with a burst of 2.
    let quota = Quota::per_second(NonZeroU32::new(8).unwrap());

    // Shared: a 429 seen by this worker pauses the key in Redis, for every worker.
    let d = store.acquire(&key, quota, Duration::ZERO).await.unwrap();
    assert!(granted(&d));
    assert!(store.is_sharing());
    assert_eq!(gauge(&take(&snapshotter)), 0.0);
    let effect = store
        .observe(&key, quota, Observation::pause(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(effect.paused_for.is_some());
    let other = RedisStore::builder(server.url())
        .key_prefix(prefix.as_str())
        .build()
        .unwrap();
    match other
        .acquire(&key, quota, Duration::from_secs(1))
        .await
        .unwrap()
    {
        Decision::Granted(g) => assert!(g.wait > Duration::from_millis(200), "{g:?}"),
        d => panic!("{d:?}"),
    }

    // Redis dies: the next call falls back (no error), counted and gauged.
    server.stop();
    let d = store.acquire(&key, quota, Duration::ZERO).await.unwrap();
    assert!(!store.is_sharing());
    let values = take(&snapshotter);
    assert_eq!(gauge(&values), 1.0);
    assert_eq!(
        counter(&values, TRANSITIONS_COUNTER, "service=hubspot,to=fallback"),
        1
    );
    assert!(counter(&values, REDIS_ERRORS_COUNTER, "service=hubspot,kind=error") >= 1);
    // The 429's pause was kept locally: the fallback does not send during it.
    assert!(!granted(&d), "the pause holds in fallback mode: {d:?}");
    // Fallback at a quarter of the budget: 2 at once at most, whatever is asked.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let mut burst = 0;
    for _ in 0..8 {
        if granted(&store.acquire(&key, quota, Duration::ZERO).await.unwrap()) {
            burst += 1;
        }
    }
    assert_eq!(burst, 2);

    // Redis is back: a probe finds it, sharing resumes, counted and gauged.
    server.restart();
    let mut resumed = false;
    for _ in 0..300 {
        let _ = store.acquire(&key, quota, Duration::ZERO).await.unwrap();
        if store.is_sharing() {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(resumed, "sharing never resumed");
    let values = take(&snapshotter);
    assert_eq!(gauge(&values), 0.0);
    assert_eq!(
        counter(&values, TRANSITIONS_COUNTER, "service=hubspot,to=shared"),
        1
    );
    assert_eq!(store.transitions(), 2);
    // And the state lives in the (new) Redis again.
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let exists: bool = redis::cmd("EXISTS")
        .arg(store.redis_key(&key))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(exists);
}
