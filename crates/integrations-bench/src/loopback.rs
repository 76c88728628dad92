//! Loopback HTTP benchmarks against `api-sandbox`: the same GET of one contact through each
//! client, sequential on one keep-alive connection (time per request) and from 64 concurrent
//! tasks (throughput), against a bare hyper-util client measured in the same run.
//!
//! The sandbox runs on its own one-thread runtime and the clients on another, so the server's
//! cost is the same for every subject and the two do not steal each other's worker.

use crate::report::{Better, Row};
use api_sandbox::{Sandbox, SandboxConfig};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use integrations_config::{PoolConfig, Secret};
use integrations_http::{BaseUriLayer, BearerAuthLayer, HttpClient, UserAgentLayer};
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

/// How much work each loopback benchmark does.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackConfig {
    /// Sequential requests per sample.
    pub sequential: usize,
    /// Concurrent tasks.
    pub concurrency: usize,
    /// Requests per task per concurrent sample.
    pub per_task: usize,
    /// Samples per figure (interleaved across subjects); the median is reported.
    pub samples: usize,
}

impl LoopbackConfig {
    /// The configuration of `cargo xtask bench`.
    pub fn full() -> Self {
        Self {
            sequential: 300,
            concurrency: 64,
            per_task: 10,
            samples: 15,
        }
    }

    /// A tiny configuration for tests.
    pub fn quick() -> Self {
        Self {
            sequential: 20,
            concurrency: 64,
            per_task: 2,
            samples: 1,
        }
    }
}

/// One GET of the benchmark contact; resolves to the body length.
pub type GetFn = Arc<dyn Fn() -> BoxFuture<'static, Result<usize, String>> + Send + Sync>;

/// A client under test: a name and its GET.
#[derive(Clone)]
pub struct Subject {
    /// The row name.
    pub name: String,
    /// One GET of the contact.
    pub get: GetFn,
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The sandbox configuration of the fast path: no rate limits, no faults.
pub fn fast_sandbox_config() -> SandboxConfig {
    let mut config = SandboxConfig::small();
    config.hubspot.burst = None;
    config.hubspot.search = None;
    config.hubspot.daily = None;
    config.manychat.rate_limits = false;
    config
}

/// The bare baseline: hyper-util's legacy pooled client over plain HTTP, no layers.
pub fn bare_hyper(url: &str, token: &str) -> Result<Subject, String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: http::Uri = url.parse().map_err(|e| format!("bad url {url}: {e}"))?;
    let auth = format!("Bearer {token}");
    Ok(Subject {
        name: "bare hyper-util client".to_string(),
        get: Arc::new(move || {
            let client = client.clone();
            let request = http::Request::get(uri.clone())
                .header(http::header::AUTHORIZATION, auth.as_str())
                .body(Full::new(Bytes::new()));
            Box::pin(async move {
                let request = request.map_err(|e| e.to_string())?;
                let response = client.request(request).await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("status {}", response.status()));
                }
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                Ok(body.len())
            })
        }),
    })
}

/// Our shared transport alone: `HttpClient` with base URI, bearer auth and user agent layers.
pub fn integrations_http(base: &str, path: &str, token: &str) -> Result<Subject, String> {
    let base = BaseUriLayer::parse(base).map_err(|e| e.to_string())?;
    let auth = BearerAuthLayer::new(base.base(), &Secret::new(token.to_string()))
        .map_err(|e| e.to_string())?;
    let client = HttpClient::new(&PoolConfig::default()).map_err(|e| e.to_string())?;
    let service = tower::ServiceBuilder::new()
        .layer(base)
        .layer(auth)
        .layer(UserAgentLayer::default())
        .service(client);
    let path = path.to_string();
    Ok(Subject {
        name: "integrations-http transport (auth, base URI, user agent)".to_string(),
        get: Arc::new(move || {
            let service = service.clone();
            let request = http::Request::get(path.as_str()).body(Full::new(Bytes::new()));
            Box::pin(async move {
                let request = request.map_err(|e| e.to_string())?;
                let response = service.oneshot(request).await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("status {}", response.status()));
                }
                Ok(response.body().len())
            })
        }),
    })
}

/// A variant of the HubSpot client's default stack, to see what each layer costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubSpotVariant {
    /// The full default stack, raw `send`.
    Full,
    /// The full stack, typed `contacts().get` (JSON decoding included).
    Typed,
    /// The full stack with a pool that keeps 64 idle connections (the default keeps 32).
    Idle64,
    /// Without the retry layer.
    NoRetry,
    /// Without the circuit breaker.
    NoBreaker,
    /// Without the rate limiter.
    NoLimiter,
    /// Without the metrics layer.
    NoMetrics,
    /// Without the attempt timeout and the total deadline.
    NoTimeouts,
}

