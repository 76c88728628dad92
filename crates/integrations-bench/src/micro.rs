//! Layer micro-benchmarks against the crates' public APIs: each layer over a ready no-op service
//! against the bare service, on one thread and on 8 threads sharing one layer's state.
//!
//! Calls are driven by hand (`poll_ready`, `call`, one poll with a no-op waker), so no runtime
//! scheduling is measured; every thread enters a tokio runtime context for the layers that read
//! `tokio::time`. The 8-thread figures are wall time divided by all calls (a throughput figure
//! on a machine with fewer than 8 cores).

use crate::report::{Better, Row};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Request, Response};
use obs_metrics::{MetricsLayer, PrometheusConfig, PrometheusExporter};
use quick_cache::sync::Cache as QuickCache;
use resilience_breaker::{Breaker, BreakerConfig, CircuitBreaker};
use resilience_cache::{CacheConfig, TtlCache};
use resilience_core::extensions::Operation;
use resilience_core::{BoxError, Outcome};
use resilience_ratelimit::{FixedKey, NoSignals, Quota, RateKey, RateLimitLayer};
use resilience_retry::{Replayable, Retry, RetryPolicy};
use sha2::Sha256;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tower::{Layer, Service};
use webhook_verify::{HubSpotVerifier, HubSpotVersion, Verify, WebhookRequest, hubspot};

/// How much work each micro-benchmark does.
#[derive(Debug, Clone, Copy)]
pub struct MicroConfig {
    /// Calls per sample on one thread (each of the 8 threads makes a quarter of this).
    pub calls: u64,
    /// Samples per figure; the median is reported.
    pub samples: usize,
    /// Threads of the concurrent figure.
    pub threads: usize,
}

impl MicroConfig {
    /// The configuration of `cargo xtask bench`.
    pub fn full() -> Self {
        Self {
            calls: 200_000,
            samples: 9,
            threads: 8,
        }
    }

    /// A tiny configuration for tests: numbers are meaningless, the code paths are exercised.
    pub fn quick() -> Self {
        Self {
            calls: 200,
            samples: 3,
            threads: 8,
        }
    }
}

/// A service that is always ready and answers at once.
#[derive(Debug, Clone, Copy)]
struct Noop;

impl<R> Service<R> for Noop {
    type Response = ();
    type Error = BoxError;
    type Future = Ready<Result<(), BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: R) -> Self::Future {
        black_box(req);
        ready(Ok(()))
    }
}

/// A no-op HTTP service answering an empty 200.
#[derive(Debug, Clone, Copy)]
struct NoopHttp;

impl Service<Request<()>> for NoopHttp {
    type Response = Response<()>;
    type Error = BoxError;
    type Future = Ready<Result<Response<()>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        black_box(req);
        ready(Ok(Response::new(())))
    }
}

/// One call of `svc` driven to completion by hand.
fn call_once<S, R>(svc: &mut S, req: R) -> Result<(), String>
where
    S: Service<R>,
    S::Error: std::fmt::Display,
{
    let mut cx = Context::from_waker(Waker::noop());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(e)) => return Err(format!("poll_ready failed: {e}")),
        Poll::Pending => return Err("service not ready".to_string()),
    }
    let fut = pin!(svc.call(req));
    match fut.poll(&mut cx) {
        Poll::Ready(Ok(v)) => {
            black_box(v);
            Ok(())
        }
        Poll::Ready(Err(e)) => Err(format!("call failed: {e}")),
        Poll::Pending => Err("a call over a no-op service did not finish at once".to_string()),
    }
}

/// A worker: called with the call index, does one operation.
type Work = Box<dyn FnMut(u64) -> Result<(), String> + Send>;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Wall nanoseconds per call of `threads` workers made by `make`, each doing `calls` calls.
fn run_once(
    runtime: &tokio::runtime::Handle,
    threads: usize,
    calls: u64,
    make: &(dyn Fn() -> Work + Sync),
) -> Result<f64, String> {
    let workers: Vec<Work> = (0..threads).map(|_| make()).collect();
    let start = Instant::now();
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .into_iter()
            .map(|mut work| {
                scope.spawn(move || {
                    let _guard = runtime.enter();
                    for i in 0..calls {
                        work(i)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("bench thread panicked".to_string()))
            })
            .collect()
    });
    let elapsed = start.elapsed();
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(elapsed.as_nanos() as f64 / (calls * threads as u64) as f64)
}

