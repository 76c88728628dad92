//! MetricsLayer overhead per call over a bare no-op service (target: under 300 ns).
//!
//! Run with `cargo bench -p obs-metrics`. Std timing, medians of 31 samples.

use http::{Request, Response};
use obs_metrics::{MetricsLayer, PrometheusConfig};
use resilience_core::extensions::Operation;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tower::{Layer, Service, service_fn};

const CALLS: u32 = 50_000;
const SAMPLES: usize = 31;

fn noop(_request: Request<()>) -> Ready<Result<Response<()>, Infallible>> {
    ready(Ok(Response::new(())))
}

/// Calls `service` once and polls the future to completion without a runtime.
fn call_once<S>(service: &mut S, request: Request<()>)
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible>,
{
    let mut cx = Context::from_waker(Waker::noop());
    let fut = pin!(service.call(request));
    match fut.poll(&mut cx) {
        Poll::Ready(result) => {
            black_box(result.ok());
        }
        Poll::Pending => unreachable!("the no-op service is always ready"),
    }
}

fn median_ns_per_call<S>(mut service: S, operations: &[&'static str], upkeep: &dyn Fn()) -> f64
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible>,
{
    // Requests are built outside the timed loop (the extension insert is the client's cost).
    let template: Vec<Request<()>> = operations
        .iter()
        .map(|op| {
            let mut r = Request::new(());
            r.extensions_mut().insert(Operation::new(op));
            r
        })
        .collect();
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        // What the exporter's upkeep thread does every few seconds: drain histogram samples.
        upkeep();
        let mut requests: Vec<Request<()>> = (0..CALLS as usize)
            .map(|i| {
                let t = &template[i % template.len()];
                let mut r = Request::new(());
                *r.extensions_mut() = t.extensions().clone();
                r
            })
            .collect();
        let start = Instant::now();
        for request in requests.drain(..) {
            call_once(&mut service, request);
        }
        samples.push(start.elapsed().as_nanos() as f64 / f64::from(CALLS));
    }
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

fn main() {
    let nothing = || {};
    // The layer's own cost, with no recorder installed (every handle is a no-op).
    let bare = median_ns_per_call(service_fn(noop), &["contacts.get"], &nothing);
    let no_recorder = median_ns_per_call(
        MetricsLayer::new("bench")
            .expect("valid prefix")
            .layer(service_fn(noop)),
        &["contacts.get"],
        &nothing,
    );

    let (recorder, exporter) = PrometheusConfig::new().build();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let upkeep = || exporter.handle().run_upkeep();
    let layer = MetricsLayer::new("bench").expect("valid prefix");
    let one_op = median_ns_per_call(layer.layer(service_fn(noop)), &["contacts.get"], &upkeep);
    let four_ops = median_ns_per_call(
        layer.layer(service_fn(noop)),
        &[
            "contacts.get",
            "contacts.search",
            "deals.get",
            "owners.list",
        ],
        &upkeep,
    );

    println!("bare no-op service:             {bare:8.1} ns/call");
    println!(
        "MetricsLayer, no recorder:      {no_recorder:8.1} ns/call  (overhead {:6.1} ns)",
        no_recorder - bare
    );
    println!("with the Prometheus recorder:");
    println!(
        "MetricsLayer, 1 operation:      {one_op:8.1} ns/call  (overhead {:6.1} ns, ratio {:5.1}x)",
        one_op - bare,
        one_op / bare
    );
    println!(
        "MetricsLayer, 4 operations:     {four_ops:8.1} ns/call  (overhead {:6.1} ns, ratio {:5.1}x)",
        four_ops - bare,
        four_ops / bare
    );
    let worst = (one_op - bare).max(four_ops - bare);
    println!(
        "target: overhead < 300 ns/call -> {}",
        if worst < 300.0 { "met" } else { "NOT met" }
    );
    // Keep the exporter honest: everything was recorded.
    let snapshot = exporter.snapshot();
    let total: f64 = snapshot
        .counters
        .iter()
        .filter(|c| c.name == "bench_api_requests_total")
        .map(|c| c.value)
        .sum();
    assert_eq!(total, f64::from(CALLS) * (2 * SAMPLES) as f64);
}
