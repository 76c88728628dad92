//! The fault scenario: random faults on 20 % of all requests (every fault kind the
//! sandbox has, both APIs) during a contact sync run by the CLI's own `SyncEngine` (the engine
//! of `integrations sync`), with a ManyChat outage in the middle.
//!
//! Invariants: every contact has exactly one result record; no ManyChat message is delivered
//! twice; a contact recorded as sent was delivered exactly once; every failure names its step
//! and carries an error text, and none is a caught panic; the ManyChat breaker opens during the
//! outage and closes after it.

use super::{Size, SplitMix, Verdict};
use api_sandbox::{Chaos, Fault, Route, Sandbox};
use client_hubspot::HubSpotClient;
use client_manychat::ManyChatClient;
use integrations_cli::sync::{
    ContactOutcome, ResultSink, SendAction, SyncEngine, SyncPlan, SyncProgress,
};
use resilience_breaker::State;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs the scenario.
pub fn run(seed: u64, size: Size) -> Verdict {
    match super::runtime() {
        Ok(rt) => rt.block_on(scenario(seed, size)),
        Err(e) => Verdict::failed(e, "no runtime"),
    }
}

fn faults(rng: &mut SplitMix) -> Vec<Fault> {
    vec![
        Fault::status(500),
        Fault::status(502),
        Fault::status(503),
        Fault::status(503).retry_after_secs(1),
        Fault::status(429),
        Fault::html(502),
        Fault::latency(Duration::from_millis(100 + rng.below(300))),
        Fault::DropBeforeResponse,
        Fault::DropAfterProcessing,
        Fault::MalformedJson,
        Fault::TruncatedBody,
    ]
}

