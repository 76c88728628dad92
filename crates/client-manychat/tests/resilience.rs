//! Faults against the sandbox: throttling, dropped connections, 5xx bursts, and many sends at
//! the default limits. Time is tokio's paused clock, so waits cost no real time.

mod support;

use std::sync::Arc;
use std::time::Duration;

use api_sandbox::{Fault, Route, Sandbox, SandboxConfig};
use client_manychat::{ManyChatError, SubscriberId};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const SEND: &str = "/fb/sending/sendContent";

fn first_subscriber(sandbox: &Sandbox) -> SubscriberId {
    SubscriberId(
        *sandbox
            .control()
            .subscriber_ids()
            .first()
            .expect("seeded subscribers"),
    )
}

fn requests_to(sandbox: &Sandbox, path: &str) -> usize {
    sandbox.log().for_path(path).len()
}

#[tokio::test(start_paused = true)]
async fn rate_limit_rejection_is_retried_and_delivered_once() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox
        .control()
        .fail_next(Route::path(SEND), 2, Fault::status(429));

    client
        .send_text(id, "Your order shipped")
        .await
        .expect("delivered after the 429s");

    assert_eq!(
        sandbox.control().deliveries_to(id.get()).len(),
        1,
        "exactly once"
    );
    assert_eq!(
        requests_to(&sandbox, SEND),
        3,
        "two refusals, then the send"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_503_with_retry_after_is_retried_after_the_wait() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox.control().fail_next(
        Route::path("/fb/sending/sendFlow"),
        1,
        Fault::status(503).retry_after_secs(2),
    );

    client
        .send_flow(id, "content20180221085508_278589")
        .await
        .expect("delivered after the wait");

    assert_eq!(sandbox.control().deliveries_to(id.get()).len(), 1);
    let gaps = sandbox.log().gaps(|e| e.path == "/fb/sending/sendFlow");
    assert_eq!(gaps.len(), 1);
    assert!(
        gaps[0] >= Duration::from_secs(2),
        "Retry-After honoured: {gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn dropped_after_processing_is_outcome_unknown_and_never_resent() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox
        .control()
        .fail_next(Route::path(SEND), 1, Fault::DropAfterProcessing);

    let error = client.send_text(id, "Hi").await.expect_err("no answer");

    assert!(error.is_outcome_unknown(), "{error:?}");
    assert!(matches!(
        error,
        ManyChatError::OutcomeUnknown {
            operation: "sending.send_content",
            ..
        }
    ));
    assert!(error.to_string().contains("outcome unknown"), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(
        sandbox.control().deliveries_to(id.get()).len(),
        1,
        "it was delivered once"
    );
    assert_eq!(requests_to(&sandbox, SEND), 1, "no second send");
}

#[tokio::test(start_paused = true)]
async fn dropped_before_processing_is_still_outcome_unknown() {
    // The client cannot tell the two drops apart, so it never guesses: no resend either way.
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox.control().fail_next(
        Route::path("/fb/subscriber/addTagByName"),
        1,
        Fault::DropBeforeResponse,
    );

    let error = client
        .subscribers()
        .add_tag(id, "vip")
        .await
        .expect_err("no answer");

    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(requests_to(&sandbox, "/fb/subscriber/addTagByName"), 1);
}

#[tokio::test(start_paused = true)]
async fn unreadable_success_body_on_a_send_is_outcome_unknown() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox
        .control()
        .fail_next(Route::path(SEND), 1, Fault::MalformedJson);

    let error = client.send_text(id, "Hi").await.expect_err("unreadable");

    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(sandbox.control().deliveries_to(id.get()).len(), 1);
    assert_eq!(requests_to(&sandbox, SEND), 1);
}

#[tokio::test(start_paused = true)]
async fn a_5xx_on_a_send_is_not_retried_and_its_outcome_is_unknown() {
    // A 500, or a gateway's 502/504, may come after ManyChat applied the send: not repeated, and
    // reported as `OutcomeUnknown` (the status is still there), not as a retryable refusal.
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    for (fault, status) in [
        (Fault::status(500), 500),
        (Fault::html(502), 502),
        (Fault::status(504), 504),
    ] {
        let before = requests_to(&sandbox, SEND);
        sandbox.control().fail_next(Route::path(SEND), 1, fault);

        let error = client.send_text(id, "Hi").await.expect_err("5xx");

        assert!(error.is_outcome_unknown(), "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert!(!error.is_retryable(), "{status}");
        assert_eq!(
            requests_to(&sandbox, SEND),
            before + 1,
            "a write is not repeated after a {status}"
        );
    }
    assert!(sandbox.control().deliveries_to(id.get()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_503_without_retry_after_on_a_send_is_a_refusal_not_retried() {
    // A 503 is a refusal before processing: known outcome, the caller may try later, but the
    // client does not repeat the send itself (without `Retry-After` it is not throttling).
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox
        .control()
        .fail_next(Route::path(SEND), 1, Fault::status(503));

    let error = client.send_text(id, "Hi").await.expect_err("503");

    assert!(matches!(error, ManyChatError::Api { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(requests_to(&sandbox, SEND), 1);
    assert!(sandbox.control().deliveries_to(id.get()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_423_on_a_send_is_not_treated_as_throttling() {
    // The shared HTTP rules call 423 throttling (retried even for writes); ManyChat never
    // documented it, so a send answered 423 is not repeated.
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox
        .control()
        .fail_next(Route::path(SEND), 1, Fault::status(423).retry_after_secs(1));

    let error = client.send_text(id, "Hi").await.expect_err("423");

    assert_eq!(error.status(), Some(http::StatusCode::LOCKED));
    assert_eq!(requests_to(&sandbox, SEND), 1, "not repeated");
    assert!(sandbox.control().deliveries_to(id.get()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_5xx_burst_on_a_read_is_retried() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    sandbox
        .control()
        .fail_next(Route::path("/fb/page/getTags"), 2, Fault::status(503));
    sandbox
        .control()
        .fail_next(Route::path("/fb/page/getFlows"), 1, Fault::html(502));
    let id = first_subscriber(&sandbox);
    sandbox.control().fail_next(
        Route::path("/fb/subscriber/getInfo"),
        1,
        Fault::MalformedJson,
    );

    let tags = client.page().tags().await.expect("after two 503s");
    assert!(!tags.is_empty());
    client.page().flows().await.expect("after an HTML 502");
    client
        .subscribers()
        .get(id)
        .await
        .expect("after a malformed body");

    assert_eq!(requests_to(&sandbox, "/fb/page/getTags"), 3);
    assert_eq!(requests_to(&sandbox, "/fb/page/getFlows"), 2);
    assert_eq!(requests_to(&sandbox, "/fb/subscriber/getInfo"), 2);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_configured_attempts() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    sandbox
        .control()
        .fail_always(Route::path("/fb/page/getTags"), Fault::status(503));

    let error = client.page().tags().await.expect_err("still failing");

    assert_eq!(error.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(
        requests_to(&sandbox, "/fb/page/getTags"),
        4,
        "1 + MANYCHAT_MAX_RETRIES (3)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_send_that_never_left_is_not_outcome_unknown() {
    // Nothing listens on this port: the connection is refused, so the request provably never
    // reached ManyChat (and retrying it was safe).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let client = support::builder(&url, support::FIXTURE_TOKEN)
        .build()
        .expect("client");

    let error = client.send_text(1u64, "Hi").await.expect_err("refused");

    assert!(!error.is_outcome_unknown(), "{error:?}");
    assert!(matches!(error, ManyChatError::Http { .. }), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn five_hundred_sends_at_the_default_limits_are_each_delivered_once() {
    let mut config = SandboxConfig::small().with_contacts(720);
    config.manychat.rate_limits = true;
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let client = support::client(&sandbox);
    let ids: Vec<u64> = sandbox
        .control()
        .subscriber_ids()
        .into_iter()
        .take(500)
        .collect();
    assert_eq!(ids.len(), 500);

    let started = tokio::time::Instant::now();
    // A workflow sends with bounded concurrency; the client's limiter paces the sends.
    let permits = Arc::new(Semaphore::new(50));
    let mut tasks = JoinSet::new();
    for id in ids.iter().copied() {
        let client = client.clone();
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore");
            client.send_text(id, "Spring sale starts today").await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("task").expect("every send succeeds");
    }
    let elapsed = started.elapsed();

    let deliveries = sandbox.control().deliveries();
    assert_eq!(deliveries.len(), 500);
    let mut delivered: Vec<u64> = deliveries.iter().map(|d| d.subscriber_id).collect();
    delivered.sort_unstable();
    delivered.dedup();
    assert_eq!(delivered.len(), 500, "each subscriber exactly once");
    let throttled = sandbox
        .log()
        .count(|e| e.path == SEND && e.status == Some(429));
    assert_eq!(throttled, 0, "none rejected for rate");
    assert_eq!(requests_to(&sandbox, SEND), 500, "no retries were needed");
    // 500 sends at 25/s take at least 19 s of (virtual) time.
    assert!(elapsed >= Duration::from_secs(19), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_sustained_outage_opens_the_breaker_which_then_fails_fast() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    sandbox
        .control()
        .outage(Route::manychat(), Duration::from_secs(30));

    // Each call makes up to 4 attempts; the breaker opens after 10 failures in a row.
    let mut calls = 0;
    let open = loop {
        let error = client.page().tags().await.expect_err("outage");
        calls += 1;
        if error.is_rejected() {
            break error;
        }
        assert_eq!(error.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
        assert!(calls < 10, "the breaker never opened");
    };
    assert_eq!(open.rejected_by(), Some("circuit_breaker"));
    assert!(
        open.retry_after().is_some(),
        "an open breaker says when to come back"
    );
    assert_eq!(
        client.breaker().map(|b| b.state()),
        Some(resilience_breaker::State::Open)
    );

    // Fails fast: nothing reaches ManyChat, and a refused send is not "outcome unknown".
    let before = sandbox.log().len();
    let refused = client.send_text(id, "Hi").await.expect_err("open");
    assert!(
        refused.is_rejected() && !refused.is_outcome_unknown(),
        "{refused:?}"
    );
    assert!(client.page().info().await.expect_err("open").is_rejected());
    assert_eq!(sandbox.log().len(), before);
    assert!(sandbox.control().deliveries_to(id.get()).is_empty());

    // After the outage, the breaker lets a probe through and closes again.
    sandbox.control().clear_faults();
    tokio::time::sleep(Duration::from_secs(2)).await;
    client.page().tags().await.expect("recovered");
    client.send_text(id, "Hi").await.expect("recovered");
    assert_eq!(sandbox.control().deliveries_to(id.get()).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_timeout_is_retried_on_a_read_but_not_on_a_send() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);
    // The test environment's attempt timeout is 5 s.
    sandbox.control().fail_next(
        Route::path("/fb/page/getTags"),
        1,
        Fault::latency(Duration::from_secs(30)),
    );
    let started = tokio::time::Instant::now();
    client
        .page()
        .tags()
        .await
        .expect("the second attempt answers");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(5) && elapsed < Duration::from_secs(30),
        "timed out after 5 s, then retried: {elapsed:?}"
    );
    // The sandbox logs a request when it completes; the abandoned one never does.
    assert_eq!(requests_to(&sandbox, "/fb/page/getTags"), 1);

    sandbox.control().fail_next(
        Route::path(SEND),
        1,
        Fault::latency(Duration::from_secs(30)),
    );
    let error = client.send_text(id, "Hi").await.expect_err("timed out");
    assert!(error.is_outcome_unknown(), "{error:?}");
    tokio::time::sleep(Duration::from_secs(31)).await;
    // A second attempt would have completed (and been logged and delivered): there was none.
    assert_eq!(
        requests_to(&sandbox, SEND),
        0,
        "a timed-out send is not repeated"
    );
    assert!(sandbox.control().deliveries_to(id.get()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn each_endpoint_has_its_own_rate_limit_key() {
    let sandbox = support::sandbox(true).await;
    let client = support::client(&sandbox);
    let id = first_subscriber(&sandbox);

    // Twenty tag writes: addTag's 10/s bucket paces them over about two seconds...
    let started = tokio::time::Instant::now();
    let mut tags = JoinSet::new();
    for _ in 0..20 {
        let client = client.clone();
        tags.spawn(async move { client.subscribers().add_tag(id, "vip").await });
    }
    tokio::task::yield_now().await;
    // ...while a field write on another endpoint, and a send, go at once.
    client
        .subscribers()
        .set_custom_field(id, "score", 1)
        .await
        .expect("field");
    client.send_text(id, "Hi").await.expect("send");
    // A shared bucket would queue them behind the tag writes for over 2 s.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "not queued behind addTag: {:?}",
        started.elapsed()
    );

    while let Some(result) = tags.join_next().await {
        result.expect("task").expect("tag");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let throttled = sandbox.log().count(|e| e.status == Some(429));
    assert_eq!(
        throttled, 0,
        "the limiter kept every endpoint under ManyChat's limit"
    );
}

#[tokio::test(start_paused = true)]
async fn a_send_cut_off_by_the_total_deadline_is_outcome_unknown_and_not_repeated() {
    let sandbox = support::sandbox(true).await;
    let client = support::builder(&sandbox.manychat_url(), &sandbox.manychat_token())
        .total_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let id = first_subscriber(&sandbox);
    sandbox.control().fail_next(
        Route::path(SEND),
        1,
        Fault::latency(Duration::from_secs(30)),
    );

    let error = client.send_text(id, "Hi").await.expect_err("deadline");

    assert!(error.is_outcome_unknown(), "{error:?}");
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(requests_to(&sandbox, SEND), 0, "no second attempt");
    assert!(sandbox.control().deliveries_to(id.get()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_send_refused_by_the_local_rate_limiter_was_never_sent() {
    // With a short deadline, sends past sendFlow's 20/s cannot wait for a permit: they are
    // refused locally (known not sent), never "outcome unknown", and only the others arrive.
    let sandbox = support::sandbox(true).await;
    let client = support::builder(&sandbox.manychat_url(), &sandbox.manychat_token())
        .total_timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let ids = sandbox.control().subscriber_ids();
    let mut sends = JoinSet::new();
    for id in ids.iter().copied().take(20) {
        let client = client.clone();
        sends.spawn(async move { client.send_flow(id, "content20180221085508_278589").await });
    }
    let (mut sent, mut refused) = (0, 0);
    while let Some(result) = sends.join_next().await {
        match result.expect("task") {
            Ok(()) => sent += 1,
            Err(error) => {
                assert_eq!(error.rejected_by(), Some("rate_limiter"), "{error:?}");
                assert!(error.is_rate_limited() && !error.is_outcome_unknown());
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the limiter refused some");
    assert_eq!(
        requests_to(&sandbox, "/fb/sending/sendFlow"),
        sent,
        "a refused send never reached ManyChat"
    );
    assert_eq!(sandbox.control().deliveries().len(), sent);
}
