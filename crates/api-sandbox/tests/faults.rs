//! Every fault kind, scripted from the control handle, observed by a real HTTP client.

mod common;

use std::time::Duration;

use api_sandbox::{Api, Chaos, Fault, FaultBody, Route, Sandbox, SandboxConfig};
use common::Http;
use http::Method;
use serde_json::{Value, json};

async fn start() -> (Sandbox, Http, Http) {
    let mut c = SandboxConfig::small();
    c.hubspot.burst = None;
    c.manychat.rate_limits = false;
    let sb = Sandbox::start(c).await.expect("sandbox starts");
    let hs = Http::new(sb.hubspot_url(), Some(&sb.hubspot_token()));
    let mc = Http::new(sb.manychat_url(), Some(&sb.manychat_token()));
    (sb, hs, mc)
}

fn send_body(subscriber: u64) -> Value {
    json!({"subscriber_id": subscriber, "data": {"version": "v2", "content": {"messages": [{"type": "text", "text": "hello"}]}}})
}

#[tokio::test]
async fn a_burst_of_503s_then_normal_service() {
    let (sb, hs, _) = start().await;
    sb.control().fail_next(
        Route::path("/crm/v3/objects/contacts"),
        3,
        Fault::status(503),
    );
    for _ in 0..3 {
        let r = hs.get("/crm/v3/objects/contacts").await;
        assert_eq!(r.status, 503);
        let b = r.json();
        assert_eq!(b["status"], "error");
        assert!(b["correlationId"].is_string());
    }
    assert_eq!(hs.get("/crm/v3/objects/contacts").await.status, 200);
    assert_eq!(sb.control().active_faults(), 0);
    let log = sb.log().entries();
    assert_eq!(
        log.iter()
            .filter(|e| e.fault.as_deref() == Some("status"))
            .count(),
        3
    );
    assert!(
        log.iter()
            .take(3)
            .all(|e| !e.processed && e.status == Some(503))
    );
    assert!(log[3].fault.is_none() && log[3].processed);
}

#[tokio::test]
async fn faults_apply_per_route_and_method() {
    let (sb, hs, mc) = start().await;
    sb.control().fail_always(
        Route::path("/crm/v3/objects/contacts/search").with_method("POST"),
        Fault::status(500),
    );
    sb.control()
        .fail_always(Route::manychat(), Fault::status(502));
    assert_eq!(
        hs.post("/crm/v3/objects/contacts/search", &json!({}))
            .await
            .status,
        500
    );
    assert_eq!(hs.get("/crm/v3/objects/contacts").await.status, 200);
    let r = mc.get("/fb/page/getInfo").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["status"], "error", "ManyChat's own error shape");
    sb.control().clear_faults();
    assert_eq!(mc.get("/fb/page/getInfo").await.status, 200);
}

#[tokio::test]
async fn html_502_and_retry_after_and_custom_bodies() {
    let (sb, hs, _) = start().await;
    let c = sb.control();
    c.fail_next(Route::hubspot(), 1, Fault::html(502));
    c.fail_next(Route::hubspot(), 1, Fault::status(429).retry_after_secs(7));
    c.fail_next(
        Route::hubspot(),
        1,
        Fault::Status {
            status: 503,
            body: FaultBody::Text("busy".into()),
            retry_after: Some("Wed, 21 Oct 2026 07:28:00 GMT".into()),
        },
    );
    c.fail_next(
        Route::hubspot(),
        1,
        Fault::json(200, json!({"status": "error", "message": "soft failure"})),
    );
    c.fail_next(
        Route::hubspot(),
        1,
        Fault::Status {
            status: 504,
            body: FaultBody::Empty,
            retry_after: None,
        },
    );

    let r = hs.get("/account-info/v3/details").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/html"));
    let html = String::from_utf8_lossy(&r.body);
    assert!(html.starts_with("<html>") && html.contains("<title>502 Bad Gateway</title>"));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    let r = hs.get("/account-info/v3/details").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json()["policyName"], "TEN_SECONDLY_ROLLING");

    let r = hs.get("/account-info/v3/details").await;
    assert_eq!(
        (r.status, r.header("retry-after")),
        (503, Some("Wed, 21 Oct 2026 07:28:00 GMT"))
    );
    assert_eq!(&r.body[..], b"busy");

    let r = hs.get("/account-info/v3/details").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (200, json!("soft failure"))
    );
    let r = hs.get("/account-info/v3/details").await;
    assert_eq!(r.status, 504);
    assert!(r.body.is_empty());
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_response_on_the_tokio_clock() {
    let (sb, hs, _) = start().await;
    sb.control()
        .fail_next(Route::hubspot(), 1, Fault::latency(Duration::from_secs(30)));
    let t0 = tokio::time::Instant::now();
    let r = hs.get("/account-info/v3/details").await;
    assert_eq!(r.status, 200, "a slow answer is still an answer");
    assert!(t0.elapsed() >= Duration::from_secs(30));
    let e = &sb.log().entries()[0];
    assert_eq!(e.fault.as_deref(), Some("latency"));
    assert!(e.completed - e.at >= Duration::from_secs(30));
}

#[tokio::test]
async fn drop_before_response_has_no_effect() {
    let (sb, _, mc) = start().await;
    let sub = sb.control().subscriber_ids()[0];
    sb.control().fail_next(
        Route::path("/fb/sending/sendContent"),
        1,
        Fault::DropBeforeResponse,
    );
    let err = mc
        .try_send(
            Method::POST,
            "/fb/sending/sendContent",
            Some(&send_body(sub)),
        )
        .await;
    assert!(err.is_err(), "the client sees a dropped connection");
    assert_eq!(sb.log().len(), 1, "the client did not resend on its own");
    assert!(
        sb.control().deliveries().is_empty(),
        "nothing was delivered"
    );
    let e = &sb.log().entries()[0];
    assert_eq!((e.status, e.processed), (None, false));
    // the next attempt goes through
    assert_eq!(
        mc.post("/fb/sending/sendContent", &send_body(sub))
            .await
            .status,
        200
    );
    assert_eq!(sb.control().deliveries_to(sub).len(), 1);
}

