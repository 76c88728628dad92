//! Shared pieces of the fleet tests: the sandbox with a short, scaled window, limiters over
//! the worker's HTTP/1 client, and checks on the sandbox's request log.
#![allow(dead_code, unreachable_pub)]

#[path = "../../src/bin/ratelimit-fleet-worker/http1.rs"]
pub mod http1;

use api_sandbox::{Api, LogEntry, Sandbox, SandboxConfig, WindowLimit};
use resilience_ratelimit::{Quota, RateLimitLayer};
use resilience_ratelimit_redis::RedisStore;
use std::num::NonZeroU32;
use std::time::Duration;

/// The sandbox allows `SERVER_MAX` requests per rolling `WINDOW` (HubSpot's 10 s window, time
/// scaled by 0.1).
pub const SERVER_MAX: u32 = 100;
/// The sandbox's window after scaling.
pub const WINDOW: Duration = Duration::from_secs(1);
/// The limiters' own quota: 94 per window, one at a time (0.94 of the limit; the 6 below it
/// are a margin of ~60 ms for scheduling jitter between a permit and the request's arrival on
/// a loaded machine).
pub const CLIENT_COUNT: u32 = 94;

pub fn client_quota() -> Quota {
    Quota::per_period(CLIENT_COUNT, WINDOW)
        .expect("valid quota")
        .with_burst(NonZeroU32::MIN)
}

pub async fn sandbox() -> Sandbox {
    let mut config = SandboxConfig::small().with_time_scale(0.1);
    config.hubspot.burst = Some(WindowLimit::new(SERVER_MAX, Duration::from_secs(10)));
    config.hubspot.search = None;
    Sandbox::start(config).await.expect("sandbox starts")
}

/// A limited HubSpot client for one worker, on its own store (its own Redis connection, like
/// a separate process).
pub fn worker(
    redis_url: &str,
    prefix: &str,
    workers: u32,
    probe: Duration,
    timeout: Duration,
) -> (
    RedisStore,
    impl tower::Service<
        http::Request<()>,
        Response = http::Response<Vec<u8>>,
        Error = resilience_core::BoxError,
        Future: Send,
    > + Clone
    + Send
    + 'static,
) {
    let store = RedisStore::builder(redis_url)
        .service("hubspot")
        .key_prefix(prefix)
        .expected_workers(NonZeroU32::new(workers).expect("workers"))
        .probe_interval(probe)
        .timeout(timeout)
        .build()
        .expect("store");
    let service = tower::ServiceBuilder::new()
        .layer(RateLimitLayer::new("hubspot", client_quota()).with_store(store.clone()))
        .service(http1::Http1);
    (store, service)
}

pub fn request(sandbox: &Sandbox, worker: usize) -> http::Request<()> {
    http::Request::get(format!(
        "{}/crm/v3/objects/contacts?limit=1",
        sandbox.hubspot_url()
    ))
    .header(
        "authorization",
        format!("Bearer {}", sandbox.hubspot_token()),
    )
    .header("x-fleet-worker", worker.to_string())
    .body(())
    .expect("request")
}

pub fn hubspot_entries(sandbox: &Sandbox) -> Vec<LogEntry> {
    let mut entries = sandbox.log().filter(|e| e.api == Api::HubSpot);
    entries.sort_by_key(|e| e.at);
    entries
}

/// The most requests that arrived in any half-open window `[t, t + window)`.
pub fn max_in_window(entries: &[LogEntry], window: Duration) -> usize {
    let mut times: Vec<Duration> = entries.iter().map(|e| e.at).collect();
    times.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] >= times[start] + window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Requests per second from the first arrival to the last.
pub fn rate(entries: &[LogEntry]) -> f64 {
    match (entries.first(), entries.last()) {
        (Some(first), Some(last)) if entries.len() > 1 => {
            (entries.len() - 1) as f64 / (last.at - first.at).as_secs_f64()
        }
        _ => 0.0,
    }
}

pub fn server_rate() -> f64 {
    f64::from(SERVER_MAX) / WINDOW.as_secs_f64()
}

pub fn worker_of(entry: &LogEntry) -> Option<String> {
    entry
        .headers
        .iter()
        .find(|(name, _)| name == "x-fleet-worker")
        .map(|(_, value)| value.clone())
}
