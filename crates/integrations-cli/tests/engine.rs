//! The sync engine in-process against the sandbox: no duplicate sends across concurrent runs,
//! an unknown send outcome is not repeated, contact reads survive a HubSpot outage.

use std::time::Duration;

use api_sandbox::{Fault, Route, Sandbox, SandboxConfig};
use integrations_cli::clients;
use integrations_cli::sync::{
    ContactOutcome, ResultSink, SendAction, SyncEngine, SyncPlan, SyncProgress,
};
use integrations_config::{BaseUrl, Environment, HubSpotConfig, ManyChatConfig};

async fn setup() -> (Sandbox, SyncEngine) {
    let sandbox = Sandbox::start(SandboxConfig::small())
        .await
        .expect("sandbox starts");
    let mut hubspot = HubSpotConfig::for_environment(Environment::Test, sandbox.hubspot_token());
    hubspot.base_url = BaseUrl::parse(&sandbox.hubspot_url()).expect("url");
    let mut manychat = ManyChatConfig::for_environment(Environment::Test, sandbox.manychat_token())
        .expect("token");
    manychat.base_url = BaseUrl::parse(&sandbox.manychat_url()).expect("url");
    let plan = SyncPlan {
        action: SendAction::Text("Hi {{firstname}}".to_owned()),
        tag: Some("welcomed".to_owned()),
        message_tag: None,
    };
    let engine = SyncEngine::new(
        clients::hubspot(hubspot).expect("hubspot client"),
        clients::manychat(manychat).expect("manychat client"),
        plan,
    )
    .concurrency(4)
    .read_retries(20, Duration::from_millis(50));
    (sandbox, engine)
}

fn ids(sandbox: &Sandbox, n: usize) -> Vec<String> {
    sandbox
        .control()
        .contact_ids()
        .iter()
        .take(n)
        .map(u64::to_string)
        .collect()
}

fn subscribers_with_more_than_one_delivery(sandbox: &Sandbox) -> usize {
    let mut counts = std::collections::HashMap::new();
    for d in sandbox.control().deliveries() {
        *counts.entry(d.subscriber_id).or_insert(0usize) += 1;
    }
    counts.values().filter(|c| **c > 1).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_naming_the_same_contacts_send_once() {
    let (sandbox, engine) = setup().await;
    let ids = ids(&sandbox, 15);
    let (a, b) = (ResultSink::memory(), ResultSink::memory());
    let progress = SyncProgress::new();
    let (ra, rb) = tokio::join!(
        engine.run(ids.clone(), &a, &progress),
        engine.run(ids.clone(), &b, &progress)
    );
    let (ra, rb) = (ra.expect("run a"), rb.expect("run b"));
    assert_eq!((ra.total, rb.total), (15, 15));
    assert_eq!(subscribers_with_more_than_one_delivery(&sandbox), 0);
    // Each contact with a subscriber was sent to by exactly one of the runs.
    assert_eq!(
        ra.synced + rb.synced,
        sandbox.control().deliveries().len() as u64
    );
    assert_eq!(ra.synced + rb.synced, ra.already_synced + rb.already_synced);
    assert_eq!(progress.snapshot(), (30, 30, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_send_outcome_is_recorded_tagged_and_never_repeated() {
    let (sandbox, engine) = setup().await;
    let ids = ids(&sandbox, 10);
    sandbox.control().fail_next(
        Route::path("/fb/sending/sendContent"),
        1,
        Fault::DropAfterProcessing,
    );
    let sink = ResultSink::memory();
    let summary = engine
        .run(ids.clone(), &sink, &SyncProgress::new())
        .await
        .expect("run");
    assert_eq!(summary.unconfirmed, 1);
    let unconfirmed = sink
        .records()
        .into_iter()
        .find(|r| r.outcome == ContactOutcome::Unconfirmed)
        .expect("one unconfirmed record");
    assert!(!unconfirmed.sent);
    assert!(unconfirmed.tagged, "tagged so that a re-run skips it");
    let subscriber = unconfirmed.subscriber_id.expect("subscriber");
    assert_eq!(sandbox.control().deliveries_to(subscriber).len(), 1);

    // A re-run (a Kestra task retry) skips everyone already reached, the unconfirmed one too.
    let again = engine
        .run(ids, &ResultSink::memory(), &SyncProgress::new())
        .await
        .expect("run");
    assert_eq!(again.synced, 0);
    assert_eq!(again.already_synced, summary.synced + summary.unconfirmed);
    assert_eq!(subscribers_with_more_than_one_delivery(&sandbox), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_reads_outlast_a_hubspot_outage() {
    let (sandbox, engine) = setup().await;
    let ids = ids(&sandbox, 12);
    sandbox
        .control()
        .outage(Route::hubspot(), Duration::from_millis(800));
    let sink = ResultSink::memory();
    let summary = engine
        .run(ids.clone(), &sink, &SyncProgress::new())
        .await
        .expect("run");
    assert_eq!(summary.total, 12);
    assert_eq!(summary.failed, 0, "{:?}", sink.records());
    let reads = sandbox
        .log()
        .count(|e| e.path.ends_with("/batch/read") && e.status == Some(503));
    assert!(reads >= 1, "the outage was hit");
    let mut recorded: Vec<String> = sink.records().into_iter().map(|r| r.contact_id).collect();
    recorded.sort();
    let mut expected = ids;
    expected.sort();
    assert_eq!(recorded, expected);
}
