//! The client's shape: `with_service`, ids of both JSON types, `close`, the cache, metrics,
//! the token.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use api_sandbox::{Fault, Route};
use bytes::Bytes;
use client_manychat::{ManyChatClient, ManyChatError, SubscriberId, TagId};
use http::{Request, Response};
use integrations_config::{CacheConfig, ManyChatConfig};
use integrations_http::Body;
use obs_metrics::testing::TestRecorder;
use resilience_core::extensions::{Cacheable, Operation};

#[tokio::test]
async fn with_service_runs_the_typed_api_over_any_service() {
    let service = tower::service_fn(|request: Request<Body>| async move {
        let operation = request.extensions().get::<Operation>().cloned();
        let body = match (request.uri().to_string().as_str(), operation) {
            ("/fb/subscriber/getInfo?subscriber_id=42", Some(op))
                if op.as_str() == "subscribers.get" =>
            {
                // Numeric ids where ManyChat usually sends strings, and the other way round.
                r#"{"status":"success","data":{"id":42,"page_id":1234567,"tags":[{"id":"5","name":"vip"}],
                    "custom_fields":[{"id":"7","name":"score","type":"number","value":3}]}}"#
            }
            ("/fb/page/getTags", Some(op)) if op.as_str() == "page.tags" => {
                assert!(request.extensions().get::<Cacheable>().is_some());
                r#"{"status":"success","data":[{"id":"5","name":"vip"},{"id":6,"name":"lead"}]}"#
            }
            other => panic!("unexpected request {other:?}"),
        };
        Ok::<_, Infallible>(Response::new(Bytes::from_static(body.as_bytes())))
    });
    let client = ManyChatClient::with_service(service);

    let subscriber = client.subscribers().get(42u64).await.expect("get");
    assert_eq!(subscriber.id, SubscriberId(42));
    assert_eq!(subscriber.tags[0].id, TagId(5));
    assert_eq!(
        subscriber.custom_field("SCORE"),
        Some(&serde_json::json!(3))
    );
    let tags = client.page().tags().await.expect("tags");
    assert_eq!(
        tags.iter().map(|t| t.id).collect::<Vec<_>>(),
        [TagId(5), TagId(6)]
    );
}

#[tokio::test(start_paused = true)]
async fn build_over_puts_the_default_layers_over_any_service() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let service = tower::service_fn(move |request: Request<Body>| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            assert_eq!(
                request.uri(),
                "/fb/page/getTags",
                "relative, as transport gets it"
            );
            assert!(request.headers().get("authorization").is_none());
            let (status, body): (u16, &'static [u8]) = if attempt < 2 {
                (503, b"{}")
            } else {
                (
                    200,
                    br#"{"status":"success","data":[{"id":1,"name":"vip"}]}"#,
                )
            };
            let response = Response::builder()
                .status(status)
                .body(Bytes::from_static(body))
                .expect("response");
            Ok::<_, resilience_core::BoxError>(response)
        }
    });
    let config = support::builder("http://127.0.0.1:9", support::FIXTURE_TOKEN)
        .stack_config()
        .clone();
    let stack =
        client_manychat::stack::build_over(&config, client_manychat::ManyChatService::new(service))
            .expect("stack");
    let client = ManyChatClient::from_stack(stack);

    let tags = client.page().tags().await.expect("retried past two 503s");
    assert_eq!(tags[0].id, TagId(1));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the retry layer is there");
    assert!(client.breaker().is_some(), "and the breaker");
}

#[tokio::test]
async fn an_undecodable_answer_names_the_json_path() {
    let service = tower::service_fn(|_request: Request<Body>| async move {
        Ok::<_, Infallible>(Response::new(Bytes::from_static(
            br#"{"status":"success","data":[{"id":"five","name":"vip"}]}"#,
        )))
    });
    let client = ManyChatClient::with_service(service);
    let error = client.page().tags().await.expect_err("bad id");
    let ManyChatError::Http { source, .. } = &error else {
        panic!("{error:?}");
    };
    let integrations_http::HttpError::Decode(decode) = source else {
        panic!("{source:?}");
    };
    assert_eq!(decode.path(), "data[0].id");
}

