//! `ratelimit-fleet-worker`: sends N requests to a (sandbox) HubSpot URL through a
//! `RateLimitLayer` on a `RedisStore`, then prints one summary line. The fleet tests spawn it
//! several times to check that separate processes share one budget.
//!
//! ```text
//! ratelimit-fleet-worker --url http://127.0.0.1:PORT --token TOKEN --redis redis://127.0.0.1:6379
//!     [--prefix P] [--requests 50] [--concurrency 4] [--count 47] [--period-ms 500] [--burst 1]
//!     [--workers 4] [--worker-id w1] [--timeout-ms 50]
//! ```
//!
//! Output: `ok=N errors=N throttled=N other=N sharing=true transitions=N`.

mod http1;

use resilience_ratelimit::{Quota, RateLimitLayer};
use resilience_ratelimit_redis::RedisStore;
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tower::{ServiceBuilder, ServiceExt};

struct Args {
    url: String,
    token: String,
    redis: String,
    prefix: String,
    requests: usize,
    concurrency: usize,
    count: u32,
    period: Duration,
    burst: u32,
    workers: u32,
    worker_id: String,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        token: String::new(),
        redis: String::new(),
        prefix: resilience_ratelimit_redis::DEFAULT_KEY_PREFIX.to_owned(),
        requests: 50,
        concurrency: 4,
        count: 47,
        period: Duration::from_millis(500),
        burst: 1,
        workers: 4,
        worker_id: std::process::id().to_string(),
        timeout: resilience_ratelimit_redis::DEFAULT_TIMEOUT,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => args.url = value,
            "--token" => args.token = value,
            "--redis" => args.redis = value,
            "--prefix" => args.prefix = value,
            "--requests" => args.requests = num(&value)? as usize,
            "--concurrency" => args.concurrency = num(&value)?.max(1) as usize,
            "--count" => args.count = num(&value)? as u32,
            "--period-ms" => args.period = Duration::from_millis(num(&value)?),
            "--burst" => args.burst = num(&value)? as u32,
            "--workers" => args.workers = num(&value)? as u32,
            "--worker-id" => args.worker_id = value,
            "--timeout-ms" => args.timeout = Duration::from_millis(num(&value)?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.url.is_empty() || args.redis.is_empty() {
        return Err("--url and --redis are required".to_owned());
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("ratelimit-fleet-worker: {message}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ratelimit-fleet-worker: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let quota = Quota::per_period(args.count, args.period)
        .map_err(|e| e.to_string())?
        .with_burst(NonZeroU32::new(args.burst).ok_or("--burst must be at least 1")?);
    let store = RedisStore::builder(args.redis.as_str())
        .service("hubspot")
        .key_prefix(args.prefix.as_str())
        .timeout(args.timeout)
        .expected_workers(NonZeroU32::new(args.workers).ok_or("--workers must be at least 1")?)
        .build()
        .map_err(|e| e.to_string())?;
    let service = ServiceBuilder::new()
        .layer(RateLimitLayer::new("hubspot", quota).with_store(store.clone()))
        .service(http1::Http1);
    let next = Arc::new(AtomicUsize::new(0));
    let counts: Arc<[AtomicUsize; 4]> = Arc::new(Default::default()); // ok, errors, 429, other
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let service = service.clone();
        let next = Arc::clone(&next);
        let counts = Arc::clone(&counts);
        let uri = format!("{}/crm/v3/objects/contacts?limit=1", args.url);
        let token = args.token.clone();
        let worker = args.worker_id.clone();
        let total = args.requests;
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::AcqRel) < total {
                let request = http::Request::get(uri.as_str())
                    .header("authorization", format!("Bearer {token}"))
                    .header("x-fleet-worker", worker.as_str())
                    .body(())
                    .map_err(|e| e.to_string());
                let slot = match request {
                    Ok(request) => match service.clone().oneshot(request).await {
                        Ok(r) if r.status().is_success() => 0,
                        Ok(r) if r.status().as_u16() == 429 => 2,
                        Ok(_) => 3,
                        Err(_) => 1,
                    },
                    Err(_) => 1,
                };
                counts[slot].fetch_add(1, Ordering::AcqRel);
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())?;
    }
    let [ok, errors, throttled, other] = &*counts;
    println!(
        "ok={} errors={} throttled={} other={} sharing={} transitions={}",
        ok.load(Ordering::Acquire),
        errors.load(Ordering::Acquire),
        throttled.load(Ordering::Acquire),
        other.load(Ordering::Acquire),
        store.is_sharing(),
        store.transitions()
    );
    Ok(())
}