async fn scenario(seed: u64, size: Size) -> Verdict {
    let contacts = match size {
        Size::Quick => 300,
        Size::Full => 5_000,
    };
    let mut rng = SplitMix(seed ^ 0x51AC);
    let config = crate::loopback::fast_sandbox_config()
        .with_seed(seed)
        .with_contacts(contacts);
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => return Verdict::failed(format!("sandbox: {e}"), ""),
    };
    let control = sandbox.control().clone();
    let attempt = Duration::from_millis(250);
    let hubspot = HubSpotClient::builder()
        .token(sandbox.hubspot_token())
        .base_url(sandbox.hubspot_url())
        .timeout(attempt)
        .rate_limit(None)
        .metrics(None)
        .build();
    let manychat = ManyChatClient::builder()
        .token(sandbox.manychat_token())
        .base_url(sandbox.manychat_url())
        .timeout(attempt)
        .rate_limit(None)
        .metrics(None)
        .build();
    let (hubspot, manychat) = match (hubspot, manychat) {
        (Ok(h), Ok(m)) => (h, m),
        (Err(e), _) => return Verdict::failed(format!("hubspot client: {e}"), ""),
        (_, Err(e)) => return Verdict::failed(format!("manychat client: {e}"), ""),
    };
    let Some(breaker) = manychat.breaker().cloned() else {
        return Verdict::failed("the default ManyChat stack has no breaker", "");
    };
    let probe = manychat.clone();
    let plan = SyncPlan {
        action: SendAction::Text("Hi {{firstname}}".to_owned()),
        tag: None,
        message_tag: None,
    };
    let engine = SyncEngine::new(hubspot, manychat, plan)
        .concurrency(16)
        .read_retries(3, Duration::from_millis(200));
    let ids: Vec<String> = control
        .contact_ids()
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    control.set_chaos(Some(Chaos {
        seed,
        probability: 0.2,
        faults: faults(&mut rng),
        route: Route::any(),
    }));

    let saw_open = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (breaker, saw_open) = (breaker.clone(), saw_open.clone());
        tokio::spawn(async move {
            loop {
                if breaker.state() == State::Open {
                    saw_open.store(true, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let outage = Duration::from_millis(1_500 + rng.below(1_000));
    let manychat_requests =
        |log: &api_sandbox::RequestLog| log.count(|e| e.api == api_sandbox::Api::ManyChat);
    let outage_after = contacts * (20 + rng.below(21) as usize) / 100;
    let outage_task = {
        let control = control.clone();
        let log = sandbox.log().clone();
        tokio::spawn(async move {
            while manychat_requests(&log) < outage_after {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            control.outage(Route::manychat(), outage);
            tokio::time::sleep(outage).await;
        })
    };

    let sink = ResultSink::memory();
    let started = Instant::now();
    let summary = match engine.run(ids.clone(), &sink, &SyncProgress::new()).await {
        Ok(s) => s,
        Err(e) => {
            return Verdict::failed(format!("the sync itself failed: {e}"), "");
        }
    };
    let sync_time = started.elapsed();
    let _ = outage_task.await;
    control.set_chaos(None);
    let deadline = Instant::now() + Duration::from_secs(90);
    while breaker.state() != State::Closed && Instant::now() < deadline {
        let _ = probe.health_check().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watcher.abort();

    let records = sink.records();
    let mut per_contact: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        *per_contact.entry(r.contact_id.as_str()).or_insert(0) += 1;
    }
    let mut per_subscriber: HashMap<u64, usize> = HashMap::new();
    for d in control.deliveries() {
        *per_subscriber.entry(d.subscriber_id).or_insert(0) += 1;
    }
    let mut outcomes: HashMap<&'static str, usize> = HashMap::new();
    for r in &records {
        *outcomes.entry(r.outcome.as_str()).or_insert(0) += 1;
    }
    let mut outcomes: Vec<_> = outcomes.into_iter().collect();
    outcomes.sort();
    let detail = format!(
        "{} contacts in {:.1}s: {outcomes:?}; {} messages sent (summary), {} deliveries; ManyChat outage of {outage:?} after {outage_after} ManyChat requests",
        ids.len(),
        sync_time.as_secs_f64(),
        summary.messages_sent,
        per_subscriber.values().sum::<usize>(),
    );
    if records.len() != ids.len() {
        return Verdict::failed(
            format!("{} contacts but {} records", ids.len(), records.len()),
            detail,
        );
    }
    if let Some(id) = ids
        .iter()
        .find(|id| per_contact.get(id.as_str()) != Some(&1))
    {
        return Verdict::failed(
            format!(
                "contact {id} has {} records",
                per_contact.get(id.as_str()).copied().unwrap_or(0)
            ),
            detail,
        );
    }
    if let Some((id, n)) = per_subscriber.iter().find(|(_, n)| **n > 1) {
        return Verdict::failed(format!("subscriber {id} got {n} messages"), detail);
    }
    for r in &records {
        if r.sent {
            let delivered = r
                .subscriber_id
                .and_then(|s| per_subscriber.get(&s).copied())
                .unwrap_or(0);
            if delivered != 1 {
                return Verdict::failed(
                    format!(
                        "contact {} recorded as sent but {delivered} deliveries",
                        r.contact_id
                    ),
                    detail,
                );
            }
        }
        if r.outcome == ContactOutcome::Failed {
            let error = r.error.as_deref().unwrap_or("");
            if r.stage.is_none() || error.is_empty() {
                return Verdict::failed(
                    format!(
                        "contact {}: a failure without a step or an error",
                        r.contact_id
                    ),
                    detail,
                );
            }
            if error.contains("panic") {
                return Verdict::failed(
                    format!("contact {}: a caught panic: {error}", r.contact_id),
                    detail,
                );
            }
        }
    }
    if !saw_open.load(Ordering::Relaxed) {
        return Verdict::failed(
            "the ManyChat breaker never opened during the outage",
            detail,
        );
    }
    if breaker.state() != State::Closed {
        return Verdict::failed(
            format!(
                "the ManyChat breaker did not close after the outage (state {:?})",
                breaker.state()
            ),
            detail,
        );
    }
    Verdict::passed(format!(
        "{detail}; breaker opened during the outage and closed after it"
    ))
}
