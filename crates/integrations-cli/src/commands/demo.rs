//! `integrations demo`: the whole workflow against the in-process sandbox, with faults on.
//!
//! Signed HubSpot webhooks go to an in-process `serve`, whose workers read the contacts in
//! batches, find their ManyChat subscribers, send a welcome message and tag them, while the
//! sandbox answers a burst of 429s, a run of 503s, a HubSpot outage long enough to open the
//! breaker, and a connection dropped after a processed send. The demo then checks the
//! sandbox's own delivery records: every contact is accounted for and no message was delivered
//! twice, or it exits 1.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use api_sandbox::webhook::{self, WebhookEvent, WebhookOptions};
use api_sandbox::{Fault, Route, Sandbox, SandboxConfig};
use integrations_config::{BaseUrl, Environment, HubSpotConfig, ManyChatConfig};
use obs_metrics::{MetricsSnapshot, PrometheusConfig};
use serde_json::json;
use tokio::time::Instant;

use super::health::checker;
use crate::app::Context;
use crate::cli::DemoArgs;
use crate::clients;
use crate::error::CliError;
use crate::kestra::Metric;
use crate::output::{Report, Status};
use crate::serve::{ServeConfig, Server, WEBHOOK_PATH};
use crate::sync::{
    ContactOutcome, ProgressMode, ResultSink, SendAction, SyncEngine, SyncPlan, SyncProgress,
};

/// The demo's webhook secret (the sandbox signs with it; nothing leaves the process).
const SECRET: &str = "demo-webhook-secret";
/// The tag that marks a welcomed subscriber.
const TAG: &str = "demo-welcomed";
/// HubSpot sends at most 100 events per webhook request.
const EVENTS_PER_DELIVERY: usize = 100;

