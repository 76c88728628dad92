//! Per-call overhead of the `Retry` service when no retry happens, against the bare service.
//!
//! Run with `cargo bench -p resilience-retry`. Each figure is the median of several samples of
//! many calls; calls are driven by hand (poll_ready, call, poll once with a no-op waker) so no
//! runtime overhead is measured. The 8-task rows run 8 threads calling clones of one service
//! (so they share one retry budget) and report wall time divided by the total number of calls,
//! so on a machine with fewer than 8 cores it is a throughput figure, not a latency.

use resilience_core::{BoxError, Outcome};
use resilience_retry::{Replayable, Retry, RetryPolicy};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tower::Service;

const CALLS: u64 = 200_000;
const SAMPLES: usize = 11;
const THREADS: usize = 8;

/// A service that is always ready and answers at once.
#[derive(Clone, Copy, Debug)]
struct NoOp;

impl Service<Replayable<u64>> for NoOp {
    type Response = u64;
    type Error = BoxError;
    type Future = std::future::Ready<Result<u64, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Replayable<u64>) -> Self::Future {
        std::future::ready(Ok(*req.get_ref()))
    }
}

fn drive<S>(svc: &mut S, calls: u64)
where
    S: Service<Replayable<u64>, Response = u64>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    for i in 0..calls {
        match svc.poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {}
            other => panic!("service not ready: {other:?}"),
        }
        let fut = pin!(svc.call(Replayable::new(black_box(i))));
        match fut.poll(&mut cx) {
            Poll::Ready(Ok(v)) => {
                black_box(v);
            }
            Poll::Ready(Err(e)) => panic!("call failed: {e:?}"),
            Poll::Pending => panic!("a no-op call must finish at once"),
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Median nanoseconds per call on one thread.
fn single<S>(make: impl Fn() -> S) -> f64
where
    S: Service<Replayable<u64>, Response = u64>,
    S::Error: std::fmt::Debug,
{
    let mut svc = make();
    drive(&mut svc, CALLS / 10); // warm up
    median(
        (0..SAMPLES)
            .map(|_| {
                let start = Instant::now();
                drive(&mut svc, CALLS);
                start.elapsed().as_nanos() as f64 / CALLS as f64
            })
            .collect(),
    )
}

/// Median wall nanoseconds per call with `THREADS` threads calling clones of one service.
fn concurrent<S>(make: impl Fn() -> S) -> f64
where
    S: Service<Replayable<u64>, Response = u64> + Clone + Send + 'static,
    S::Error: std::fmt::Debug,
{
    let svc = make();
    // Every thread makes CALLS calls, so thread start-up is amortised over many calls.
    let per_thread = CALLS;
    median(
        (0..SAMPLES)
            .map(|_| {
                let start = Instant::now();
                let handles: Vec<_> = (0..THREADS)
                    .map(|_| {
                        let mut svc = svc.clone();
                        std::thread::spawn(move || drive(&mut svc, per_thread))
                    })
                    .collect();
                for h in handles {
                    h.join().expect("bench thread panicked");
                }
                start.elapsed().as_nanos() as f64 / (per_thread * THREADS as u64) as f64
            })
            .collect(),
    )
}

fn classify(result: &Result<u64, BoxError>) -> Outcome {
    if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

type Classifier = fn(&Result<u64, BoxError>) -> Outcome;

fn retry_with_budget() -> Retry<NoOp, Classifier> {
    let policy = RetryPolicy::builder("bench")
        .classifier(classify as Classifier)
        .build()
        .expect("valid policy");
    Retry::new(NoOp, policy)
}

fn retry_without_budget() -> Retry<NoOp, Classifier> {
    let policy = RetryPolicy::builder("bench")
        .classifier(classify as Classifier)
        .no_budget()
        .build()
        .expect("valid policy");
    Retry::new(NoOp, policy)
}

fn main() {
    // A runtime context is not needed: no retry happens, so no timer is created.
    let bare_1 = single(|| NoOp);
    let retry_1 = single(retry_with_budget);
    let nobudget_1 = single(retry_without_budget);
    let bare_8 = concurrent(|| NoOp);
    let retry_8 = concurrent(retry_with_budget);
    let nobudget_8 = concurrent(retry_without_budget);

    println!(
        "resilience-retry: per-call cost over a ready no-op service (median of {SAMPLES} x {CALLS} calls)"
    );
    println!(
        "{:<28} {:>12} {:>12} {:>10} {:>10}",
        "service", "1 task ns", "8 tasks ns", "ratio 1", "ratio 8"
    );
    let row = |name: &str, one: f64, eight: f64| {
        println!(
            "{name:<28} {one:>12.1} {eight:>12.1} {:>9.2}x {:>9.2}x",
            one / bare_1,
            eight / bare_8
        );
    };
    row("bare no-op", bare_1, bare_8);
    row("Retry (default budget)", retry_1, retry_8);
    row("Retry (no budget)", nobudget_1, nobudget_8);
    println!(
        "added per call: {:.1} ns (1 task), {:.1} ns (8 tasks); budget share {:.1} ns / {:.1} ns",
        retry_1 - bare_1,
        retry_8 - bare_8,
        retry_1 - nobudget_1,
        retry_8 - nobudget_8,
    );
}