#[tokio::test(start_paused = true)]
async fn close_waits_for_calls_in_flight_then_refuses_new_ones() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    sandbox.control().fail_next(
        Route::path("/fb/page/getInfo"),
        1,
        Fault::latency(Duration::from_secs(2)),
    );
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.page().info().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.in_flight(), 1);

    let started = tokio::time::Instant::now();
    client.close().await;
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "close waited for the call"
    );
    assert!(
        slow.await.expect("task").is_ok(),
        "the call in flight finished normally"
    );

    let clone = client.clone();
    assert!(clone.is_closed());
    assert!(matches!(
        clone.page().tags().await,
        Err(ManyChatError::Closed)
    ));
    assert_eq!(sandbox.log().for_path("/fb/page/getTags").len(), 0);

    // The raw escape hatch is refused too, and sends nothing.
    let raw = Request::get("/fb/page/getTags")
        .body(Body::default())
        .expect("request");
    assert!(matches!(clone.send(raw).await, Err(ManyChatError::Closed)));
    assert_eq!(sandbox.log().for_path("/fb/page/getTags").len(), 0);
}

#[tokio::test(start_paused = true)]
async fn close_waits_for_raw_sends_in_flight() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    sandbox.control().fail_next(
        Route::path("/fb/page/getInfo"),
        1,
        Fault::latency(Duration::from_secs(2)),
    );
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            let request = Request::get("/fb/page/getInfo")
                .body(Body::default())
                .expect("request");
            client.send(request).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.in_flight(), 1, "a raw send counts as in flight");

    let started = tokio::time::Instant::now();
    client.close().await;
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "close waited for the raw send"
    );
    let response = slow.await.expect("task").expect("answered");
    assert_eq!(response.status(), http::StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn page_reads_are_cached_when_the_cache_is_on() {
    let sandbox = support::sandbox(false).await;
    let config = ManyChatConfig::for_environment(
        integrations_config::Environment::Test,
        sandbox.manychat_token(),
    )
    .expect("config");
    let client = ManyChatClient::builder()
        .config(config)
        .base_url(sandbox.manychat_url())
        .cache(CacheConfig {
            enabled: true,
            ttl: Duration::from_secs(60),
            capacity: 100,
        })
        .build()
        .expect("client");
    let tags_requests = || sandbox.log().for_path("/fb/page/getTags").len();

    // A 200 refusal is never cached.
    sandbox.control().fail_next(
        Route::path("/fb/page/getTags"),
        1,
        Fault::json(
            200,
            serde_json::json!({"status": "error", "message": "busy"}),
        ),
    );
    assert!(client.page().tags().await.is_err());
    let first = client.page().tags().await.expect("tags");
    let second = client.page().tags().await.expect("cached tags");
    assert_eq!(first, second);
    assert_eq!(tags_requests(), 2, "the second success came from the cache");

    // A page write drops the cached page reads.
    client.page().create_tag("fresh").await.expect("create");
    let third = client.page().tags().await.expect("tags");
    assert!(third.iter().any(|t| t.name == "fresh"));
    assert_eq!(tags_requests(), 3);

    // Subscriber reads are never cached.
    let id = sandbox.control().subscriber_ids()[0];
    client.subscribers().get(id).await.expect("get");
    client.subscribers().get(id).await.expect("get");
    assert_eq!(sandbox.log().for_path("/fb/subscriber/getInfo").len(), 2);
    assert!(client.cache().is_some_and(|cache| cache.stats().hits >= 1));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn metrics_label_operations_and_200_refusals() {
    let recorder = TestRecorder::new();
    let _guard = recorder.enter();
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let id = sandbox.control().subscriber_ids()[0];

    client.send_text(id, "Hi").await.expect("send");
    sandbox.control().fail_next(
        Route::path("/fb/sending/sendContent"),
        1,
        Fault::json(
            200,
            serde_json::json!({"status": "error", "message": "blocked"}),
        ),
    );
    assert!(client.send_text(id, "Hi").await.is_err());

    let total = "manychat_api_requests_total";
    assert_eq!(
        recorder.counter(
            total,
            &[("operation", "sending.send_content"), ("status", "2xx")]
        ),
        Some(1)
    );
    assert_eq!(
        recorder.counter(
            total,
            &[
                ("operation", "sending.send_content"),
                ("status", "api_error")
            ]
        ),
        Some(1)
    );
    assert!(
        recorder
            .histogram(
                "manychat_api_request_duration_seconds",
                &[("operation", "sending.send_content")]
            )
            .is_some_and(|h| h.len() == 2)
    );
    // No label anywhere holds the token (or its key half) or a subscriber id.
    let token = sandbox.manychat_token();
    let (_, key) = token.split_once(':').expect("page_id:key");
    assert!(key.len() >= 8, "a key long enough to search for: {key:?}");
    let metrics = recorder.metrics();
    assert!(!metrics.is_empty());
    for metric in metrics {
        for (_, value) in &metric.labels {
            assert!(!value.contains(key), "{metric:?}");
            assert!(!value.contains(&id.to_string()), "{metric:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_token_goes_to_the_api_as_a_bearer_and_nowhere_else() {
    let fixture =
        support::fixture(|_| (200, r#"{"status":"success","data":{"id":1}}"#.into())).await;
    let client = support::builder(&fixture.url, support::FIXTURE_TOKEN)
        .build()
        .expect("client");
    client.health_check().await.expect("health");
    let seen = fixture.seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Bearer 7654321:fixturefixturefixture")
    );
    assert_eq!(seen[0].path_and_query, "/fb/page/getInfo");

    let builder = support::builder(&fixture.url, support::FIXTURE_TOKEN);
    assert!(!format!("{builder:?}").contains("fixturefixture"));
    assert!(!format!("{client:?}").contains("fixturefixture"));
}

#[test]
fn bad_tokens_and_urls_are_build_errors() {
    use client_manychat::BuildError;
    assert!(matches!(
        ManyChatClient::builder().build(),
        Err(BuildError::MissingToken)
    ));
    let no_page = ManyChatClient::builder().token("just-a-key").build();
    assert!(matches!(no_page, Err(BuildError::Config(_))), "{no_page:?}");
    let bad_url = ManyChatClient::builder()
        .token("1234567:key")
        .base_url("ftp://example.com")
        .build();
    assert!(
        matches!(bad_url, Err(BuildError::BaseUrl(_))),
        "{bad_url:?}"
    );
    let config = ManyChatConfig::from_parts("1234567", "abc").expect("config");
    assert!(ManyChatClient::new(config).is_ok());
}

#[tokio::test(start_paused = true)]
async fn message_tag_and_otn_topic_are_sent_as_given_and_never_defaulted() {
    let fixture = support::fixture(|_| (200, r#"{"status":"success"}"#.into())).await;
    let client = support::builder(&fixture.url, support::FIXTURE_TOKEN)
        .build()
        .expect("client");

    let plain = client_manychat::Message::text("Hi").expect("valid");
    client.send_content(42u64, &plain).await.expect("sent");
    let tagged = client_manychat::Message::builder_for(client_manychat::Channel::Instagram)
        .text("Hi")
        .message_tag("confirmed_event_update ")
        .otn_topic_name("Channel news")
        .build()
        .expect("valid");
    client.send_content(42u64, &tagged).await.expect("sent");

    let seen = fixture.seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 2);
    let body = seen[0].body.as_object().expect("object");
    assert_eq!(body["subscriber_id"], 42);
    assert!(!body.contains_key("message_tag"), "{body:?}");
    assert!(!body.contains_key("otn_topic_name"), "{body:?}");
    assert!(body["data"]["content"].get("type").is_none(), "Messenger");
    let body = &seen[1].body;
    assert_eq!(
        body["message_tag"], "confirmed_event_update ",
        "unchanged: not upper-cased, not trimmed"
    );
    assert_eq!(body["otn_topic_name"], "Channel news");
    assert_eq!(body["data"]["content"]["type"], "instagram");
}
