//! Chunked processing and JSON Lines streaming.

use batch::{BatchError, BatchProcessor, CancellationToken, ChunkPermits, ItemError, ItemOutcome};
use serde_json::Value;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::time::{Instant, sleep};

#[tokio::test(start_paused = true)]
async fn chunks_of_one_hundred_map_results_back_to_items() {
    let sizes = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let result = BatchProcessor::new()
        .process_chunks(0..250u32, |chunk: Vec<u32>| {
            sizes.lock().push(chunk.len());
            async move { Ok::<_, String>(chunk.into_iter().map(|i| Ok(i * 10)).collect()) }
        })
        .await;
    let mut sizes = sizes.lock().clone();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![50, 100, 100]);
    assert_eq!(result.total(), 250);
    assert_eq!(result.succeeded(), 250);
    for record in &result.records {
        assert_eq!(record.outcome.value(), Some(&(record.index as u32 * 10)));
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_chunk_fails_each_of_its_items_with_the_reason() {
    let processor = BatchProcessor::builder().chunk_size(100).build().unwrap();
    let result = processor
        .process_chunks(0..250u32, |chunk: Vec<u32>| async move {
            if chunk[0] == 100 {
                Err("HTTP 502 from the batch endpoint".to_string())
            } else {
                // A per-item error in position: odd items are "not found".
                Ok(chunk
                    .into_iter()
                    .map(|i| {
                        if i % 2 == 1 {
                            Err(format!("{i} not found"))
                        } else {
                            Ok(i)
                        }
                    })
                    .collect())
            }
        })
        .await;
    assert_eq!(result.total(), 250);
    assert_eq!(result.failed(), 100 + 50 + 25);
    for record in &result.records {
        let i = record.index;
        match &record.outcome {
            ItemOutcome::Failed(ItemError::Chunk { chunk, error }) => {
                assert!((100..200).contains(&i));
                assert_eq!(*chunk, 1);
                assert_eq!(error.as_str(), "HTTP 502 from the batch endpoint");
                assert_eq!(
                    record.outcome.error().unwrap().to_string(),
                    "chunk 1 failed: HTTP 502 from the batch endpoint"
                );
            }
            ItemOutcome::Failed(ItemError::Operation(e)) => {
                assert!(i % 2 == 1 && !(100..200).contains(&i));
                assert_eq!(e, &format!("{i} not found"));
            }
            ItemOutcome::Succeeded(v) => assert_eq!(*v as usize, i),
            other => panic!("{i}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_short_chunk_result_fails_the_missing_items_and_extra_results_are_counted() {
    let processor = BatchProcessor::builder().chunk_size(10).build().unwrap();
    let result = processor
        .process_chunks(0..30u32, |chunk: Vec<u32>| async move {
            let mut results: Vec<Result<u32, String>> = chunk.iter().map(|i| Ok(*i)).collect();
            match chunk[0] {
                0 => {
                    results.truncate(7);
                }
                10 => results.extend([Ok(1000), Ok(1001)]),
                _ => {}
            }
            Ok(results)
        })
        .await;
    assert_eq!(result.total(), 30);
    assert_eq!(result.failed(), 3);
    assert_eq!(result.succeeded(), 27);
    assert_eq!(result.stats.unmatched_results, 2);
    for record in &result.records[7..10] {
        match &record.outcome {
            ItemOutcome::Failed(ItemError::MissingResult {
                chunk: 0,
                expected: 10,
                returned: 7,
            }) => {}
            other => panic!("{}: {other:?}", record.index),
        }
        assert_eq!(record.outcome.error().unwrap().kind(), "missing_result");
    }
    // The surplus never leaks into a record.
    assert!(
        result.records[10..20]
            .iter()
            .all(|r| r.outcome.value() == Some(&(r.index as u32)))
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_chunk_fails_all_its_items() {
    let result = BatchProcessor::builder()
        .chunk_size(4)
        .build()
        .unwrap()
        .process_chunks(0..10u32, |chunk: Vec<u32>| async move {
            assert!(!chunk.contains(&5), "chunk with 5");
            Ok::<_, String>(chunk.into_iter().map(Ok).collect())
        })
        .await;
    assert_eq!(result.failed(), 4);
    assert!(result.records[4..8].iter().all(|r| matches!(
        &r.outcome,
        ItemOutcome::Failed(ItemError::Panicked { message }) if message == "chunk with 5"
    )));
}

#[tokio::test(start_paused = true)]
async fn chunk_permits_pace_by_items_or_by_calls() {
    for (permits, expected_last_start) in [
        (ChunkPermits::PerItem, Duration::from_secs(2)),
        (ChunkPermits::PerChunk, Duration::from_millis(20)),
    ] {
        let processor = BatchProcessor::builder()
            .concurrency(5)
            .rate_per_second(100.0)
            .chunk_permits(permits)
            .build()
            .unwrap();
        let begin = Instant::now();
        let starts = Arc::new(parking_lot::Mutex::new(Vec::new()));
        processor
            .process_chunks(0..300u32, |chunk: Vec<u32>| {
                starts.lock().push(begin.elapsed());
                async move { Ok::<_, String>(chunk.into_iter().map(Ok).collect()) }
            })
            .await;
        let starts = starts.lock().clone();
        assert_eq!(starts.len(), 3);
        assert_eq!(starts[0], Duration::ZERO);
        assert_eq!(*starts.last().unwrap(), expected_last_start, "{permits:?}");
    }
}

fn parse_lines(output: &[u8]) -> Vec<Value> {
    std::str::from_utf8(output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn json_lines_records_have_a_stable_shape() {
    let token = CancellationToken::new();
    let processor = BatchProcessor::builder()
        .concurrency(1)
        .cancellation(token.clone())
        .build()
        .unwrap();
    let mut out = Vec::new();
    let summary = processor
        .process_to_writer(
            ["ok", "bad", "later"],
            |s| format!("id-{s}"),
            |s| {
                let token = token.clone();
                async move {
                    if s == "bad" {
                        token.cancel();
                        Err("no such contact")
                    } else {
                        Ok(serde_json::json!({ "name": s }))
                    }
                }
            },
            &mut out,
        )
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"index":0,"key":"id-ok","status":"succeeded","value":{"name":"ok"}}"#,
            "\n",
            r#"{"index":1,"key":"id-bad","status":"failed","error_kind":"operation","error":"no such contact"}"#,
            "\n",
            r#"{"index":2,"key":"id-later","status":"cancelled"}"#,
            "\n",
        )
    );
    assert_eq!(summary.written, 3);
    assert_eq!(summary.stats.cancelled, 1);
    assert_eq!(summary.first_failures.len(), 1);
    assert_eq!(summary.first_failures[0].index, 1);

    // Unkeyed runs leave the key out.
    let mut out = Vec::new();
    BatchProcessor::new()
        .process_to_writer([1], |_| (), |i| async move { Ok::<_, String>(i) }, &mut out)
        .await
        .unwrap();
    assert_eq!(out, b"{\"index\":0,\"status\":\"succeeded\",\"value\":1}\n");
}

#[tokio::test(start_paused = true)]
async fn a_large_streamed_run_writes_every_index_once_with_bounded_pending_records() {
    const N: usize = 100_000;
    let concurrency = 8;
    let processor = BatchProcessor::builder()
        .concurrency(concurrency)
        .failure_sample(10)
        .build()
        .unwrap();
    let mut out = Vec::new();
    let summary = processor
        .process_to_writer(
            0..N,
            |_| (),
            |i| async move {
                // Staggered completion, so the output is not simply in input order.
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
                if i % 7 == 0 {
                    Err(format!("e{i}"))
                } else {
                    Ok(i)
                }
            },
            &mut out,
        )
        .await
        .unwrap();

    let stats = &summary.stats;
    assert_eq!(stats.total, N as u64);
    let failures = (0..N).filter(|i| i % 7 == 0).count() as u64;
    assert_eq!(stats.failed, failures);
    assert_eq!(stats.succeeded, N as u64 - failures);
    assert_eq!(summary.written, N as u64);
    assert_eq!(summary.first_failures.len(), 10);
    // Memory stays bounded by the concurrency: what is in flight, plus the next item waiting
    // for a slot.
    assert!(stats.peak_pending_records <= concurrency + 1, "{stats:?}");
    assert_eq!(stats.peak_in_flight, concurrency);

    let mut seen = vec![0u8; N];
    let mut out_of_order = false;
    let mut last = None;
    for line in std::str::from_utf8(&out).unwrap().lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let index = value["index"].as_u64().unwrap() as usize;
        seen[index] += 1;
        if last.is_some_and(|l| index < l) {
            out_of_order = true;
        }
        last = Some(index);
        let expected = if index % 7 == 0 {
            "failed"
        } else {
            "succeeded"
        };
        assert_eq!(value["status"], expected);
    }
    assert!(
        seen.iter().all(|&count| count == 1),
        "every index exactly once"
    );
    assert!(out_of_order, "lines are in completion order");
}

#[tokio::test(start_paused = true)]
async fn streamed_chunks_write_every_item_and_cancelled_ones_too() {
    let token = CancellationToken::new();
    let processor = BatchProcessor::builder()
        .concurrency(2)
        .chunk_size(10)
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
    let mut out = Vec::new();
    let summary = processor
        .process_chunks_to_writer(
            0..95u32,
            |i| *i,
            |chunk: Vec<u32>| async move {
                sleep(Duration::from_millis(100)).await;
                Ok::<_, String>(chunk.into_iter().map(Ok).collect())
            },
            &mut out,
        )
        .await
        .unwrap();
    // Chunks 0-1 ran in [0, 100 ms], chunks 2-3 were in flight at 150 ms and finished.
    assert_eq!(summary.stats.succeeded, 40);
    assert_eq!(summary.stats.cancelled, 55);
    assert!(summary.stats.peak_pending_records <= 3 * 10);
    let lines = parse_lines(&out);
    assert_eq!(lines.len(), 95);
    let mut by_index: HashMap<u64, Value> = HashMap::new();
    for line in lines {
        assert_eq!(line["key"], line["index"]);
        assert!(
            by_index
                .insert(line["index"].as_u64().unwrap(), line)
                .is_none()
        );
    }
    for i in 0..95u64 {
        let expected = if i < 40 { "succeeded" } else { "cancelled" };
        assert_eq!(by_index[&i]["status"], expected, "{i}");
    }
}

/// A writer that accepts `limit` bytes, then fails.
struct FailingWriter {
    accepted: Vec<u8>,
    limit: usize,
}

impl AsyncWrite for FailingWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.accepted.len() + buf.len() > self.limit {
            return Poll::Ready(Err(io::Error::other("disk full")));
        }
        self.accepted.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_writer_stops_the_run_and_reports_what_was_written() {
    let processor = BatchProcessor::builder().concurrency(4).build().unwrap();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let mut writer = FailingWriter {
        accepted: Vec::new(),
        limit: 100_000,
    };
    let error = processor
        .process_to_writer(
            0..1_000_000u64,
            |_| (),
            |i| {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { Ok::<_, String>(i) }
            },
            &mut writer,
        )
        .await
        .unwrap_err();
    let BatchError::Write {
        source,
        written,
        stats,
    } = error
    else {
        panic!("expected a write error");
    };
    assert_eq!(source.to_string(), "disk full");
    // The first 64 KiB block fitted, the second did not: `written` counts exactly the lines
    // that reached the writer.
    let lines = parse_lines(&writer.accepted);
    assert!(!lines.is_empty());
    assert_eq!(written, lines.len() as u64);
    assert_eq!(stats.total, 1_000_000);
    assert_eq!(
        stats.total,
        stats.succeeded + stats.failed + stats.cancelled
    );
    // The run stopped soon after the failure instead of calling the operation a million times.
    let calls = calls.load(std::sync::atomic::Ordering::SeqCst) as u64;
    assert_eq!(stats.succeeded, calls);
    assert!(calls < 10_000, "{calls}");
}