/// Runs the demo.
///
/// # Errors
///
/// [`CliError::Failed`] when the sandbox, the clients or the server cannot start; a demo whose
/// checks fail is a report with [`Status::Failed`].
pub async fn run(ctx: Context, args: DemoArgs) -> Result<Report, CliError> {
    let started = Instant::now();
    let exporter = PrometheusConfig::new()
        .install()
        .map_err(|e| CliError::failed("cannot install the metrics recorder", e))?;
    let n = args.contacts.max(1);
    let sandbox = Sandbox::start(SandboxConfig {
        seed: args.seed,
        contacts: (n + n / 2).max(100),
        ..SandboxConfig::default()
    })
    .await
    .map_err(|e| CliError::failed("cannot start the sandbox", e))?;
    let control = sandbox.control().clone();
    let contact_ids: Vec<u64> = control.contact_ids().into_iter().take(n).collect();
    let n = contact_ids.len();
    say(
        &ctx,
        &format!("sandbox on {} with {n} contacts to sync", sandbox.addr()),
    );

    // Clients with the `test` environment's short waits, pointed at the sandbox.
    let mut hubspot_config =
        HubSpotConfig::for_environment(Environment::Test, sandbox.hubspot_token());
    hubspot_config.base_url = base_url(&sandbox.hubspot_url())?;
    let mut manychat_config =
        ManyChatConfig::for_environment(Environment::Test, sandbox.manychat_token())?;
    manychat_config.base_url = base_url(&sandbox.manychat_url())?;
    let hubspot = clients::hubspot(hubspot_config)?;
    let manychat = clients::manychat(manychat_config)?;

    let plan = SyncPlan {
        action: SendAction::Text("Hi {{firstname}}, welcome aboard!".to_owned()),
        tag: Some(TAG.to_owned()),
        message_tag: None,
    };
    let engine = SyncEngine::new(hubspot.clone(), manychat.clone(), plan)
        .concurrency(8)
        .read_retries(12, Duration::from_millis(250));
    let sink = ResultSink::memory();
    let progress = SyncProgress::new();
    let reporter = progress.report(
        if ctx.terminal {
            ProgressMode::Bar
        } else {
            ProgressMode::Log(Duration::from_secs(2))
        },
        "demo sync",
    );
    let server = Server::start(
        ServeConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            queue_capacity: 16,
            workers: 2,
            spool: None,
            secret: SECRET.to_owned(),
            public_url: None,
            plain_http: true,
            drain: Duration::from_secs(30),
        },
        engine,
        sink.clone(),
        progress.clone(),
        checker(Some(hubspot.clone()), Some(manychat.clone())),
        Some(exporter.clone()),
    )
    .await?;
    let url = format!("http://{}{WEBHOOK_PATH}", server.addr());

    if !args.no_faults {
        say(
            &ctx,
            "faults: 2 x 429 on contact reads, 6 x 503 on subscriber lookups, a connection dropped after a processed send",
        );
        control.fail_next(
            Route::path("/crm/v3/objects/contacts/batch/read"),
            2,
            Fault::status(429).retry_after_secs(1),
        );
        control.fail_next(
            Route::path("/fb/subscriber/findBySystemField"),
            6,
            Fault::status(503),
        );
        control.fail_next(
            Route::path("/fb/sending/sendContent"),
            1,
            Fault::DropAfterProcessing,
        );
    }

    // The contacts arrive as signed webhook batches of 100 events.
    let now_ms = api_sandbox::DEFAULT_EPOCH_MS;
    // At least two deliveries, so the outage can start between them.
    let per_delivery = n.div_ceil(2).clamp(1, EVENTS_PER_DELIVERY);
    let batches: Vec<Vec<WebhookEvent>> = contact_ids
        .chunks(per_delivery)
        .enumerate()
        .map(|(b, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    WebhookEvent::contact_creation((b * per_delivery + i) as u64 + 1, *id, now_ms)
                })
                .collect()
        })
        .collect();
    let mut statuses = Vec::new();
    let mut first_request = None;
    for (b, events) in batches.iter().enumerate() {
        if b == 1 && !args.no_faults {
            // Let the first batch finish, then take HubSpot down long enough to open the breaker.
            wait_for_jobs(&server, 1).await;
            say(
                &ctx,
                "fault: HubSpot outage for 2 s (503s) while the next batches arrive",
            );
            control.outage(Route::hubspot(), Duration::from_secs(2));
        }
        let request = webhook::build_request(SECRET, &url, events, &WebhookOptions::default())
            .map_err(|e| CliError::failed("cannot sign the demo webhook", e))?;
        if first_request.is_none() {
            first_request = Some(request.clone());
        }
        let status = send(request).await?;
        statuses.push(status);
    }
    // A forged delivery and a replayed one are refused before anything is queued.
    let forged = webhook::build_request(
        SECRET,
        &url,
        &batches[0],
        &WebhookOptions {
            corrupt_signature: true,
            ..WebhookOptions::default()
        },
    )
    .map_err(|e| CliError::failed("cannot sign the demo webhook", e))?;
    let forged_status = send(forged).await?;
    let replay_status = match first_request {
        Some(request) => send(request).await?,
        None => 0,
    };
    // HubSpot also re-sends property changes for contacts already welcomed: the tag marks
    // them, so nothing is sent twice (and their reads come from the cache).
    let repeat: Vec<WebhookEvent> = contact_ids
        .iter()
        .take(per_delivery)
        .enumerate()
        .map(|(i, id)| {
            WebhookEvent::contact_property_change(
                10_000 + i as u64,
                *id,
                now_ms + 1,
                "lifecyclestage",
                "lead",
            )
        })
        .collect();
    server.wait_idle().await;
    let repeat_status = send(
        webhook::build_request(SECRET, &url, &repeat, &WebhookOptions::default())
            .map_err(|e| CliError::failed("cannot sign the demo webhook", e))?,
    )
    .await?;
    server.wait_idle().await;
    let stats = server.shutdown().await?;
    reporter.finish();
    hubspot.close().await;
    manychat.close().await;

    // Check against the sandbox's own records.
    let records = sink.records();
    let deliveries = control.deliveries();
    let mut per_subscriber: HashMap<u64, usize> = HashMap::new();
    for d in &deliveries {
        *per_subscriber.entry(d.subscriber_id).or_default() += 1;
    }
    let duplicates = per_subscriber.values().filter(|c| **c > 1).count();
    let recorded: BTreeSet<String> = records.iter().map(|r| r.contact_id.clone()).collect();
    let missing: Vec<u64> = contact_ids
        .iter()
        .copied()
        .filter(|id| !recorded.contains(&id.to_string()))
        .collect();
    // Every contact that was sent to (or may have been) has exactly one delivery.
    let unmatched = records
        .iter()
        .filter(|r| r.sent || r.outcome == ContactOutcome::Unconfirmed)
        .filter(|r| {
            r.subscriber_id
                .is_none_or(|s| per_subscriber.get(&s).copied().unwrap_or(0) != 1)
        })
        .count();
    let snapshot = exporter.snapshot();
    let cache_hits = sum(
        &snapshot,
        "resilience_cache_requests_total",
        &[("result", "hit")],
    );
    let cache_misses = sum(
        &snapshot,
        "resilience_cache_requests_total",
        &[("result", "miss")],
    );
    let cache_hit_rate = if cache_hits + cache_misses > 0.0 {
        cache_hits / (cache_hits + cache_misses)
    } else {
        0.0
    };
    let paced = paced_requests(&snapshot);
    let seen_429 = sandbox.log().count(|e| e.status == Some(429));
    let ok = missing.is_empty() && duplicates == 0 && unmatched == 0;
    let summary = &stats.sync;
    let result = json!({
        "ok": ok,
        "contacts": n,
        "accounted_for": n - missing.len(),
        "synced": summary.synced,
        "already_synced": summary.already_synced,
        "no_subscriber": summary.no_subscriber,
        "not_found": summary.not_found,
        "unconfirmed": summary.unconfirmed,
        "failed": summary.failed,
        "messages_delivered": deliveries.len(),
        "delivered_exactly_once": duplicates == 0 && unmatched == 0,
        "duplicate_deliveries": duplicates,
        "webhooks_accepted": statuses.iter().filter(|s| **s == 204).count() + usize::from(repeat_status == 204),
        "forged_webhook_status": forged_status,
        "replayed_webhook_status": replay_status,
        "retries": sum(&snapshot, "resilience_retry_attempts_total", &[]) as u64,
        "breaker_opens": sum(&snapshot, "resilience_breaker_transitions_total", &[("to", "open")]) as u64,
        "cache_hit_rate": (cache_hit_rate * 1000.0).round() / 1000.0,
        "http_429_seen": seen_429,
        "requests_paced_by_rate_limiter": paced,
        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    if !missing.is_empty() {
        tracing::error!(missing = ?missing, "contacts without a result");
    }
    let mut report = Report::success(result)
        .status(if ok { Status::Success } else { Status::Failed })
        .output("ok", ok)
        .output("contacts", n)
        .output("synced", summary.synced)
        .metric(Metric::counter("demo_contacts", n as f64))
        .metric(Metric::counter(
            "demo_messages_delivered",
            deliveries.len() as f64,
        ))
        .metric(Metric::timer("demo_duration", started.elapsed()));
    if !args.no_metrics {
        report.trailer = Some(exporter.render());
    }
    Ok(report)
}

fn say(ctx: &Context, text: &str) {
    if ctx.terminal {
        ctx.printer.line(text);
    } else {
        tracing::info!("{text}");
    }
}

fn base_url(url: &str) -> Result<BaseUrl, CliError> {
    BaseUrl::parse(url).map_err(|e| CliError::failed("sandbox url", e))
}

async fn send(request: http::Request<http_body_util::Full<bytes::Bytes>>) -> Result<u16, CliError> {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(request)
        .await
        .map_err(|e| CliError::failed("webhook delivery to the demo server", e))?;
    Ok(response.status().as_u16())
}

async fn wait_for_jobs(server: &Server, jobs: u64) {
    while server.stats().jobs_done < jobs {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sum(snapshot: &MetricsSnapshot, name: &str, labels: &[(&str, &str)]) -> f64 {
    snapshot
        .counters
        .iter()
        .filter(|c| c.name == name)
        .filter(|c| {
            labels
                .iter()
                .all(|(k, v)| c.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|c| c.value)
        .sum()
}

/// Requests the rate limiter held back for more than 5 ms (each one a 429 avoided).
fn paced_requests(snapshot: &MetricsSnapshot) -> u64 {
    snapshot
        .histograms
        .iter()
        .filter(|h| h.name == "resilience_ratelimit_wait_seconds")
        .map(|h| {
            let quick = h
                .buckets
                .iter()
                .filter(|b| b.le <= 0.005)
                .map(|b| b.count)
                .max()
                .unwrap_or(0);
            h.count.saturating_sub(quick)
        })
        .sum()
}
