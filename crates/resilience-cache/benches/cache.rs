//! Cache benchmarks with std timing (no criterion): medians of repeated batches.
//!
//! 1. A hit through `TtlCache::get` against quick_cache's own `get` on the same data
//!    (target: ratio ≤ 1.5×).
//! 2. `get_or_insert_with` from 8 concurrent tasks on 16 hot keys, against quick_cache's
//!    `get_or_insert_async` under the same load.
//!
//! Run with `cargo bench -p resilience-cache --bench cache`.

use quick_cache::sync::Cache as QuickCache;
use resilience_cache::{CacheConfig, TtlCache};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEYS: u64 = 1_000;
const BATCH: u64 = 200_000;
const RUNS: usize = 15;
const TASKS: u64 = 8;
const HOT_KEYS: u64 = 16;
const PER_TASK: u64 = 50_000;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// Median nanoseconds per call of `op` over `RUNS` batches of `BATCH` calls.
fn per_op(mut op: impl FnMut(u64)) -> f64 {
    for i in 0..BATCH {
        op(i); // warm-up
    }
    let samples = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for i in 0..BATCH {
                op(i);
            }
            start.elapsed().as_nanos() as f64 / BATCH as f64
        })
        .collect();
    median(samples)
}

fn bench_hits() {
    let ttl: TtlCache<u64, u64> = TtlCache::new(
        "bench",
        CacheConfig::new(Duration::from_secs(3600)).max_entries(KEYS * 2),
    )
    .expect("valid config");
    let quick: QuickCache<u64, u64> = QuickCache::new((KEYS * 2) as usize);
    // The least a TTL on quick_cache can do: store the deadline and read tokio's clock per get.
    let by_hand: QuickCache<u64, (u64, tokio::time::Instant)> =
        QuickCache::new((KEYS * 2) as usize);
    let expires = tokio::time::Instant::now() + Duration::from_secs(3600);
    for k in 0..KEYS {
        ttl.insert(k, k);
        quick.insert(k, k);
        by_hand.insert(k, (k, expires));
    }
    // Interleave the two measurements so drift affects both alike.
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut hand = Vec::new();
    for _ in 0..3 {
        hand.push(per_op(|i| {
            let hit = by_hand
                .get(&black_box(i % KEYS))
                .filter(|(_, at)| tokio::time::Instant::now() < *at)
                .map(|(v, _)| v);
            black_box(hit);
        }));
        ours.push(per_op(|i| {
            black_box(ttl.get(&black_box(i % KEYS)));
        }));
        theirs.push(per_op(|i| {
            black_box(quick.get(&black_box(i % KEYS)));
        }));
    }
    let (ours, theirs, hand) = (median(ours), median(theirs), median(hand));
    println!("hit: TtlCache::get            {ours:>8.1} ns/op");
    println!("hit: quick_cache::Cache::get  {theirs:>8.1} ns/op");
    println!("hit: quick_cache + clock read {hand:>8.1} ns/op (hand-rolled TTL, no stats)");
    println!(
        "hit: ratio ours/hand-rolled   {:>8.2}x (the wrapper's own cost)",
        ours / hand
    );
    println!(
        "hit: ratio ours/quick_cache   {:>8.2}x (target <= 1.50x)",
        ours / theirs
    );
}

fn bench_concurrent_fill() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime");
    let ours_ns = median(
        (0..7)
            .map(|_| {
                runtime.block_on(async {
                    let cache: TtlCache<u64, u64> =
                        TtlCache::new("bench-fill", CacheConfig::new(Duration::from_secs(3600)))
                            .expect("valid config");
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|t| {
                            let cache = cache.clone();
                            tokio::spawn(async move {
                                for i in 0..PER_TASK {
                                    let key = (i + t) % HOT_KEYS;
                                    let v = cache
                                        .get_or_insert_with(key, move || async move {
                                            Ok::<u64, ()>(key * 2)
                                        })
                                        .await;
                                    black_box(v.ok());
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("task");
                    }
                    start.elapsed().as_nanos() as f64 / (TASKS * PER_TASK) as f64
                })
            })
            .collect(),
    );
    let quick_ns = median(
        (0..7)
            .map(|_| {
                runtime.block_on(async {
                    let cache: Arc<QuickCache<u64, u64>> = Arc::new(QuickCache::new(10_000));
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|t| {
                            let cache = Arc::clone(&cache);
                            tokio::spawn(async move {
                                for i in 0..PER_TASK {
                                    let key = (i + t) % HOT_KEYS;
                                    let v = cache
                                        .get_or_insert_async(
                                            &key,
                                            async move { Ok::<u64, ()>(key * 2) },
                                        )
                                        .await;
                                    black_box(v.ok());
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("task");
                    }
                    start.elapsed().as_nanos() as f64 / (TASKS * PER_TASK) as f64
                })
            })
            .collect(),
    );
    println!(
        "get_or_insert_with, {TASKS} tasks, {HOT_KEYS} hot keys: TtlCache {ours_ns:>8.1} ns/op"
    );
    println!("get_or_insert_async, same load:    quick_cache {quick_ns:>8.1} ns/op");
    println!(
        "get_or_insert: ratio ours/quick_cache   {:>8.2}x",
        ours_ns / quick_ns
    );
}

fn main() {
    bench_hits();
    bench_concurrent_fill();
}
