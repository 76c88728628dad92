//! Stack overhead against a bare hyper-util client, per layer.
//!
//! ```sh
//! cargo run --release -p client-hubspot --example overhead [-- SEQUENTIAL SAMPLES]
//! ```
//!
//! Starts `api-sandbox` (no rate limits, no faults) on its own one-worker runtime and measures,
//! on another, sequential keep-alive GETs of one contact (µs per request) and 64 concurrent
//! tasks (requests per second) through each subject, interleaved sample by sample so a noisy
//! machine hurts every subject alike. Prints medians and the ratio to the bare client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_sandbox::{Sandbox, SandboxConfig};
use bytes::Bytes;
use client_hubspot::stack::{self, RateLimitSettings, StackConfig};
use client_hubspot::{GetOptions, HubSpotClient, HubSpotClientBuilder, HubSpotService};
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use integrations_config::{Environment, HubSpotConfig, PoolConfig};

type GetFn = Arc<dyn Fn() -> BoxFuture<'static, usize> + Send + Sync>;

struct Subject {
    name: String,
    get: GetFn,
}

fn bare(url: &str, token: &str) -> Subject {
    bare_with(url, token, true)
}

/// The bare client; `nodelay` as integrations-http sets it (hyper-util's default is off).
fn bare_with(url: &str, token: &str, nodelay: bool) -> Subject {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(nodelay);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let uri: http::Uri = url.parse().expect("url");
    let auth = format!("Bearer {token}");
    Subject {
        name: "bare hyper-util".into(),
        get: Arc::new(move || {
            let client = client.clone();
            let request = http::Request::get(uri.clone())
                .header(http::header::AUTHORIZATION, auth.as_str())
                .body(Full::new(Bytes::new()))
                .expect("request");
            Box::pin(async move {
                let response = client.request(request).await.expect("response");
                assert!(response.status().is_success());
                let body = response.into_body().collect().await.expect("body");
                body.to_bytes().len()
            })
        }),
    }
}

fn typed(name: &str, client: HubSpotClient, id: &str) -> Subject {
    let id: Arc<str> = id.into();
    let contacts = client.contacts();
    let options = Arc::new(GetOptions::new());
    Subject {
        name: name.into(),
        get: Arc::new(move || {
            let contacts = contacts.clone();
            let id = id.clone();
            let options = options.clone();
            Box::pin(async move {
                let contact = contacts.get(&id, &options).await.expect("get");
                contact.id.len()
            })
        }),
    }
}

fn raw(name: &str, service: HubSpotService, id: &str) -> Subject {
    let path = format!("/crm/v3/objects/contacts/{id}");
    Subject {
        name: name.into(),
        get: Arc::new(move || {
            let request = http::Request::get(path.as_str())
                .body(Full::new(Bytes::new()))
                .expect("request");
            let service = service.clone();
            Box::pin(async move {
                let response = tower::ServiceExt::oneshot(service, request)
                    .await
                    .expect("response");
                assert!(response.status().is_success());
                response.body().len()
            })
        }),
    }
}

/// `HubSpotClient::send` of a hand-built GET: the full stack without the typed decode.
fn sent(name: &str, client: HubSpotClient, id: &str) -> Subject {
    let path = format!("/crm/v3/objects/contacts/{id}");
    Subject {
        name: name.into(),
        get: Arc::new(move || {
            let request = http::Request::get(path.as_str())
                .body(Full::new(Bytes::new()))
                .expect("request");
            let client = client.clone();
            Box::pin(async move {
                let response = client.send(request).await.expect("response");
                assert!(response.status().is_success());
                response.body().len()
            })
        }),
    }
}

fn builder(base: &str, token: &str) -> HubSpotClientBuilder {
    let config = HubSpotConfig::for_environment(Environment::Production, token);
    HubSpotClient::builder()
        .config(config)
        .base_url(base)
        .cache(None)
        // A quota far above what the loopback reaches, so the limiter never binds.
        .rate_limit(RateLimitSettings::new(10_000_000, Duration::from_secs(1)))
}

