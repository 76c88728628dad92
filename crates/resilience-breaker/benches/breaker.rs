//! Per-call overhead of the circuit breaker over a ready no-op service, against the bare service.
//!
//! Run with `cargo bench -p resilience-breaker`. Prints medians of several samples: nanoseconds
//! per call on one task, then the aggregate throughput of 8 tasks on a multi-thread runtime
//! (one service clone each, all sharing one breaker), and the ratios breaker / bare. The closed
//! path should add well under 150 ns per call, and the 8-task ratio should stay close to the
//! 1-task ratio: the breaker's shared state must not become a point of contention.

use resilience_breaker::{Breaker, BreakerConfig, CircuitBreaker};
use resilience_core::Outcome;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tower::Service;

/// A service that is always ready and answers at once.
#[derive(Clone, Copy)]
struct Noop;

impl Service<u64> for Noop {
    type Response = u64;
    type Error = Infallible;
    type Future = Ready<Result<u64, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: u64) -> Self::Future {
        ready(Ok(req))
    }
}

fn classify(result: &Result<u64, Infallible>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err(never) => match *never {},
    }
}

/// Drives `iterations` calls of `svc` to completion, polling with a no-op waker (every future
/// here is ready at once).
fn drive<S>(svc: &mut S, iterations: u64) -> u64
where
    S: Service<u64, Response = u64>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    let mut sum = 0u64;
    for i in 0..iterations {
        match svc.poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {}
            other => panic!("not ready: {:?}", other.map(|r| r.err())),
        }
        let future = pin!(svc.call(black_box(i)));
        match future.poll(&mut cx) {
            Poll::Ready(Ok(v)) => sum = sum.wrapping_add(v),
            Poll::Ready(Err(e)) => panic!("call failed: {e:?}"),
            Poll::Pending => panic!("no-op service pending"),
        }
    }
    sum
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

const SAMPLES: usize = 9;
const ITERATIONS: u64 = 1_000_000;
const TASKS: u64 = 8;

/// Median nanoseconds per call on the current thread.
fn single<S>(make: impl Fn() -> S) -> f64
where
    S: Service<u64, Response = u64>,
    S::Error: std::fmt::Debug,
{
    let mut svc = make();
    black_box(drive(&mut svc, ITERATIONS / 10)); // warm up
    median(
        (0..SAMPLES)
            .map(|_| {
                let start = Instant::now();
                black_box(drive(&mut svc, ITERATIONS));
                start.elapsed().as_nanos() as f64 / ITERATIONS as f64
            })
            .collect(),
    )
}

/// Median aggregate nanoseconds per call with `TASKS` tasks calling at once.
fn concurrent<S>(runtime: &tokio::runtime::Runtime, make: impl Fn() -> S) -> f64
where
    S: Service<u64, Response = u64> + Send + 'static,
    S::Error: std::fmt::Debug,
{
    median(
        (0..SAMPLES)
            .map(|_| {
                let services: Vec<S> = (0..TASKS).map(|_| make()).collect();
                let start = Instant::now();
                runtime.block_on(async {
                    let handles: Vec<_> = services
                        .into_iter()
                        .map(|mut svc| {
                            tokio::spawn(async move { black_box(drive(&mut svc, ITERATIONS)) })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("task");
                    }
                });
                start.elapsed().as_nanos() as f64 / (ITERATIONS * TASKS) as f64
            })
            .collect(),
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());

    let closed = Breaker::new("bench", BreakerConfig::default());
    let guarded = || CircuitBreaker::new(Noop, closed.clone(), classify);

    // For scale: tower's own ConcurrencyLimit, which also shares atomic state through an Arc.
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(1 << 20));
    let limited = || tower::limit::ConcurrencyLimit::with_semaphore(Noop, semaphore.clone());

    let bare_1 = single(|| Noop);
    let breaker_1 = single(guarded);
    let limit_1 = single(limited);

    let open = Breaker::new("bench-open", BreakerConfig::default());
    open.force_open();
    let rejecting = || CircuitBreaker::new(Noop, open.clone(), classify);
    let mut cx = Context::from_waker(Waker::noop());
    let open_1 = {
        let mut svc = rejecting();
        median(
            (0..SAMPLES)
                .map(|_| {
                    let start = Instant::now();
                    for i in 0..ITERATIONS / 10 {
                        let _ = svc.poll_ready(&mut cx);
                        let result = pin!(svc.call(black_box(i))).poll(&mut cx);
                        black_box(matches!(result, Poll::Ready(Err(_))));
                    }
                    start.elapsed().as_nanos() as f64 / (ITERATIONS / 10) as f64
                })
                .collect(),
        )
    };

    let bare_8 = concurrent(&runtime, || Noop);
    let breaker_8 = concurrent(&runtime, guarded);
    let limit_8 = concurrent(&runtime, limited);
    assert_eq!(
        closed.state(),
        resilience_breaker::State::Closed,
        "the breaker stayed closed"
    );

    println!("circuit breaker overhead over a ready no-op service (median of {SAMPLES} samples)");
    println!("{workers} CPU(s); {ITERATIONS} calls per task per sample");
    println!();
    println!("1 task   bare     {bare_1:8.1} ns/call");
    println!(
        "1 task   breaker  {breaker_1:8.1} ns/call   overhead {:6.1} ns   ratio {:5.2}",
        breaker_1 - bare_1,
        breaker_1 / bare_1
    );
    println!("1 task   open     {open_1:8.1} ns/call   (fast-fail rejection, forced open)");
    println!(
        "1 task   tower ConcurrencyLimit {limit_1:6.1} ns/call   (reference: breaker / limit = {:.2})",
        breaker_1 / limit_1
    );
    println!(
        "{TASKS} tasks  bare     {bare_8:8.1} ns/call aggregate ({:.1} M calls/s)",
        1e3 / bare_8
    );
    println!(
        "{TASKS} tasks  breaker  {breaker_8:8.1} ns/call aggregate ({:.1} M calls/s)   overhead {:6.1} ns   ratio {:5.2}",
        1e3 / breaker_8,
        breaker_8 - bare_8,
        breaker_8 / bare_8
    );
    println!(
        "{TASKS} tasks  tower ConcurrencyLimit {limit_8:6.1} ns/call aggregate   (reference: breaker / limit = {:.2})",
        breaker_8 / limit_8
    );
    println!();
    println!(
        "breaker throughput, {TASKS} tasks vs 1 task: {:.2}x (bare: {:.2}x; the machine has {workers} CPU(s))",
        breaker_1 / breaker_8,
        bare_1 / bare_8
    );
}
