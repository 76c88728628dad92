//! Random faults on 20 % of requests, every fault kind the sandbox has, while a batch sends a
//! ManyChat message to every subscriber of the sandbox through one client, with an outage in
//! the middle.
//!
//! Invariants: every subscriber is accounted for (one record each: sent, or a typed failure,
//! never a panic); no message is delivered twice; a send reported as sent was delivered; a send
//! reported as a definite failure (not "outcome unknown") was not delivered; the breaker opens
//! during the outage and closes after it.

use super::{Size, SplitMix, Verdict};
use api_sandbox::{Chaos, Fault, Route, Sandbox};
use batch::BatchProcessor;
use client_manychat::{ManyChatClient, ManyChatError};
use resilience_breaker::State;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Every fault kind of the sandbox, for the chaos rule.
fn every_fault(rng: &mut SplitMix) -> Vec<Fault> {
    vec![
        Fault::status(500),
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

/// Runs the scenario.
pub fn run(seed: u64, size: Size) -> Verdict {
    match super::runtime() {
        Ok(rt) => rt.block_on(scenario(seed, size)),
        Err(e) => Verdict::failed(e, "no runtime"),
    }
}

async fn scenario(seed: u64, size: Size) -> Verdict {
    let contacts = match size {
        Size::Quick => 200,
        Size::Full => 5_000,
    };
    let mut rng = SplitMix(seed);
    let config = crate::loopback::fast_sandbox_config()
        .with_seed(seed)
        .with_contacts(contacts);
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => return Verdict::failed(format!("sandbox: {e}"), ""),
    };
    let control = sandbox.control().clone();
    let client = match ManyChatClient::builder()
        .token(sandbox.manychat_token())
        .base_url(sandbox.manychat_url())
        .timeout(Duration::from_millis(250))
        .rate_limit(None)
        .metrics(None)
        .build()
    {
        Ok(c) => c,
        Err(e) => return Verdict::failed(format!("manychat client: {e}"), ""),
    };
    let Some(breaker) = client.breaker().cloned() else {
        return Verdict::failed("the default ManyChat stack has no breaker", "");
    };
    let subscribers = control.subscriber_ids();
    control.set_chaos(Some(Chaos {
        seed,
        probability: 0.2,
        faults: every_fault(&mut rng),
        route: Route::manychat(),
    }));

    // Watch the breaker; start an outage shortly after the batch starts.
    let saw_open = Arc::new(AtomicBool::new(false));
    let outage_over = Arc::new(AtomicBool::new(false));
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
    // The outage starts once a seeded share (20-40 %) of the sends has reached the sandbox.
    let outage_after = subscribers.len() * (20 + rng.below(21) as usize) / 100;
    let outage_task = {
        let (control, outage_over) = (control.clone(), outage_over.clone());
        let log = sandbox.log().clone();
        tokio::spawn(async move {
            while log.len() < outage_after {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            control.outage(Route::manychat(), outage);
            tokio::time::sleep(outage).await;
            outage_over.store(true, Ordering::Relaxed);
        })
    };

    let processor = match BatchProcessor::builder().concurrency(16).build() {
        Ok(p) => p,
        Err(e) => return Verdict::failed(format!("batch: {e}"), ""),
    };
    let started = Instant::now();
    let result = {
        let client = client.clone();
        processor
            .process_keyed(
                subscribers.clone(),
                |id| *id,
                move |id| {
                    let client = client.clone();
                    async move { client.send_text(id, format!("hello {id}")).await }
                },
            )
            .await
    };
    let batch_time = started.elapsed();
    // The outage must be over before the breaker can close; then keep calling (a health check
    // every 100 ms, bounded) until it has closed.
    let _ = outage_task.await;
    control.set_chaos(None);
    let deadline = Instant::now() + Duration::from_secs(90);
    while breaker.state() != State::Closed && Instant::now() < deadline {
        let _ = client.health_check().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watcher.abort();
    let closed_after = breaker.state() == State::Closed;

    // Account for every subscriber.
    let mut sent = 0usize;
    let mut unknown = 0usize;
    let mut kinds: HashMap<String, usize> = HashMap::new();
    let mut definite_failures = Vec::new();
    if result.total() as usize != subscribers.len() {
        return Verdict::failed(
            format!(
                "{} subscribers but {} records",
                subscribers.len(),
                result.total()
            ),
            "",
        );
    }
    for (_, id, _) in result.successes() {
        sent += 1;
        let _ = id;
    }
    for (_, id, error) in result.failures() {
        let Some(error) = error.operation_error() else {
            return Verdict::failed(
                format!(
                    "subscriber {id}: not a typed client error: {} ({error:?})",
                    error.kind()
                ),
                "",
            );
        };
        let kind = classify(error);
        if error.is_outcome_unknown() {
            unknown += 1;
        } else {
            definite_failures.push(*id);
        }
        *kinds.entry(kind.to_string()).or_insert(0) += 1;
    }
    if result.cancelled() > 0 {
        return Verdict::failed(format!("{} items cancelled", result.cancelled()), "");
    }
    let mut per_subscriber: HashMap<u64, usize> = HashMap::new();
    for delivery in control.deliveries() {
        *per_subscriber.entry(delivery.subscriber_id).or_insert(0) += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    let detail = format!(
        "{} subscribers in {:.1}s: {sent} sent, {unknown} outcome unknown, {} definite failures {kinds:?}; {} deliveries; outage of {outage:?} after {outage_after} requests",
        subscribers.len(),
        batch_time.as_secs_f64(),
        definite_failures.len(),
        per_subscriber.values().sum::<usize>(),
    );
    if let Some((id, n)) = per_subscriber.iter().find(|(_, n)| **n > 1) {
        return Verdict::failed(format!("subscriber {id} got {n} messages"), detail);
    }
    for (_, id, _) in result.successes() {
        if per_subscriber.get(id).copied().unwrap_or(0) != 1 {
            return Verdict::failed(
                format!("subscriber {id}: reported sent but not delivered"),
                detail,
            );
        }
    }
    if let Some(id) = definite_failures
        .iter()
        .find(|id| per_subscriber.contains_key(id))
    {
        return Verdict::failed(
            format!("subscriber {id}: reported as a definite failure but delivered"),
            detail,
        );
    }
    if !saw_open.load(Ordering::Relaxed) {
        return Verdict::failed("the breaker never opened during the outage", detail);
    }
    if !outage_over.load(Ordering::Relaxed) || !closed_after {
        return Verdict::failed(
            format!(
                "the breaker did not close after the outage (state {:?})",
                breaker.state()
            ),
            detail,
        );
    }
    Verdict::passed(format!(
        "{detail}; breaker opened during the outage and closed after it"
    ))
}

fn classify(error: &ManyChatError) -> &'static str {
    if error.is_outcome_unknown() {
        "outcome_unknown"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_rejected() {
        "rejected"
    } else if error.is_rate_limited() {
        "rate_limited"
    } else if error.status().is_some() {
        "api"
    } else {
        "transport"
    }
}
