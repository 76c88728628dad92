//! `LimiterGate`: a batch drawing from the same `resilience-ratelimit` budget as client calls.
#![cfg(feature = "ratelimit")]

use batch::{BatchProcessor, CancellationToken, LimiterGate};
use resilience_core::{BoxError, Outcome};
use resilience_ratelimit::{
    FixedKey, InMemoryStore, NoSignals, Quota, RateKey, RateLimitLayer, RateLimitStore,
};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep};
use tower::{ServiceBuilder, ServiceExt, service_fn};

fn ten_per_second() -> Quota {
    Quota::per_second(NonZeroU32::new(10).unwrap()).with_burst(NonZeroU32::MIN)
}

#[tokio::test(start_paused = true)]
async fn a_batch_and_client_calls_share_one_budget() {
    let key = RateKey::scope("api.example.com");
    let layer = RateLimitLayer::new("api", ten_per_second())
        .with_key_fn(FixedKey(key.clone()))
        .with_classifier(|r: &Result<u32, BoxError>| {
            if r.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            }
        })
        .with_signals(NoSignals)
        .with_max_wait(Duration::from_secs(30));
    let sends = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let begin = Instant::now();

    // Client calls through the rate-limited stack.
    let service = ServiceBuilder::new()
        .layer(layer.clone())
        .service(service_fn({
            let sends = Arc::clone(&sends);
            move |i: u32| {
                sends.lock().push(("client", begin.elapsed()));
                async move { Ok::<_, BoxError>(i) }
            }
        }));
    let client = async {
        for i in 0..10 {
            service.clone().oneshot(i).await.unwrap();
        }
    };

    // A batch whose operation is not behind the layer, drawing from the same key.
    let processor = BatchProcessor::builder()
        .concurrency(4)
        .rate_gate(LimiterGate::from_layer(&layer, key))
        .build()
        .unwrap();
    let batch = processor.process(0..10u32, |i| {
        sends.lock().push(("batch", begin.elapsed()));
        async move { Ok::<_, String>(i) }
    });

    let ((), result) = tokio::join!(client, batch);
    assert_eq!(result.succeeded(), 10);
    let mut sends = sends.lock().clone();
    assert_eq!(sends.len(), 20);
    assert!(sends.iter().any(|(who, _)| *who == "batch"));
    assert!(sends.iter().any(|(who, _)| *who == "client"));
    sends.sort_by_key(|(_, at)| *at);
    // 20 permits at 10/s, burst 1: one every 100 ms, whoever asks.
    for pair in sends.windows(2) {
        assert!(
            pair[1].1 - pair[0].1 >= Duration::from_millis(100),
            "{pair:?}"
        );
    }
    assert!(begin.elapsed() >= Duration::from_millis(1900));
}

#[tokio::test(start_paused = true)]
async fn a_paused_key_holds_the_batch_back() {
    let key = RateKey::scope("api.example.com");
    let store = InMemoryStore::new();
    // A 429 seen by a client call paused the key for 3 s.
    store
        .pause(&key, ten_per_second(), Duration::from_secs(3))
        .await
        .unwrap();
    let gate = LimiterGate::new(store, key, ten_per_second()).with_max_wait(Duration::from_secs(1));
    let processor = BatchProcessor::builder().rate_gate(gate).build().unwrap();
    let begin = Instant::now();
    let starts = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let result = processor
        .process(0..3u32, |i| {
            starts.lock().push(begin.elapsed());
            async move { Ok::<_, String>(i) }
        })
        .await;
    assert_eq!(result.succeeded(), 3);
    let starts = starts.lock().clone();
    // Longer than the gate's 1 s horizon: it waited in steps instead of failing the items.
    assert!(starts[0] >= Duration::from_secs(3), "{starts:?}");
    assert!(starts[2] - starts[0] >= Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_wait_gives_the_permit_back() {
    let key = RateKey::scope("api.example.com");
    let store = InMemoryStore::new();
    let token = CancellationToken::new();
    let processor = BatchProcessor::builder()
        .rate_gate(LimiterGate::new(
            store.clone(),
            key.clone(),
            ten_per_second(),
        ))
        .cancellation(token.clone())
        .build()
        .unwrap();
    tokio::spawn({
        let token = token.clone();
        async move {
            sleep(Duration::from_millis(150)).await;
            token.cancel();
        }
    });
    let begin = Instant::now();
    let result = processor
        .process(0..10u32, |i| async move { Ok::<_, String>(i) })
        .await;
    // Starts at 0 and 100 ms; the permit due at 200 ms was being waited for at the cancel.
    assert_eq!(result.succeeded(), 2);
    assert_eq!(result.cancelled(), 8);
    assert_eq!(begin.elapsed(), Duration::from_millis(150));
    // It was given back: the next caller gets the 200 ms slot, not the 300 ms one.
    let gate = LimiterGate::new(store, key, ten_per_second());
    let after = BatchProcessor::builder().rate_gate(gate).build().unwrap();
    let start = Arc::new(parking_lot::Mutex::new(None));
    after
        .process([0u32], |i| {
            *start.lock() = Some(begin.elapsed());
            async move { Ok::<_, String>(i) }
        })
        .await;
    assert_eq!(*start.lock(), Some(Duration::from_millis(200)));
}

#[tokio::test(start_paused = true)]
async fn from_layer_draws_from_the_bucket_the_layer_resolves_the_key_to() {
    use batch::RateGate as _;
    // The client's requests carry class "contacts", which has no quota of its own: the layer
    // draws them from the scope's `default` bucket. A gate built from the same key must too.
    let key = RateKey::new("api.example.com", "contacts");
    let layer = RateLimitLayer::new("api", ten_per_second())
        .with_quota("search", Quota::per_second(NonZeroU32::MIN))
        .with_key_fn(FixedKey(key.clone()))
        .with_classifier(|_: &Result<u32, BoxError>| Outcome::Success)
        .with_signals(NoSignals);
    let gate = LimiterGate::from_layer(&layer, key);
    assert_eq!(gate.key(), &RateKey::new("api.example.com", "default"));

    let begin = Instant::now();
    let service = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(|i: u32| async move { Ok::<_, BoxError>(i) }));
    service.oneshot(1).await.unwrap();
    assert_eq!(begin.elapsed(), Duration::ZERO);
    // The client took the only permit of the burst: the batch's permit is due 100 ms later.
    gate.acquire(NonZeroU32::MIN).await.unwrap();
    assert_eq!(begin.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_zero_horizon_waits_for_the_permit_instead_of_panicking() {
    use batch::RateGate as _;
    let gate = LimiterGate::new(
        InMemoryStore::new(),
        RateKey::scope("api.example.com"),
        ten_per_second(),
    )
    .with_max_wait(Duration::ZERO);
    let begin = Instant::now();
    gate.acquire(NonZeroU32::MIN).await.unwrap();
    assert_eq!(begin.elapsed(), Duration::ZERO);
    // Nothing may be reserved ahead: the second permit is taken when it is due, 100 ms later.
    gate.acquire(NonZeroU32::MIN).await.unwrap();
    assert_eq!(begin.elapsed(), Duration::from_millis(100));
}
