//! `cargo bench -p resilience-ratelimit-redis`: the cost of a permit through Redis on loopback
//! against the in-memory store, and the fleet rate achieved against the limit for 1, 4 and 16
//! workers (tasks, each with its own store and connection). Starts its own `redis-server`
//! (Debian package `redis-server`) unless `REDIS_URL` is set.

#[path = "../tests/common/mod.rs"]
mod common;

use resilience_ratelimit::{Decision, InMemoryStore, Quota, RateKey, RateLimitStore};
use resilience_ratelimit_redis::RedisStore;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

const PERMITS: usize = 20_000;

async fn latency<S: RateLimitStore>(store: &S, key: &RateKey) -> (f64, Vec<Duration>) {
    // A quota no loop can exhaust: every permit is granted at once.
    let quota = Quota::per_second(NonZeroU32::MAX);
    for _ in 0..1_000 {
        let _ = store.acquire(key, quota, Duration::ZERO).await;
    }
    let mut each = Vec::with_capacity(PERMITS);
    let start = Instant::now();
    for _ in 0..PERMITS {
        let t = Instant::now();
        let d = store.acquire(key, quota, Duration::ZERO).await;
        each.push(t.elapsed());
        assert!(matches!(d, Ok(Decision::Granted(_))), "{d:?}");
    }
    let per = start.elapsed().as_nanos() as f64 / PERMITS as f64;
    each.sort();
    (per, each)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

async fn fleet_rate(url: &str, workers: usize, limit: u32, run: Duration) -> (usize, f64) {
    let prefix = common::unique_prefix(&format!("bench-fleet-{workers}"));
    let key = RateKey::scope("bench");
    let quota = Quota::per_second(NonZeroU32::new(limit).unwrap()).with_burst(NonZeroU32::MIN);
    let start = tokio::time::Instant::now();
    let end = start + run;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let store = RedisStore::builder(url)
            .key_prefix(prefix.as_str())
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            loop {
                match store.acquire(&key, quota, Duration::from_secs(1)).await {
                    Ok(Decision::Granted(g)) => {
                        let at = tokio::time::Instant::now() + g.wait;
                        if at >= end {
                            break;
                        }
                        tokio::time::sleep_until(at).await;
                        sent.push(at);
                    }
                    other => panic!("{other:?}"),
                }
            }
            (sent, store.transitions())
        }));
    }
    let mut total = 0;
    for task in tasks {
        let (sent, transitions) = task.await.unwrap();
        assert_eq!(transitions, 0, "redis stayed reachable");
        total += sent.len();
    }
    let rate = total as f64 / run.as_secs_f64();
    (total, rate / f64::from(limit))
}

fn main() {
    let (url, _server) = common::redis();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = RateKey::scope("bench-latency");
        let memory = InMemoryStore::new();
        let redis = RedisStore::builder(url.as_str())
            .key_prefix(common::unique_prefix("bench-latency").as_str())
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let (mem_ns, _) = latency(&memory, &key).await;
        let (redis_ns, sorted) = latency(&redis, &key).await;
        assert!(redis.is_sharing(), "redis stayed reachable");
        println!("permit latency, one task, {PERMITS} permits");
        println!("| store | mean per permit | p50 | p99 |");
        println!("| --- | --- | --- | --- |");
        println!("| InMemoryStore | {mem_ns:.0} ns | | |");
        println!(
            "| RedisStore (loopback) | {:.1} µs | {:.1} µs | {:.1} µs |",
            redis_ns / 1000.0,
            pct(&sorted, 0.5).as_nanos() as f64 / 1000.0,
            pct(&sorted, 0.99).as_nanos() as f64 / 1000.0
        );
        println!("ratio Redis / in-memory: {:.0}x", redis_ns / mem_ns);
        println!();

        let limit = 200;
        let run = Duration::from_secs(3);
        println!("fleet rate: {limit}/s limit (burst 1), {run:?} per run, one store per worker");
        println!("| workers | permits used | achieved / limit |");
        println!("| --- | --- | --- |");
        for workers in [1, 4, 16] {
            let (total, ratio) = fleet_rate(&url, workers, limit, run).await;
            println!("| {workers} | {total} | {ratio:.3} |");
        }
    });
}