/// Medians of subject and baseline, measured in alternating samples.
fn pair(
    runtime: &tokio::runtime::Handle,
    config: MicroConfig,
    threads: usize,
    subject: &(dyn Fn() -> Work + Sync),
    baseline: &(dyn Fn() -> Work + Sync),
) -> Result<(f64, f64), String> {
    let calls = if threads == 1 {
        config.calls
    } else {
        (config.calls / 4).max(1)
    };
    // Warm-up.
    run_once(runtime, threads, (calls / 10).max(1), subject)?;
    run_once(runtime, threads, (calls / 10).max(1), baseline)?;
    let mut s = Vec::with_capacity(config.samples);
    let mut b = Vec::with_capacity(config.samples);
    for sample in 0..config.samples {
        // Alternate which goes first, so neither always runs right after the warm-up.
        if sample % 2 == 0 {
            b.push(run_once(runtime, threads, calls, baseline)?);
            s.push(run_once(runtime, threads, calls, subject)?);
        } else {
            s.push(run_once(runtime, threads, calls, subject)?);
            b.push(run_once(runtime, threads, calls, baseline)?);
        }
    }
    Ok((median(s), median(b)))
}

/// Measures one subject on 1 thread and on `config.threads` threads and returns both rows.
fn rows(
    runtime: &tokio::runtime::Handle,
    config: MicroConfig,
    subject: &str,
    baseline: &str,
    make_subject: &(dyn Fn() -> Work + Sync),
    make_baseline: &(dyn Fn() -> Work + Sync),
) -> Result<Vec<Row>, String> {
    let mut out = Vec::new();
    for threads in [1, config.threads] {
        let (s, b) = pair(runtime, config, threads, make_subject, make_baseline)?;
        let tasks = if threads == 1 {
            "1 task".to_string()
        } else {
            format!("{threads} tasks")
        };
        let row = Row::new(
            "micro",
            &format!("{subject}, {tasks}"),
            baseline,
            s,
            b,
            "ns/call",
            Better::Lower,
        );
        row.emit();
        out.push(row);
    }
    Ok(out)
}

