//! Webhook flood: 10x the queue of the `serve` webhook service (the CLI's own `Server`),
//! delivered at once, each a signed HubSpot v3 batch naming one contact.
//!
//! Invariants: every delivery is answered 204 (accepted) or 503 (queue full), nothing else;
//! beyond capacity it answers 503; the server's counters agree with the answers; every
//! accepted delivery's contact gets its sync result (nothing accepted is dropped); after the
//! flood a new delivery is accepted and processed (it recovers).

use super::{Size, Verdict};
use api_sandbox::Sandbox;
use api_sandbox::webhook::{self, WebhookEvent, WebhookOptions};
use client_hubspot::HubSpotClient;
use client_manychat::ManyChatClient;
use integrations_cli::serve::{ServeConfig, Server, WEBHOOK_PATH};
use integrations_cli::sync::{ResultSink, SendAction, SyncEngine, SyncPlan, SyncProgress};
use obs_health::HealthChecker;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const SECRET: &str = "flood-secret-0000-0000-000000000000";

/// Runs the scenario.
pub fn run(seed: u64, size: Size) -> Verdict {
    match super::runtime() {
        Ok(rt) => rt.block_on(scenario(seed, size)),
        Err(e) => Verdict::failed(e, "no runtime"),
    }
}

async fn scenario(seed: u64, size: Size) -> Verdict {
    let queue = match size {
        Size::Quick => 10,
        Size::Full => 100,
    };
    let deliveries = queue * 10;
    let config = crate::loopback::fast_sandbox_config()
        .with_seed(seed)
        .with_contacts(deliveries + 1);
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => return Verdict::failed(format!("sandbox: {e}"), ""),
    };
    let hubspot = HubSpotClient::builder()
        .token(sandbox.hubspot_token())
        .base_url(sandbox.hubspot_url())
        .rate_limit(None)
        .metrics(None)
        .build();
    let manychat = ManyChatClient::builder()
        .token(sandbox.manychat_token())
        .base_url(sandbox.manychat_url())
        .rate_limit(None)
        .metrics(None)
        .build();
    let (hubspot, manychat) = match (hubspot, manychat) {
        (Ok(h), Ok(m)) => (h, m),
        (Err(e), _) => return Verdict::failed(format!("hubspot client: {e}"), ""),
        (_, Err(e)) => return Verdict::failed(format!("manychat client: {e}"), ""),
    };
    let plan = SyncPlan {
        action: SendAction::Text("Hi {{firstname}}".to_owned()),
        tag: None,
        message_tag: None,
    };
    let engine = SyncEngine::new(hubspot, manychat, plan).concurrency(4);
    let sink = ResultSink::memory();
    let server = match Server::start(
        ServeConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            queue_capacity: queue,
            workers: 2,
            spool: None,
            secret: SECRET.to_owned(),
            public_url: None,
            plain_http: true,
            drain: Duration::from_secs(30),
        },
        engine,
        sink.clone(),
        SyncProgress::new(),
        HealthChecker::builder().build(),
        None,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return Verdict::failed(format!("serve: {e}"), ""),
    };
    let url = format!("http://{}{WEBHOOK_PATH}", server.addr());
    let ids = sandbox.control().contact_ids();
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    };

    let started = Instant::now();
    let sends: Vec<_> = ids
        .iter()
        .take(deliveries)
        .enumerate()
        .map(|(i, &id)| {
            let url = url.clone();
            let event = WebhookEvent::contact_creation(i as u64 + 1, id, now_ms());
            tokio::spawn(async move {
                let response =
                    webhook::deliver(SECRET, &url, &[event], &WebhookOptions::default()).await;
                (id, response.map(|r| r.status().as_u16()))
            })
        })
        .collect();
    let mut accepted = HashSet::new();
    let mut rejected = 0u64;
    for send in sends {
        match send.await {
            Ok((id, Ok(204))) => {
                accepted.insert(id.to_string());
            }
            Ok((_, Ok(503))) => rejected += 1,
            Ok((id, Ok(status))) => {
                return Verdict::failed(
                    format!("delivery for contact {id} answered {status}, not 204 or 503"),
                    "",
                );
            }
            Ok((id, Err(e))) => {
                return Verdict::failed(
                    format!(
                        "delivery for contact {id} got no answer: {}",
                        super::chain(&e)
                    ),
                    "",
                );
            }
            Err(e) => return Verdict::failed(format!("a delivery task panicked: {e}"), ""),
        }
    }
    let flood_time = started.elapsed();
    if tokio::time::timeout(Duration::from_secs(120), server.wait_idle())
        .await
        .is_err()
    {
        return Verdict::failed("the queue did not drain within 120 s", "");
    }
    let stats = server.stats();
    let detail = format!(
        "{deliveries} deliveries at once to a queue of {queue} in {:.2}s: {} accepted, {rejected} answered 503; {} jobs done, {} contacts synced",
        flood_time.as_secs_f64(),
        accepted.len(),
        stats.jobs_done,
        stats.sync.synced
    );
    if rejected == 0 {
        return Verdict::failed("no 503 although the flood was 10x the queue", detail);
    }
    if stats.accepted != accepted.len() as u64 || stats.rejected_queue_full != rejected {
        return Verdict::failed(
            format!(
                "the server counted {} accepted / {} rejected, the senders saw {} / {rejected}",
                stats.accepted,
                stats.rejected_queue_full,
                accepted.len()
            ),
            detail,
        );
    }
    let synced: HashSet<String> = sink.records().into_iter().map(|r| r.contact_id).collect();
    if let Some(lost) = accepted.iter().find(|id| !synced.contains(*id)) {
        return Verdict::failed(
            format!("contact {lost} was accepted (204) but never synced"),
            detail,
        );
    }
    // Recovery: once drained, a new delivery is accepted and processed.
    let Some(last) = ids.get(deliveries).copied() else {
        return Verdict::failed("no contact left for the recovery delivery", detail);
    };
    let event = WebhookEvent::contact_creation(deliveries as u64 + 1, last, now_ms());
    match webhook::deliver(SECRET, &url, &[event], &WebhookOptions::default()).await {
        Ok(r) if r.status().as_u16() == 204 => {}
        Ok(r) => {
            return Verdict::failed(
                format!("after the flood a delivery answered {}", r.status()),
                detail,
            );
        }
        Err(e) => return Verdict::failed(format!("after the flood: {}", super::chain(&e)), detail),
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), server.wait_idle()).await;
    if !sink
        .records()
        .iter()
        .any(|r| r.contact_id == last.to_string())
    {
        return Verdict::failed("the delivery after the flood was not synced", detail);
    }
    match server.shutdown().await {
        Ok(stats) if stats.spooled == 0 => {}
        Ok(stats) => {
            return Verdict::failed(format!("{} jobs left at shutdown", stats.spooled), detail);
        }
        Err(e) => return Verdict::failed(format!("shutdown: {e}"), detail),
    }
    Verdict::passed(format!(
        "{detail}; recovered: a later delivery was accepted and synced"
    ))
}