impl HubSpotVariant {
    /// Every variant, the full stack first.
    pub const ALL: [Self; 8] = [
        Self::Full,
        Self::Typed,
        Self::Idle64,
        Self::NoRetry,
        Self::NoBreaker,
        Self::NoLimiter,
        Self::NoMetrics,
        Self::NoTimeouts,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Full => "HubSpot client, full stack (cache off), raw send",
            Self::Typed => "HubSpot client, full stack (cache off), typed contacts().get",
            Self::Idle64 => "HubSpot client, full stack, pool keeps 64 idle (default 32)",
            Self::NoRetry => "HubSpot client, full stack without retry",
            Self::NoBreaker => "HubSpot client, full stack without breaker",
            Self::NoLimiter => "HubSpot client, full stack without rate limiter",
            Self::NoMetrics => "HubSpot client, full stack without metrics",
            Self::NoTimeouts => "HubSpot client, full stack without timeouts",
        }
    }
}

/// The HubSpot client's default stack (cache off, and a rate limit that never binds: the fast
/// path) in `variant`: metrics, deadline, retry, breaker, limiter, attempt timeout, tracing,
/// auth, transport. The raw variants read the response of `send`, as the other subjects do.
pub fn hubspot_stack(
    base: &str,
    path: &str,
    token: &str,
    variant: HubSpotVariant,
) -> Result<Subject, String> {
    use client_hubspot::{GetOptions, HubSpotClient, stack::RateLimitSettings};
    let mut pool = PoolConfig::default();
    if variant == HubSpotVariant::Idle64 {
        pool.max_idle_per_host = 64;
    }
    let mut builder = HubSpotClient::builder()
        .token(token.to_string())
        .base_url(base)
        .pool(pool)
        .cache(None)
        .rate_limit(RateLimitSettings::new(
            1_000_000_000,
            std::time::Duration::from_secs(1),
        ));
    builder = match variant {
        HubSpotVariant::NoRetry => builder.retry(None),
        HubSpotVariant::NoBreaker => builder.breaker(None),
        HubSpotVariant::NoLimiter => builder.rate_limit(None),
        HubSpotVariant::NoMetrics => builder.metrics(None),
        HubSpotVariant::NoTimeouts => builder.timeout(None).total_timeout(None),
        _ => builder,
    };
    let client = builder
        .build()
        .map_err(|e| format!("hubspot client: {e}"))?;
    let typed = variant == HubSpotVariant::Typed;
    let id = path.rsplit('/').next().unwrap_or_default().to_string();
    let path = path.to_string();
    Ok(Subject {
        name: variant.name().to_string(),
        get: Arc::new(move || {
            let client = client.clone();
            let id = id.clone();
            let request = http::Request::get(path.as_str()).body(Full::new(Bytes::new()));
            Box::pin(async move {
                if typed {
                    let contact = client
                        .contacts()
                        .get(&id, &GetOptions::new())
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok(contact.id.len());
                }
                let mut request = request.map_err(|e| e.to_string())?;
                request
                    .extensions_mut()
                    .insert(resilience_core::extensions::Operation::new("contacts.get"));
                request
                    .extensions_mut()
                    .insert(resilience_core::extensions::Idempotent);
                let response = client.send(request).await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("status {}", response.status()));
                }
                Ok(response.body().len())
            })
        }),
    })
}

/// reqwest alone (no TLS features: loopback is plain HTTP).
pub fn reqwest_alone(url: &str, token: &str) -> Result<Subject, String> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let url = url.to_string();
    let token = token.to_string();
    Ok(Subject {
        name: "reqwest".to_string(),
        get: Arc::new(move || {
            let send = client.get(url.as_str()).bearer_auth(&token).send();
            Box::pin(async move {
                let response = send.await.map_err(|e| e.to_string())?;
                let response = response.error_for_status().map_err(|e| e.to_string())?;
                Ok(response.bytes().await.map_err(|e| e.to_string())?.len())
            })
        }),
    })
}

/// reqwest with reqwest-middleware and reqwest-retry's transient-error retry (3 retries).
pub fn reqwest_middleware(url: &str, token: &str) -> Result<Subject, String> {
    use reqwest_retry::{RetryTransientMiddleware, policies::ExponentialBackoff};
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let policy = ExponentialBackoff::builder().build_with_max_retries(3);
    let client = reqwest_middleware::ClientBuilder::new(client)
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .build();
    let url = url.to_string();
    let token = token.to_string();
    Ok(Subject {
        name: "reqwest + reqwest-middleware + reqwest-retry".to_string(),
        get: Arc::new(move || {
            let send = client.get(url.as_str()).bearer_auth(&token).send();
            Box::pin(async move {
                let response = send.await.map_err(|e| e.to_string())?;
                let response = response.error_for_status().map_err(|e| e.to_string())?;
                Ok(response.bytes().await.map_err(|e| e.to_string())?.len())
            })
        }),
    })
}