fn outcome_ok<T>(result: &Result<T, BoxError>) -> Outcome {
    if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

type Classifier = fn(&Result<(), BoxError>) -> Outcome;

/// The Prometheus exporter installed as the global recorder (once per process), so layers that
/// emit metrics pay the real recording cost, as they do in production.
pub fn global_exporter() -> Result<&'static PrometheusExporter, String> {
    static EXPORTER: OnceLock<Result<PrometheusExporter, String>> = OnceLock::new();
    EXPORTER
        .get_or_init(|| {
            let (recorder, exporter) = PrometheusConfig::new().build();
            metrics::set_global_recorder(recorder)
                .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
            Ok(exporter)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs every micro-benchmark and returns its rows (also printed as they are measured).
///
/// # Errors
///
/// A layer or the harness failed (a call that should succeed did not).
pub fn run(config: MicroConfig) -> Result<Vec<Row>, String> {
    let exporter = global_exporter()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .map_err(|e| format!("cannot build a runtime: {e}"))?;
    let rt = runtime.handle();
    let mut out = Vec::new();

    // Circuit breaker, closed: every call records an outcome in the shared window.
    let breaker = Breaker::new("bench", BreakerConfig::default());
    out.extend(rows(
        rt,
        config,
        "circuit breaker (closed)",
        "bare no-op",
        &|| {
            let mut svc = CircuitBreaker::new(Noop, breaker.clone(), outcome_ok as Classifier);
            Box::new(move |i| call_once(&mut svc, i))
        },
        &|| {
            let mut svc = Noop;
            Box::new(move |i| call_once(&mut svc, i))
        },
    )?);

    // Retry policy with its default budget, no retry happening.
    let policy = RetryPolicy::builder("bench")
        .classifier(outcome_ok as Classifier)
        .build()
        .map_err(|e| format!("retry policy: {e}"))?;
    out.extend(rows(
        rt,
        config,
        "retry (default budget, no retry)",
        "bare no-op",
        &|| {
            let mut svc = Retry::new(Noop, policy.clone());
            Box::new(move |i| call_once(&mut svc, Replayable::new(i)))
        },
        &|| {
            let mut svc = Noop;
            Box::new(move |i| call_once(&mut svc, Replayable::new(i)))
        },
    )?);

    // Rate limiter, permit available, one shared key.
    let quota = Quota::per_second(NonZeroU32::MAX);
    let limiter = RateLimitLayer::new("bench", quota)
        .with_key_fn(FixedKey(RateKey::scope("bench")))
        .with_classifier(outcome_ok as Classifier)
        .with_signals(NoSignals)
        .layer(Noop);
    out.extend(rows(
        rt,
        config,
        "rate limiter (permit available)",
        "bare no-op",
        &|| {
            let mut svc = limiter.clone();
            Box::new(move |i| call_once(&mut svc, i))
        },
        &|| {
            let mut svc = Noop;
            Box::new(move |i| call_once(&mut svc, i))
        },
    )?);

    // MetricsLayer with the Prometheus recorder installed; requests built in both loops.
    let layer = MetricsLayer::new("bench").map_err(|e| format!("metrics layer: {e}"))?;
    let request = |_: u64| {
        let mut r = Request::new(());
        r.extensions_mut().insert(Operation::new("contacts.get"));
        r
    };
    exporter.handle().run_upkeep();
    out.extend(rows(
        rt,
        config,
        "metrics layer (Prometheus recorder)",
        "bare no-op",
        &|| {
            let mut svc = layer.layer(NoopHttp);
            Box::new(move |i| call_once(&mut svc, request(i)))
        },
        &|| {
            let mut svc = NoopHttp;
            Box::new(move |i| call_once(&mut svc, request(i)))
        },
    )?);
    exporter.handle().run_upkeep();

    // Cache hit: TtlCache::get against quick_cache's own get on the same keys.
    const KEYS: u64 = 1_000;
    let ttl: TtlCache<u64, u64> = TtlCache::new(
        "bench",
        CacheConfig::new(Duration::from_secs(3600)).max_entries(KEYS * 2),
    )
    .map_err(|e| format!("cache config: {e}"))?;
    let quick: std::sync::Arc<QuickCache<u64, u64>> =
        std::sync::Arc::new(QuickCache::new((KEYS * 2) as usize));
    for k in 0..KEYS {
        ttl.insert(k, k);
        quick.insert(k, k);
    }
    out.extend(rows(
        rt,
        config,
        "cache hit (TtlCache::get)",
        "quick_cache get",
        &|| {
            let ttl = ttl.clone();
            Box::new(move |i| {
                black_box(ttl.get(&black_box(i % KEYS)))
                    .map(drop)
                    .ok_or_else(|| "cache miss on a preloaded key".to_string())
            })
        },
        &|| {
            let quick = quick.clone();
            Box::new(move |i| {
                black_box(quick.get(&black_box(i % KEYS)))
                    .map(drop)
                    .ok_or_else(|| "cache miss on a preloaded key".to_string())
            })
        },
    )?);

    // Webhook v3 verification of a 4 KiB body against a bare HMAC-SHA256 of the same bytes.
    let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    let uri = "https://hooks.example.com/hubspot/webhook?portal=62515";
    let body: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 26) as u8).collect();
    let timestamp: u64 = 1_700_000_000_000;
    let signature = hubspot::sign_v3(secret.as_bytes(), "POST", uri, &body, timestamp);
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hubspot-signature-v3",
        HeaderValue::from_str(&signature).map_err(|e| format!("signature header: {e}"))?,
    );
    headers.insert("x-hubspot-request-timestamp", HeaderValue::from(timestamp));
    let verifier = HubSpotVerifier::new(secret).pin_version(HubSpotVersion::V3);
    let now = UNIX_EPOCH + Duration::from_millis(timestamp + 1_000);
    let timestamp_text = timestamp.to_string();
    // HMAC is ~100x a layer call: fewer iterations for the same sample time.
    let hmac_config = MicroConfig {
        calls: (config.calls / 100).max(20),
        ..config
    };
    out.extend(rows(
        rt,
        hmac_config,
        "webhook v3 verify (4 KiB)",
        "bare HMAC-SHA256",
        &|| {
            let verifier = verifier.clone();
            let headers = headers.clone();
            let body = body.clone();
            Box::new(move |_| {
                let request = WebhookRequest::new("POST", black_box(uri), &headers, &body);
                verifier
                    .verify(&request, black_box(now))
                    .map(|v| {
                        black_box(v);
                    })
                    .map_err(|e| format!("verification failed: {e}"))
            })
        },
        &|| {
            let body = body.clone();
            let timestamp_text = timestamp_text.clone();
            Box::new(move |_| {
                let mut mac = Hmac::<Sha256>::new_from_slice(black_box(secret.as_bytes()))
                    .map_err(|e| format!("hmac: {e}"))?;
                mac.update(b"POST");
                mac.update(black_box(uri).as_bytes());
                mac.update(black_box(&body));
                mac.update(timestamp_text.as_bytes());
                black_box(mac.finalize().into_bytes());
                Ok(())
            })
        },
    )?);
    Ok(out)
}
