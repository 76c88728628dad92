//! The default stack end to end against the sandbox's scripted faults.

mod support;

use std::time::Duration;

use api_sandbox::{Fault, Route, SandboxConfig, WindowLimit};
use bytes::Bytes;
use client_hubspot::stack::RateLimitSettings;
use client_hubspot::{GetOptions, HubSpotClient, HubSpotError, ListOptions, ObjectInput};
use support::{builder, client, contact_id, sandbox, sandbox_with};

const CONTACTS: &str = "/crm/v3/objects/contacts";

fn statuses(sandbox: &api_sandbox::Sandbox) -> Vec<Option<u16>> {
    sandbox.log().entries().iter().map(|e| e.status).collect()
}

#[tokio::test(start_paused = true)]
async fn throttled_429_waits_as_the_headers_say_then_succeeds() {
    let mut config = SandboxConfig::small();
    config.hubspot.burst = Some(WindowLimit::new(2, Duration::from_secs(10)));
    config.hubspot.retry_after_on_429 = true;
    let sandbox = sandbox_with(config).await;
    // The limiter is off: this test is about retry honouring HubSpot's answer.
    let client = builder(&sandbox)
        .cache(None)
        .rate_limit(None)
        .total_timeout(Duration::from_secs(60))
        .build()
        .expect("builds");
    let id = contact_id(&sandbox, 0);
    for _ in 0..3 {
        client
            .contacts()
            .get(&id, &GetOptions::new())
            .await
            .expect("every call succeeds in the end");
    }
    assert_eq!(
        statuses(&sandbox),
        [Some(200), Some(200), Some(429), Some(200)]
    );
    let entries = sandbox.log().entries();
    // The retry came once HubSpot's 10 s window had room again (the sandbox's `Retry-After`
    // is the time until the oldest request leaves the window), not a moment before.
    assert!(
        entries[3].at >= entries[0].at + Duration::from_secs(10),
        "{entries:?}"
    );
    assert!(entries[3].at - entries[2].at >= Duration::from_secs(9));
}

#[tokio::test(start_paused = true)]
async fn burst_of_503s_is_retried_with_backoff_then_succeeds() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let id = contact_id(&sandbox, 1);
    sandbox
        .control()
        .fail_next(Route::path(CONTACTS), 2, Fault::status(503));
    let contact = client
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect("third attempt succeeds");
    assert_eq!(contact.id, id);
    assert_eq!(statuses(&sandbox), [Some(503), Some(503), Some(200)]);
    // Test environment: 10 ms × 2ⁿ, no jitter.
    let gaps = sandbox.log().gaps(|_| true);
    assert!(gaps[0] >= Duration::from_millis(10), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(20), "{gaps:?}");
}