/// Microseconds per request of `n` sequential GETs.
async fn sequential(subject: &Subject, n: usize) -> Result<f64, String> {
    let start = Instant::now();
    for _ in 0..n {
        (subject.get)().await?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// Requests per second of `tasks` concurrent tasks doing `per_task` GETs each.
async fn concurrent(subject: &Subject, tasks: usize, per_task: usize) -> Result<f64, String> {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let get = subject.get.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    get().await?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for handle in handles {
        handle.await.map_err(|e| format!("task failed: {e}"))??;
    }
    Ok((tasks * per_task) as f64 / start.elapsed().as_secs_f64())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A started fast-path sandbox on its own runtime thread, with the benchmark contact's URL.
#[derive(Debug)]
pub struct BenchServer {
    /// The sandbox (dropped with the runtime).
    pub sandbox: Sandbox,
    /// The sandbox's runtime.
    pub runtime: tokio::runtime::Runtime,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The path of the benchmark contact.
    pub path: String,
    /// The full-access HubSpot token.
    pub token: String,
}

impl BenchServer {
    /// Starts a sandbox with `config` on a new one-worker runtime.
    ///
    /// # Errors
    ///
    /// The runtime or the sandbox could not start.
    pub fn start(config: SandboxConfig) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("sandbox runtime: {e}"))?;
        let sandbox = runtime
            .block_on(Sandbox::start(config))
            .map_err(|e| format!("sandbox: {e}"))?;
        let id = sandbox
            .control()
            .contact_ids()
            .first()
            .copied()
            .ok_or("the sandbox has no contacts")?;
        Ok(Self {
            base: sandbox.hubspot_url(),
            path: format!("/crm/v3/objects/contacts/{id}"),
            token: sandbox.hubspot_token(),
            sandbox,
            runtime,
        })
    }

    /// The full URL of the benchmark contact.
    pub fn url(&self) -> String {
        format!("{}{}", self.base, self.path)
    }
}

/// Measures every subject made by `subjects` (the first is the baseline) and returns the rows.
///
/// # Errors
///
/// A subject could not be built or a request failed.
pub fn run(
    config: LoopbackConfig,
    extra: &dyn Fn(&BenchServer) -> Result<Vec<Subject>, String>,
) -> Result<Vec<Row>, String> {
    let server = BenchServer::start(fast_sandbox_config())?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("client runtime: {e}"))?;
    let url = server.url();
    let subjects: Vec<Subject> = {
        let _guard = client_rt.enter();
        let mut subjects = vec![
            bare_hyper(&url, &server.token)?,
            integrations_http(&server.base, &server.path, &server.token)?,
        ];
        for variant in HubSpotVariant::ALL {
            subjects.push(hubspot_stack(
                &server.base,
                &server.path,
                &server.token,
                variant,
            )?);
        }
        subjects.extend(extra(&server)?);
        subjects.push(reqwest_alone(&url, &server.token)?);
        subjects.push(reqwest_middleware(&url, &server.token)?);
        subjects
    };
    let mut per_request = vec![Vec::new(); subjects.len()];
    let mut throughput = vec![Vec::new(); subjects.len()];
    client_rt.block_on(async {
        // Warm-up: open the connections and fill the pools.
        for subject in &subjects {
            sequential(subject, (config.sequential / 10).max(5)).await?;
            concurrent(subject, config.concurrency, 1).await?;
        }
        // Each sample starts with a different subject, so no subject is always first (the
        // first one after a pause pays for waking the server's worker).
        let n = subjects.len();
        for sample in 0..config.samples {
            for i in (0..n).map(|k| (k + sample) % n) {
                per_request[i].push(sequential(&subjects[i], config.sequential).await?);
            }
            for i in (0..n).map(|k| (k + sample) % n) {
                throughput[i]
                    .push(concurrent(&subjects[i], config.concurrency, config.per_task).await?);
            }
            server.sandbox.log().clear();
        }
        Ok::<(), String>(())
    })?;
    let mut rows = Vec::new();
    let base_name = subjects[0].name.clone();
    let base_seq = median(per_request[0].clone());
    let base_tput = median(throughput[0].clone());
    for (i, subject) in subjects.iter().enumerate() {
        let row = Row::new(
            "loopback",
            &format!("sequential GET: {}", subject.name),
            &base_name,
            median(per_request[i].clone()),
            base_seq,
            "us/request",
            Better::Lower,
        );
        row.emit();
        rows.push(row);
    }
    for (i, subject) in subjects.iter().enumerate() {
        let row = Row::new(
            "loopback",
            &format!("{} concurrent GETs: {}", config.concurrency, subject.name),
            &base_name,
            median(throughput[i].clone()),
            base_tput,
            "requests/s",
            Better::Higher,
        );
        row.emit();
        rows.push(row);
    }
    drop(client_rt);
    Ok(rows)
}