#[tokio::test]
async fn drop_after_processing_delivers_but_the_client_sees_a_reset() {
    let (sb, _, mc) = start().await;
    let sub = sb.control().subscriber_ids()[1];
    sb.control().fail_next(
        Route::path("/fb/sending/sendContent"),
        1,
        Fault::DropAfterProcessing,
    );
    let res = mc
        .try_send(
            Method::POST,
            "/fb/sending/sendContent",
            Some(&send_body(sub)),
        )
        .await;
    assert!(res.is_err());
    let d = sb.control().deliveries_to(sub);
    assert_eq!(d.len(), 1, "the send took effect");
    assert_eq!(sb.log().len(), 1);
    let e = &sb.log().entries()[0];
    assert_eq!(
        (e.status, e.processed, e.fault.as_deref()),
        (None, true, Some("drop_after_processing"))
    );
    // a blind retry delivers a second copy, which the deliveries make visible
    assert_eq!(
        mc.post("/fb/sending/sendContent", &send_body(sub))
            .await
            .status,
        200
    );
    assert_eq!(sb.control().deliveries_to(sub).len(), 2);
}

#[tokio::test]
async fn malformed_json_and_truncated_bodies() {
    let (sb, hs, _) = start().await;
    sb.control()
        .fail_next(Route::hubspot(), 1, Fault::MalformedJson);
    let r = hs.get("/crm/v3/objects/contacts").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    sb.control()
        .fail_next(Route::hubspot(), 1, Fault::TruncatedBody);
    let res = hs
        .try_send(Method::GET, "/crm/v3/objects/contacts", None)
        .await;
    assert!(res.is_err(), "the body ends before Content-Length: {res:?}");
    let e = &sb.log().entries()[1];
    assert_eq!(
        (e.status, e.fault.as_deref()),
        (Some(200), Some("truncated_body"))
    );
    assert_eq!(hs.get("/crm/v3/objects/contacts").await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn an_outage_window_ends_on_time() {
    let (sb, hs, mc) = start().await;
    sb.control()
        .outage(Route::hubspot(), Duration::from_secs(60));
    assert_eq!(hs.get("/account-info/v3/details").await.status, 503);
    assert_eq!(
        mc.get("/fb/page/getInfo").await.status,
        200,
        "ManyChat is not affected"
    );
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(hs.get("/account-info/v3/details").await.status, 503);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(hs.get("/account-info/v3/details").await.status, 200);
    assert_eq!(sb.control().active_faults(), 0);
    let hubspot = sb.log().filter(|e| e.api == Api::HubSpot);
    assert_eq!(hubspot.len(), 3);
    assert_eq!(
        sb.log().gaps(|e| e.api == Api::HubSpot),
        [Duration::from_secs(59), Duration::from_secs(1)]
    );
}

async fn chaos_run(seed: u64) -> Vec<u16> {
    let (sb, hs, _) = start().await;
    sb.control().set_chaos(Some(Chaos {
        seed,
        probability: 0.4,
        faults: vec![Fault::status(500), Fault::status(503), Fault::status(429)],
        route: Route::hubspot(),
    }));
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(hs.get("/account-info/v3/details").await.status);
    }
    out
}

#[tokio::test]
async fn seeded_chaos_is_reproducible() {
    let a = chaos_run(7).await;
    let b = chaos_run(7).await;
    let c = chaos_run(8).await;
    assert_eq!(a, b, "same seed, same faults, request by request");
    assert_ne!(a, c);
    let faulted = a.iter().filter(|s| **s != 200).count();
    assert!(faulted > 0 && faulted < 40, "{a:?}");
}

#[tokio::test]
async fn the_log_records_tokens_and_redacts_secrets() {
    let (sb, hs, mc) = start().await;
    hs.get("/crm/v3/objects/contacts?limit=1").await;
    mc.get("/fb/page/getInfo").await;
    hs.with_token(None).get("/account-info/v3/details").await;
    let log = sb.log();
    assert_eq!(log.len(), 3);
    let e = log.entries();
    assert_eq!(e[0].token.as_deref(), Some("default"));
    assert_eq!(e[0].query.as_deref(), Some("limit=1"));
    assert_eq!(e[1].token.as_deref(), Some("page:1234567"));
    assert_eq!(e[2].token, None);
    assert_eq!(e[2].status, Some(401));
    let auth: Vec<&str> = e[0]
        .headers
        .iter()
        .filter(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(auth, ["[redacted]"]);
    let dump = format!("{:?}", log.entries());
    assert!(!dump.contains(&sb.hubspot_token()) && !dump.contains(&sb.manychat_token()));
    assert_eq!(log.count(|e| e.api == Api::ManyChat), 1);
    assert_eq!(log.for_path("/crm/").len(), 1);
    log.clear();
    assert!(log.is_empty());
}

#[tokio::test]
async fn wait_for_resolves_when_requests_arrive() {
    let (sb, hs, _) = start().await;
    let log = sb.log().clone();
    let waiter = tokio::spawn(async move { log.wait_for(2).await });
    hs.get("/account-info/v3/details").await;
    assert!(!waiter.is_finished());
    hs.get("/account-info/v3/details").await;
    waiter.await.expect("waiter finishes");
    assert_eq!(sb.log().len(), 2);
}