async fn sequential(subject: &Subject, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        (subject.get)().await;
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

async fn concurrent(subject: &Subject, tasks: usize, per_task: usize) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let get = subject.get.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    get().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
    (tasks * per_task) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let samples: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let only_full = std::env::var_os("OVERHEAD_FULL_ONLY").is_some();
    let n_mem: usize = std::env::var("OVERHEAD_MEM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n * 50);

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let mut config = SandboxConfig::small();
    config.hubspot.burst = None;
    config.hubspot.search = None;
    config.hubspot.daily = None;
    config.manychat.rate_limits = false;
    let sandbox = server_rt.block_on(Sandbox::start(config)).expect("sandbox");
    let id = sandbox.control().contact_ids()[0].to_string();
    let base = sandbox.hubspot_url();
    let token = sandbox.hubspot_token();
    let url = format!("{base}/crm/v3/objects/contacts/{id}");

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");
    let subjects: Vec<Subject> = {
        let _guard = client_rt.enter();
        let b = || builder(&base, &token);
        let mut subjects = vec![
            bare(&url, &token),
            typed("full default stack", b().build().expect("client"), &id),
            sent(
                "full stack, send() (no decode)",
                b().build().expect("client"),
                &id,
            ),
            typed(
                "full, 64 idle conns per host",
                b().pool(PoolConfig {
                    max_idle_per_host: 64,
                    ..PoolConfig::default()
                })
                .build()
                .expect("client"),
                &id,
            ),
        ];
        if !only_full {
            let mut cfg = b().stack_config().clone();
            cfg.base_url = integrations_config::BaseUrl::parse(&base).expect("base url");
            subjects.extend([
                typed("- metrics", b().metrics(None).build().expect("c"), &id),
                typed(
                    "- total deadline",
                    b().total_timeout(None).build().expect("c"),
                    &id,
                ),
                typed("- retry", b().retry(None).build().expect("c"), &id),
                typed("- breaker", b().breaker(None).build().expect("c"), &id),
                typed(
                    "- rate limiter",
                    b().rate_limit(None).build().expect("c"),
                    &id,
                ),
                typed(
                    "- attempt timeout",
                    b().timeout(None).build().expect("c"),
                    &id,
                ),
                typed(
                    "tracing + transport only",
                    b().metrics(None)
                        .total_timeout(None)
                        .retry(None)
                        .breaker(None)
                        .rate_limit(None)
                        .timeout(None)
                        .build()
                        .expect("c"),
                    &id,
                ),
                raw(
                    "stack::transport, raw request",
                    stack::transport(&cfg).expect("transport"),
                    &id,
                ),
                typed(
                    "typed API over stack::transport",
                    HubSpotClient::with_service(stack::transport(&cfg).expect("transport")),
                    &id,
                ),
            ]);
        }
        // The baseline again, last in every sample: shows how much the order itself moves
        // the figures.
        let mut again = bare(&url, &token);
        again.name = "bare hyper-util (again, last)".into();
        subjects.push(again);
        let mut nagle = bare_with(&url, &token, false);
        nagle.name = "bare hyper-util, no TCP_NODELAY".into();
        subjects.push(nagle);
        subjects
    };

    let mut seq = vec![Vec::new(); subjects.len()];
    let mut tput = vec![Vec::new(); subjects.len()];
    client_rt.block_on(async {
        for subject in &subjects {
            sequential(subject, 200).await;
            concurrent(subject, 64, 2).await;
        }
        for _ in 0..samples {
            for (i, subject) in subjects.iter().enumerate() {
                seq[i].push(sequential(subject, n).await);
            }
            for (i, subject) in subjects.iter().enumerate() {
                tput[i].push(concurrent(subject, 64, n / 32).await);
            }
            sandbox.log().clear();
        }
    });
    let base_seq = median(seq[0].clone());
    let base_tput = median(tput[0].clone());
    println!(
        "{:<34} {:>10} {:>7} {:>12} {:>7}",
        "subject", "us/req", "ratio", "req/s (64)", "ratio"
    );
    for (i, subject) in subjects.iter().enumerate() {
        let s = median(seq[i].clone());
        let t = median(tput[i].clone());
        println!(
            "{:<34} {:>10.1} {:>7.3} {:>12.0} {:>7.3}",
            subject.name,
            s,
            s / base_seq,
            t,
            t / base_tput
        );
    }
    let body = client_rt.block_on(async {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let request = http::Request::get(url.as_str())
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = client.request(request).await.expect("response");
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
    });
    drop(client_rt);
    drop(sandbox);
    in_memory(&base, &token, &id, body, n_mem, samples);
}

/// The layers alone: each variant over an in-memory service that answers the contact's body at
/// once, so only the stack's own CPU time is measured (ns per call, one thread).
fn in_memory(base: &str, token: &str, id: &str, body: Bytes, n: usize, samples: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let answer = tower::service_fn(move |_request: http::Request<Full<Bytes>>| {
        let body = body.clone();
        async move {
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .expect("response"),
            )
        }
    });
    let inner = HubSpotService::new(tower::ServiceExt::map_err(
        answer,
        |e: std::convert::Infallible| -> resilience_core::BoxError { match e {} },
    ));
    let mut base_cfg = builder(base, token).stack_config().clone();
    base_cfg.base_url = integrations_config::BaseUrl::parse(base).expect("base url");
    let build = |edit: &dyn Fn(&mut StackConfig)| {
        let mut cfg = base_cfg.clone();
        edit(&mut cfg);
        HubSpotClient::from_stack(stack::build_over(&cfg, inner.clone()).expect("stack"))
    };
    let subjects: Vec<(&str, HubSpotClient)> = vec![
        (
            "typed API, no layers",
            HubSpotClient::with_service(inner.clone()),
        ),
        ("full default stack", build(&|_| {})),
        ("- metrics", build(&|c| c.metrics_prefix = None)),
        ("- total deadline", build(&|c| c.total_timeout = None)),
        ("- retry", build(&|c| c.retry = None)),
        ("- breaker", build(&|c| c.breaker = None)),
        ("- rate limiter", build(&|c| c.rate_limit = None)),
        ("- attempt timeout", build(&|c| c.attempt_timeout = None)),
        (
            "tracing only",
            build(&|c| {
                c.metrics_prefix = None;
                c.total_timeout = None;
                c.retry = None;
                c.breaker = None;
                c.rate_limit = None;
                c.attempt_timeout = None;
            }),
        ),
    ];
    let options = GetOptions::new();
    let mut times = vec![Vec::new(); subjects.len()];
    rt.block_on(async {
        for _ in 0..samples {
            for (i, (_, client)) in subjects.iter().enumerate() {
                let contacts = client.contacts();
                let start = Instant::now();
                for _ in 0..n {
                    let contact = contacts.get(id, &options).await.expect("get");
                    std::hint::black_box(contact);
                }
                times[i].push(start.elapsed().as_secs_f64() * 1e9 / n as f64);
            }
        }
    });
    let base_ns = median(times[0].clone());
    println!();
    println!("in memory (no network), {n} calls per sample");
    println!("{:<34} {:>10} {:>10}", "subject", "ns/call", "+ns");
    for (i, (name, _)) in subjects.iter().enumerate() {
        let t = median(times[i].clone());
        println!("{:<34} {:>10.0} {:>10.0}", name, t, t - base_ns);
    }
}
