//! Rate budget: read N contacts one GET each through the HubSpot client's default stack (cache
//! off, limiter on and learning from headers) against a sandbox that enforces HubSpot's 100
//! requests per 10 s, time-scaled so the window lasts 500 ms; then the same contacts with
//! `batch_read` (100 per request).
//!
//! The client is configured with the same limit, scaled the same way (its limiter starts from
//! its configured limit and learns only lower limits from the headers).
//!
//! The theoretical minimum: the first window's 100 requests go at once, then 100 per window,
//! so N requests need `(ceil(N / 100) - 1)` windows.

use crate::loopback::BenchServer;
use crate::report::{Better, Row};
use api_sandbox::SandboxConfig;
use client_hubspot::stack::RateLimitSettings;
use client_hubspot::{BatchReadOptions, GetOptions, HubSpotClient};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// The sandbox's time scale: HubSpot's 10 s window lasts 500 ms.
pub const TIME_SCALE: f64 = 0.05;

/// HubSpot's burst limit of the lowest tier, per (unscaled) 10 s.
pub const LIMIT: u32 = 100;

/// Runs the rate-budget benchmark over `contacts` contacts.
///
/// # Errors
///
/// The sandbox or the client could not start, or a read failed.
pub fn run(contacts: usize) -> Result<Vec<Row>, String> {
    let exporter = crate::micro::global_exporter()?;
    let pauses = || {
        exporter
            .snapshot()
            .counters
            .iter()
            .filter(|c| c.name == "resilience_ratelimit_paused_total")
            .map(|c| c.value)
            .sum::<f64>()
    };
    let pauses_before = pauses();
    let mut config = SandboxConfig::small()
        .with_contacts(contacts)
        .with_time_scale(TIME_SCALE);
    config.hubspot.search = None;
    config.manychat.rate_limits = false;
    let window = Duration::from_secs_f64(10.0 * TIME_SCALE);
    let server = BenchServer::start(config)?;
    let ids: Vec<String> = server
        .sandbox
        .control()
        .contact_ids()
        .into_iter()
        .take(contacts)
        .map(|id| id.to_string())
        .collect();
    let n = ids.len();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("client runtime: {e}"))?;
    let log = server.sandbox.log().clone();
    let control = server.sandbox.control().clone();
    let (single_time, single_log, single_pauses, batch_time, batch_log) =
        client_rt.block_on(async {
            let client = HubSpotClient::builder()
                .token(server.token.clone())
                .base_url(server.base.clone())
                .cache(None)
                .metrics(None)
                // The account's tier, scaled like the sandbox (the limiter learns only downwards).
                .rate_limit(RateLimitSettings::new(LIMIT, window))
                .build()
                .map_err(|e| format!("hubspot client: {e}"))?;
            // Start in a fresh window.
            control.reset_rate_limits();
            log.clear();
            let started = Instant::now();
            let results: Vec<_> = futures_util::stream::iter(ids.clone())
                .map(|id| {
                    let client = client.clone();
                    async move { client.contacts().get(&id, &GetOptions::new()).await }
                })
                .buffer_unordered(32)
                .collect()
                .await;
            let single_time = started.elapsed();
            let failed = results.iter().filter(|r| r.is_err()).count();
            if failed > 0 {
                let first = results
                    .iter()
                    .find_map(|r| r.as_ref().err().map(|e| e.to_string()));
                return Err(format!("{failed} of {n} reads failed, first: {first:?}"));
            }
            let single_log = log.entries();
            let single_pauses = pauses() - pauses_before;

            // The same contacts with batch_read, in a fresh window and with a fresh client.
            tokio::time::sleep(window * 2).await;
            control.reset_rate_limits();
            log.clear();
            let client = HubSpotClient::builder()
                .token(server.token.clone())
                .base_url(server.base.clone())
                .cache(None)
                .metrics(None)
                // The account's tier, scaled like the sandbox (the limiter learns only downwards).
                .rate_limit(RateLimitSettings::new(LIMIT, window))
                .build()
                .map_err(|e| format!("hubspot client: {e}"))?;
            let started = Instant::now();
            let read = client
                .contacts()
                .batch_read(ids.clone(), &BatchReadOptions::new())
                .await
                .map_err(|e| format!("batch read: {e}"))?;
            let batch_time = started.elapsed();
            if read.failures().count() > 0 {
                return Err(format!(
                    "batch read: {} inputs failed",
                    read.failures().count()
                ));
            }
            Ok::<_, String>((
                single_time,
                single_log,
                single_pauses,
                batch_time,
                log.entries(),
            ))
        })?;

    let windows = n.div_ceil(LIMIT as usize).saturating_sub(1) as f64;
    let minimum = windows * window.as_secs_f64();
    let throttled = |entries: &[api_sandbox::LogEntry], after: Duration| {
        entries
            .iter()
            .filter(|e| e.status == Some(429) && e.at >= after)
            .count() as f64
    };
    let first_at = single_log.first().map_or(Duration::ZERO, |e| e.at);
    let rows = vec![
        Row::new(
            "budget",
            &format!(
                "{n} GETs at {LIMIT} per 500 ms (HubSpot 10 s window x {TIME_SCALE}): completion time"
            ),
            "theoretical minimum",
            single_time.as_secs_f64(),
            minimum,
            "s",
            Better::Lower,
        ),
        Row::absolute(
            "budget",
            &format!("{n} GETs: share of the limit's rate achieved (minimum / actual)"),
            if single_time.is_zero() {
                f64::NAN
            } else {
                minimum / single_time.as_secs_f64()
            },
            "fraction",
            Better::Higher,
        ),
        Row::new(
            "budget",
            &format!("{n} GETs: requests that reached the sandbox"),
            "contacts",
            single_log.len() as f64,
            n as f64,
            "requests",
            Better::Lower,
        ),
        Row::absolute(
            "budget",
            &format!("{n} GETs: 429 responses, all"),
            throttled(&single_log, Duration::ZERO),
            "responses",
            Better::Lower,
        ),
        Row::absolute(
            "budget",
            &format!("{n} GETs: 429 responses after the first window"),
            throttled(&single_log, first_at + window),
            "responses",
            Better::Lower,
        ),
        Row::absolute(
            "budget",
            &format!("{n} GETs: limiter pauses (a response said Remaining: 0)"),
            single_pauses,
            "pauses",
            Better::Lower,
        ),
        Row::new(
            "budget",
            &format!("batch_read of the {n}: requests"),
            "one GET per contact",
            batch_log.len() as f64,
            n as f64,
            "requests",
            Better::Lower,
        ),
        Row::new(
            "budget",
            &format!("batch_read of the {n}: completion time"),
            "one GET per contact",
            batch_time.as_secs_f64(),
            single_time.as_secs_f64(),
            "s",
            Better::Lower,
        ),
        Row::absolute(
            "budget",
            &format!("batch_read of the {n}: 429 responses"),
            throttled(&batch_log, Duration::ZERO),
            "responses",
            Better::Lower,
        ),
    ];
    for row in &rows {
        row.emit();
    }
    drop(client_rt);
    Ok(rows)
}