#[tokio::test]
async fn dropped_connection_after_a_create_does_not_duplicate_the_contact() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox.control().fail_next(
        Route::path(CONTACTS).with_method("POST"),
        1,
        Fault::DropAfterProcessing,
    );
    let before = sandbox.control().contact_ids().len();
    let err = client
        .contacts()
        .create(&ObjectInput::new().property("email", "once@example.com"))
        .await
        .expect_err("the answer was lost");
    assert!(
        matches!(err, HubSpotError::OutcomeUnknown { .. }),
        "{err:?}"
    );
    assert!(err.is_outcome_unknown() && !err.is_retryable(), "{err:?}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the transport error is kept"
    );
    assert!(err.to_string().contains("contacts.create"), "{err}");
    let posts = sandbox.log().filter(|e| e.method == "POST");
    assert_eq!(
        posts.len(),
        1,
        "a create that may have happened is not repeated"
    );
    assert!(posts[0].processed);
    assert!(
        sandbox
            .control()
            .contact_by_email("once@example.com")
            .is_some()
    );
    assert_eq!(
        sandbox.control().contact_ids().len(),
        before + 1,
        "exactly one contact was created"
    );

    // A read is idempotent: the same fault is retried and succeeds.
    sandbox.log().clear();
    sandbox
        .control()
        .fail_next(Route::path(CONTACTS), 1, Fault::DropAfterProcessing);
    client
        .contacts()
        .get_by_email("once@example.com", &GetOptions::new())
        .await
        .expect("retried");
    assert_eq!(sandbox.log().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_500_on_a_create_is_an_unknown_outcome_and_never_resent() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let post = Route::path(CONTACTS).with_method("POST");
    sandbox
        .control()
        .fail_next(post.clone(), 1, Fault::status(500));
    let err = client
        .contacts()
        .create(&ObjectInput::new().property("email", "maybe@example.com"))
        .await
        .expect_err("a 500");
    assert!(err.is_outcome_unknown() && !err.is_retryable(), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(sandbox.log().len(), 1, "no second request");

    // A 503 is a refusal before processing: the create was not applied, so it is an ordinary
    // API error that may be retried later.
    sandbox.log().clear();
    sandbox.control().fail_next(post, 1, Fault::status(503));
    let err = client
        .contacts()
        .create(&ObjectInput::new().property("email", "refused@example.com"))
        .await
        .expect_err("a 503");
    assert!(!err.is_outcome_unknown() && err.is_retryable(), "{err:?}");
    assert!(matches!(err, HubSpotError::Api(_)), "{err:?}");
    assert_eq!(sandbox.log().len(), 1);

    // A read is never an unknown outcome: a 500 is retried, then reported as it is.
    sandbox.log().clear();
    sandbox
        .control()
        .fail_always(Route::path(CONTACTS).with_method("GET"), Fault::status(500));
    let err = client
        .contacts()
        .list_page(&ListOptions::new())
        .await
        .expect_err("always 500");
    assert!(!err.is_outcome_unknown() && err.is_retryable(), "{err:?}");
    assert_eq!(sandbox.log().len(), 4, "first attempt + 3 retries");
}

#[tokio::test(start_paused = true)]
async fn an_attempt_timeout_on_a_write_is_an_unknown_outcome() {
    let sandbox = sandbox().await;
    let client = builder(&sandbox)
        .cache(None)
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    sandbox.control().fail_next(
        Route::path(CONTACTS).with_method("PATCH"),
        1,
        Fault::latency(Duration::from_secs(2)),
    );
    let id = contact_id(&sandbox, 0);
    let err = client
        .contacts()
        .update(&id, &ObjectInput::new().property("city", "Oslo"))
        .await
        .expect_err("timed out");
    assert!(err.is_outcome_unknown() && err.is_timeout(), "{err:?}");
    assert!(!err.is_retryable());
    // Not resent: once the slow answer is due, the sandbox has seen at most the one PATCH (the
    // abandoned one may not be logged at all).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(sandbox.log().filter(|e| e.method == "PATCH").len() <= 1);
}

#[tokio::test]
async fn a_batch_write_whose_answer_was_lost_is_unknown_for_every_item() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox.control().fail_next(
        Route::path(format!("{CONTACTS}/batch/create")),
        1,
        Fault::DropAfterProcessing,
    );
    let inputs = (0..3)
        .map(|i| ObjectInput::new().property("email", format!("batch{i}@example.com")))
        .collect();
    let response = client
        .contacts()
        .batch_create(inputs)
        .await
        .expect("per-item results");
    assert_eq!(response.items.len(), 3);
    for item in &response.items {
        let err = item.as_ref().expect_err("the answer was lost");
        assert!(err.is_outcome_unknown(), "{err:?}");
        assert!(!err.request_error().expect("whole request").is_retryable());
    }
    assert_eq!(sandbox.log().len(), 1, "the batch was not resent");
    for i in 0..3 {
        let email = format!("batch{i}@example.com");
        assert!(
            sandbox.control().contact_by_email(&email).is_some(),
            "{email}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn html_502_is_a_typed_error_after_the_retries() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox
        .control()
        .fail_always(Route::hubspot(), Fault::html(502));
    let err = client
        .contacts()
        .list_page(&ListOptions::new())
        .await
        .expect_err("always 502");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(err.message(), Some("502 Bad Gateway"));
    assert!(err.is_retryable() && !err.is_not_found());
    assert!(matches!(err, HubSpotError::Api(_)));
    assert_eq!(sandbox.log().len(), 4, "first attempt + 3 retries");
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_path() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox
        .control()
        .fail_next(Route::path(CONTACTS), 1, Fault::MalformedJson);
    let err = client
        .contacts()
        .get(&contact_id(&sandbox, 2), &GetOptions::new())
        .await
        .expect_err("malformed body");
    let path = err.decode_path().expect("a decode error").to_owned();
    assert!(err.to_string().contains(&format!("at `{path}`")), "{err}");
    assert!(!err.is_retryable());

    // With a body of the wrong shape the path names the exact field.
    let service = tower::service_fn(|_req: http::Request<integrations_http::Body>| async {
        let body =
            r#"{"results":[{"id":"1","properties":{}},{"id":"2","properties":{"email":5}}]}"#;
        Ok::<_, std::convert::Infallible>(http::Response::new(Bytes::from(body)))
    });
    let err = HubSpotClient::with_service(service)
        .contacts()
        .list_page(&ListOptions::new())
        .await
        .expect_err("email is a number");
    assert_eq!(err.decode_path(), Some("results[1].properties.email"));
}

#[tokio::test]
async fn daily_limit_is_reported_as_such_and_never_retried() {
    let mut config = SandboxConfig::small();
    config.hubspot.daily = Some(2);
    let sandbox = sandbox_with(config).await;
    let id = contact_id(&sandbox, 0);

    // Without the limiter, the call reaches HubSpot: one 429, reported as the daily limit,
    // not retried.
    let unlimited = builder(&sandbox)
        .cache(None)
        .rate_limit(None)
        .build()
        .expect("builds");
    for _ in 0..2 {
        unlimited
            .contacts()
            .get(&id, &GetOptions::new())
            .await
            .expect("within the limit");
    }
    let err = unlimited
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect_err("daily limit");
    assert!(err.is_daily_limit() && err.is_rate_limited() && !err.is_retryable());
    assert_eq!(err.policy_name(), Some("DAILY"));
    assert_eq!(statuses(&sandbox), [Some(200), Some(200), Some(429)]);

    // With the default stack, the limiter has seen `X-HubSpot-RateLimit-Daily-Remaining: 0`
    // and refuses locally: HubSpot is not asked again.
    sandbox.log().clear();
    let client = client(&sandbox);
    let err = client
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect_err("still over the limit");
    assert!(err.is_daily_limit(), "{err:?}");
    let err = client
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect_err("refused locally");
    assert!(
        err.is_rejected() && err.is_rate_limited() && !err.is_retryable(),
        "{err:?}"
    );
    assert_eq!(
        statuses(&sandbox),
        [Some(429)],
        "the second call never left"
    );
}

#[tokio::test(start_paused = true)]
async fn close_waits_for_in_flight_calls_then_refuses_new_ones() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let id = contact_id(&sandbox, 0);
    sandbox.control().fail_next(
        Route::path(CONTACTS),
        1,
        Fault::latency(Duration::from_millis(300)),
    );
    let clone = client.clone();
    let slow_id = id.clone();
    let in_flight =
        tokio::spawn(async move { clone.contacts().get(&slow_id, &GetOptions::new()).await });
    while client.in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    client.close().await;
    assert!(
        in_flight.is_finished(),
        "close waited for the call in flight"
    );
    assert_eq!(in_flight.await.expect("joined").expect("completed").id, id);
    assert!(client.is_closed());
    let err = client
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect_err("closed");
    assert!(matches!(err, HubSpotError::Closed));
    assert_eq!(sandbox.log().len(), 1);
}

#[tokio::test]
async fn cache_answers_repeated_reads_and_writes_invalidate_them() {
    let sandbox = sandbox().await;
    let client = builder(&sandbox).build().expect("cache on by default");
    let contacts = client.contacts();
    let id = contact_id(&sandbox, 4);
    let other = contact_id(&sandbox, 5);
    let gets = || sandbox.log().count(|e| e.method == "GET");
    let reads = || {
        sandbox
            .log()
            .for_path("/crm/v3/objects/contacts/batch/read")
            .len()
    };

    contacts.get(&id, &GetOptions::new()).await.expect("miss");
    contacts.get(&id, &GetOptions::new()).await.expect("hit");
    assert_eq!(gets(), 1);
    contacts
        .batch_read([&id, &other], &Default::default())
        .await
        .expect("miss");
    contacts
        .batch_read([&id, &other], &Default::default())
        .await
        .expect("hit");
    assert_eq!(reads(), 1);

    let email = support::contact_email(&sandbox, &id);
    contacts
        .get_by_email(&email, &GetOptions::new())
        .await
        .expect("miss");
    assert_eq!(gets(), 2);

    contacts
        .update(&id, &ObjectInput::new().property("city", "Bergen"))
        .await
        .expect("update");
    let by_email = contacts
        .get_by_email(&email, &GetOptions::new().properties(["city"]))
        .await
        .expect("get by email");
    assert_eq!(by_email.property("city"), Some("Bergen"));
    contacts
        .get_by_email(&email, &GetOptions::new())
        .await
        .expect("miss after update by id");
    assert_eq!(
        gets(),
        4,
        "the update by id dropped the cached get by email"
    );
    let fresh = contacts
        .get(&id, &GetOptions::new().properties(["city"]))
        .await
        .expect("get");
    assert_eq!(fresh.property("city"), Some("Bergen"));
    contacts
        .get(&id, &GetOptions::new())
        .await
        .expect("miss after update");
    assert_eq!(gets(), 6, "the update dropped the cached get");
    contacts
        .batch_read([&id, &other], &Default::default())
        .await
        .expect("miss");
    assert_eq!(reads(), 2, "the update dropped the cached batch read");
}

#[tokio::test(start_paused = true)]
async fn a_thousand_reads_fit_the_learned_budget_without_a_single_429() {
    // The sandbox allows 100 requests per rolling 10 s (HubSpot's Free/Starter private app);
    // the client is told ten times that, so only what it learns from the headers keeps it
    // under the limit. Retry is off, so a 429 would surface as an error.
    let sandbox = sandbox().await;
    let client = builder(&sandbox)
        .cache(None)
        .retry(None)
        .total_timeout(Duration::from_secs(60))
        .rate_limit(
            RateLimitSettings::new(1_000, Duration::from_secs(10))
                .max_wait(Duration::from_secs(30)),
        )
        .build()
        .expect("builds");
    let ids: Vec<String> = sandbox
        .control()
        .contact_ids()
        .iter()
        .map(u64::to_string)
        .collect();
    let start = tokio::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let client = client.clone();
        let ids = ids.clone();
        workers.spawn(async move {
            for n in 0..250 {
                let id = &ids[(worker * 250 + n) % ids.len()];
                client
                    .contacts()
                    .get(id, &GetOptions::new())
                    .await
                    .expect("every read succeeds");
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("worker");
    }
    let log = sandbox.log();
    assert_eq!(log.len(), 1_000);
    assert_eq!(log.count(|e| e.status == Some(429)), 0, "no 429 at all");
    // 1,000 requests at 100 per 10 s cannot take less than 90 s (the first 100 at once).
    assert!(
        start.elapsed() >= Duration::from_secs(90),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn without_learning_the_same_reads_hit_429s() {
    // The control of the test above: the same client told ten times the sandbox's limit, with
    // learning from the headers switched off, is throttled by the sandbox.
    let sandbox = sandbox().await;
    let client = builder(&sandbox)
        .cache(None)
        .retry(None)
        .total_timeout(Duration::from_secs(60))
        .rate_limit(
            RateLimitSettings::new(1_000, Duration::from_secs(10))
                .max_wait(Duration::from_secs(30))
                .learn_from_headers(false),
        )
        .build()
        .expect("builds");
    let id = contact_id(&sandbox, 0);
    let mut throttled = 0;
    for _ in 0..300 {
        if let Err(error) = client.contacts().get(&id, &GetOptions::new()).await {
            assert!(error.is_rate_limited(), "{error:?}");
            throttled += 1;
        }
    }
    assert!(
        throttled > 0,
        "the limit told to the client held nothing back"
    );
    assert_eq!(sandbox.log().count(|e| e.status == Some(429)), throttled);
}

#[tokio::test(start_paused = true)]
async fn searches_keep_to_their_own_five_per_second() {
    // The sandbox enforces 5 searches per second and, like HubSpot, sends no rate-limit
    // headers with them: only the search bucket keeps the client under it.
    let sandbox = sandbox().await;
    let client = builder(&sandbox)
        .cache(None)
        .retry(None)
        .build()
        .expect("builds");
    let start = tokio::time::Instant::now();
    for _ in 0..12 {
        client
            .contacts()
            .search_page(&client_hubspot::SearchRequest::new().limit(1))
            .await
            .expect("no search is throttled");
    }
    assert_eq!(sandbox.log().count(|e| e.status == Some(429)), 0);
    // 12 searches at 5 per rolling second: at least two seconds.
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // Reads do not wait behind searches: their bucket is untouched.
    let before = tokio::time::Instant::now();
    client
        .contacts()
        .get(&contact_id(&sandbox, 0), &GetOptions::new())
        .await
        .expect("read");
    assert!(before.elapsed() < Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn sustained_outage_opens_the_breaker_then_it_recovers() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let breaker = client.breaker().expect("breaker on by default").clone();
    let id = contact_id(&sandbox, 0);
    sandbox
        .control()
        .outage(Route::hubspot(), Duration::from_secs(2));

    // Test environment: open after 10 failures in a row; each call makes 4 attempts.
    let mut calls = 0;
    let open = loop {
        calls += 1;
        let err = client
            .contacts()
            .get(&id, &GetOptions::new())
            .await
            .expect_err("outage");
        if err.is_rejected() {
            break err;
        }
        assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
        assert!(calls < 10, "the breaker never opened");
    };
    assert_eq!(breaker.state(), resilience_breaker::State::Open);
    assert!(
        open.retry_after().is_some(),
        "an open breaker says when to come back"
    );
    assert!(!open.is_retryable());
    let reached = sandbox.log().len();
    assert!(reached >= 10, "{reached}");

    // While open, calls fail fast and never reach the sandbox.
    for _ in 0..20 {
        let err = client
            .contacts()
            .get(&id, &GetOptions::new())
            .await
            .expect_err("open");
        assert!(err.is_rejected(), "{err:?}");
    }
    assert_eq!(
        sandbox.log().len(),
        reached,
        "fast failures reached nothing"
    );

    // After the outage and the open period, probes go through and the breaker closes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for _ in 0..5 {
        client
            .contacts()
            .get(&id, &GetOptions::new())
            .await
            .expect("recovered");
    }
    assert_eq!(breaker.state(), resilience_breaker::State::Closed);
}

#[tokio::test(start_paused = true)]
async fn metrics_count_logical_calls_and_the_layers_their_decisions() {
    let recorder = obs_metrics::testing::TestRecorder::new();
    let _guard = recorder.enter();
    let sandbox = sandbox().await;
    let client = builder(&sandbox).build().expect("default stack");
    let id = contact_id(&sandbox, 0);
    let contacts = client.contacts();
    contacts.get(&id, &GetOptions::new()).await.expect("miss");
    contacts
        .get(&id, &GetOptions::new())
        .await
        .expect("cache hit");
    contacts
        .get("999999999", &GetOptions::new())
        .await
        .expect_err("404");
    sandbox
        .control()
        .fail_next(Route::path(CONTACTS), 1, Fault::status(503));
    contacts
        .list_page(&ListOptions::new())
        .await
        .expect("retried");

    let requests = |operation: &str, status: &str| {
        recorder.counter(
            "hubspot_api_requests_total",
            &[("operation", operation), ("status", status)],
        )
    };
    assert_eq!(
        requests("contacts.get", "2xx"),
        Some(2),
        "a cache hit is a call too"
    );
    assert_eq!(requests("contacts.get", "4xx"), Some(1));
    assert_eq!(
        requests("contacts.list", "2xx"),
        Some(1),
        "one call, two attempts"
    );
    assert_eq!(
        recorder.counter(
            "resilience_retry_attempts_total",
            &[("service", "hubspot"), ("reason", "failure")]
        ),
        Some(1)
    );
    assert_eq!(
        recorder.counter(
            "resilience_cache_requests_total",
            &[("cache", "hubspot"), ("result", "hit")]
        ),
        Some(1)
    );
    assert_eq!(sandbox.log().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn clients_on_one_rate_limit_store_share_one_budget() {
    use client_hubspot::FleetStore;
    let sandbox = sandbox().await;
    let id = contact_id(&sandbox, 0);
    // One permit per 10 s (burst 1), and no waiting: a second call in the window is refused.
    let settings = RateLimitSettings::new(1, Duration::from_secs(10)).max_wait(Duration::ZERO);
    let shared = FleetStore::from_url(None, |b| b).expect("in-memory store");
    let on_store = |store: Option<FleetStore>| {
        builder(&sandbox)
            .cache(None)
            .retry(None)
            .rate_limit(settings.clone())
            .rate_limit_store(store)
            .build()
            .expect("client")
    };
    let (a, b) = (on_store(Some(shared.clone())), on_store(Some(shared)));
    a.contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect("first permit");
    let err = b
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect_err("the shared budget is spent");
    assert!(err.is_rate_limited() && err.is_rejected(), "{err:?}");
    assert_eq!(sandbox.log().len(), 1, "the refused call never left");

    // Without a store given, each client has its own budget.
    let (c, d) = (on_store(None), on_store(None));
    c.contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect("own budget");
    d.contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect("own budget");
    assert_eq!(sandbox.log().len(), 3);
}
