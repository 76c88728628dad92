//! Per-call overhead of the rate limiter on the permit-available path, over a ready no-op
//! service, against the bare service: one task, then 8 concurrent tasks. Std timing, medians.
//!
//! Run with `cargo bench -p resilience-ratelimit`.
#![allow(missing_docs)]

use resilience_core::{BoxError, Outcome};
use resilience_ratelimit::{FixedKey, NoSignals, Quota, RateKey, RateLimitLayer};
use std::future::{Ready, ready};
use std::hint::black_box;
use std::num::NonZeroU32;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service, ServiceExt};

#[derive(Clone, Copy)]
struct Noop;

impl Service<u64> for Noop {
    type Response = u64;
    type Error = BoxError;
    type Future = Ready<Result<u64, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: u64) -> Self::Future {
        ready(Ok(req))
    }
}

#[derive(Clone, Copy)]
struct NoopHttp;

impl Service<http::Request<()>> for NoopHttp {
    type Response = http::Response<()>;
    type Error = BoxError;
    type Future = Ready<Result<http::Response<()>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: http::Request<()>) -> Self::Future {
        ready(Ok(http::Response::new(())))
    }
}

async fn drive_http<S>(mut svc: S, calls: u64)
where
    S: Service<http::Request<()>, Response = http::Response<()>>,
    S::Error: std::fmt::Debug,
{
    for _ in 0..calls {
        let req = http::Request::builder()
            .uri("https://api.hubapi.com/crm/v3/objects/contacts")
            .header(
                "authorization",
                "Bearer pat-na1-00000000-0000-0000-0000-000000000000",
            )
            .body(())
            .unwrap();
        let out = svc
            .ready()
            .await
            .unwrap()
            .call(black_box(req))
            .await
            .unwrap();
        black_box(out);
    }
}

const CALLS: u64 = 200_000;
const RUNS: usize = 11;
const TASKS: u64 = 8;

async fn drive<S>(mut svc: S, calls: u64)
where
    S: Service<u64, Response = u64>,
    S::Error: std::fmt::Debug,
{
    for i in 0..calls {
        let out = svc.ready().await.unwrap().call(black_box(i)).await.unwrap();
        black_box(out);
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn ns_per_call(elapsed: Duration, calls: u64) -> f64 {
    elapsed.as_nanos() as f64 / calls as f64
}

fn main() {
    // A quota that is never exhausted: the permit-available path.
    let quota = Quota::per_second(NonZeroU32::MAX);
    let limited_on = |key: &'static str| {
        RateLimitLayer::new("bench", quota)
            .with_key_fn(FixedKey(RateKey::scope(key)))
            .with_classifier(|_: &Result<u64, BoxError>| Outcome::Success)
            .with_signals(NoSignals)
            .layer(Noop)
    };
    let limited = || limited_on("bench");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut bare = Vec::new();
    let mut with = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        rt.block_on(drive(Noop, CALLS));
        bare.push(ns_per_call(t.elapsed(), CALLS));
        let svc = limited();
        let t = Instant::now();
        rt.block_on(drive(svc, CALLS));
        with.push(ns_per_call(t.elapsed(), CALLS));
    }
    let (b1, w1) = (median(bare), median(with));

    // The HTTP defaults: HttpKey (host + SHA-256 of the token), HttpClassifier, HttpSignals.
    let mut bare_http = Vec::new();
    let mut with_http = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        rt.block_on(drive_http(NoopHttp, CALLS / 4));
        bare_http.push(ns_per_call(t.elapsed(), CALLS / 4));
        let svc = RateLimitLayer::new("bench", quota).layer(NoopHttp);
        let t = Instant::now();
        rt.block_on(drive_http(svc, CALLS / 4));
        with_http.push(ns_per_call(t.elapsed(), CALLS / 4));
    }
    let (bh, wh) = (median(bare_http), median(with_http));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let run_tasks = |make: &dyn Fn() -> Box<dyn FnOnce() -> tokio::task::JoinHandle<()>>| {
        let t = Instant::now();
        rt.block_on(async {
            let handles: Vec<_> = (0..TASKS).map(|_| make()()).collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        ns_per_call(t.elapsed(), CALLS * TASKS)
    };
    let mut bare8 = Vec::new();
    let mut with8 = Vec::new();
    let mut keyed8 = Vec::new();
    const KEYS: [&str; 8] = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];
    for _ in 0..RUNS {
        bare8.push(run_tasks(&|| Box::new(|| tokio::spawn(drive(Noop, CALLS)))));
        let svc = limited();
        with8.push(run_tasks(&|| {
            let svc = svc.clone();
            Box::new(move || tokio::spawn(drive(svc, CALLS)))
        }));
        let next = std::cell::Cell::new(0usize);
        keyed8.push(run_tasks(&|| {
            let svc = limited_on(KEYS[next.get() % KEYS.len()]);
            next.set(next.get() + 1);
            Box::new(move || tokio::spawn(drive(svc, CALLS)))
        }));
    }
    let (b8, w8, k8) = (median(bare8), median(with8), median(keyed8));

    println!("rate limiter, permit available, over a ready no-op service (median of {RUNS} runs)");
    println!(
        "1 task : bare {b1:7.1} ns/call, limited {w1:7.1} ns/call, overhead {:7.1} ns, ratio {:.2}x",
        w1 - b1,
        w1 / b1
    );
    println!(
        "1 task : bare {bh:7.1} ns/call, limited {wh:7.1} ns/call, overhead {:7.1} ns, ratio {:.2}x (HTTP defaults: HttpKey with a bearer token, HttpClassifier, HttpSignals; bare includes building the request)",
        wh - bh,
        wh / bh
    );
    println!(
        "8 tasks: bare {b8:7.1} ns/call, limited {w8:7.1} ns/call, overhead {:7.1} ns, ratio {:.2}x (2 worker threads, one shared key)",
        w8 - b8,
        w8 / b8
    );
    println!(
        "8 tasks: bare {b8:7.1} ns/call, limited {k8:7.1} ns/call, overhead {:7.1} ns, ratio {:.2}x (2 worker threads, a key per task)",
        k8 - b8,
        k8 / b8
    );
}
