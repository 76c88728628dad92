//! Progress events through the callback and the stream.

use batch::{BatchProcessor, CancellationToken, Progress};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::sleep;

#[tokio::test(start_paused = true)]
async fn the_callback_sees_every_completion_with_rate_and_eta() {
    let events = Arc::new(parking_lot::Mutex::new(Vec::<Progress>::new()));
    let processor = BatchProcessor::builder()
        .concurrency(1)
        .on_progress({
            let events = Arc::clone(&events);
            move |p| events.lock().push(p.clone())
        })
        .build()
        .unwrap();
    let result = processor
        .process(0..10u32, |i| async move {
            sleep(Duration::from_millis(100)).await;
            if i == 4 { Err("no") } else { Ok(i) }
        })
        .await;
    assert_eq!(result.total(), 10);

    let events = events.lock().clone();
    // One at the start, one per completion, and the final one.
    assert_eq!(events.len(), 12);
    assert_eq!(events[0].done, 0);
    assert_eq!(events[0].total, Some(10));
    for pair in events.windows(2) {
        assert!(pair[1].done >= pair[0].done);
    }
    // After 5 items at 100 ms each: 10 items/s, 5 left, so 0.5 s to go.
    let fifth = events.iter().find(|p| p.done == 5).unwrap();
    assert_eq!(fifth.elapsed, Duration::from_millis(500));
    assert_eq!(fifth.succeeded, 4);
    assert_eq!(fifth.failed, 1);
    assert!((fifth.rate - 10.0).abs() < 1e-9, "{fifth:?}");
    let eta = fifth.eta.unwrap();
    assert!((eta.as_secs_f64() - 0.5).abs() < 1e-6, "{eta:?}");
    assert!(!fifth.finished);

    let last = events.last().unwrap();
    assert!(last.finished);
    assert_eq!(last.done, 10);
    assert_eq!(last.total, Some(10));
    assert_eq!(last.in_flight, 0);
    assert_eq!(last.eta, Some(Duration::ZERO));
    assert_eq!(events.iter().filter(|p| p.finished).count(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_stream_ends_with_the_final_snapshot_at_the_total() {
    let processor = BatchProcessor::builder().concurrency(3).build().unwrap();
    let mut stream = processor.progress();
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(progress) = stream.next().await {
            seen.push(progress);
        }
        seen
    });
    // An input whose length is unknown up front: the total is learnt when it runs out.
    let items = (0..30u64).filter(|i| i % 2 == 0);
    let result = processor
        .process(items, |i| async move {
            sleep(Duration::from_millis(10 + i)).await;
            Ok::<_, String>(i)
        })
        .await;
    let seen = watcher.await.unwrap();
    assert_eq!(result.total(), 15);
    assert!(!seen.is_empty());
    assert!(
        seen.iter().any(|p| !p.finished && p.done > 0),
        "intermediate events"
    );
    assert!(seen.iter().all(|p| p.done <= 15));
    for pair in seen.windows(2) {
        assert!(pair[1].done >= pair[0].done);
    }
    let last = seen.last().unwrap();
    assert!(last.finished);
    assert_eq!(last.done, 15);
    assert_eq!(last.total, Some(15));
    assert_eq!(last.succeeded, 15);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_still_ends_at_the_total() {
    let token = CancellationToken::new();
    let processor = BatchProcessor::builder()
        .concurrency(2)
        .cancellation(token.clone())
        .build()
        .unwrap();
    let mut stream = processor.progress();
    let watcher = tokio::spawn(async move {
        let mut last = None;
        while let Some(progress) = stream.next().await {
            last = Some(progress);
        }
        last
    });
    tokio::spawn(async move {
        sleep(Duration::from_millis(150)).await;
        token.cancel();
    });
    let result = processor
        .process(0..10_000u32, |i| async move {
            sleep(Duration::from_millis(100)).await;
            Ok::<_, String>(i)
        })
        .await;
    let last = watcher.await.unwrap().unwrap();
    assert!(last.finished);
    assert_eq!(last.done, 10_000);
    assert_eq!(last.succeeded, 4);
    assert_eq!(last.cancelled, 9_996);
    assert_eq!(result.cancelled(), 9_996);
}
