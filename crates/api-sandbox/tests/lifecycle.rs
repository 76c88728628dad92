//! Start, shutdown, determinism, the admin endpoints and the webhook sender.

mod common;

use std::convert::Infallible;
use std::sync::Arc;

use api_sandbox::webhook::{self, SignatureVersion, WebhookEvent, WebhookOptions};
use api_sandbox::{Sandbox, SandboxConfig, StartError};
use bytes::Bytes;
use common::Http;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use serde_json::json;

#[tokio::test]
async fn dropping_the_sandbox_closes_the_port() {
    let sb = Sandbox::start(SandboxConfig::small())
        .await
        .expect("starts");
    let addr = sb.addr();
    let http = Http::new(sb.hubspot_url(), Some(&sb.hubspot_token()));
    assert_eq!(http.get("/account-info/v3/details").await.status, 200);
    let dbg = format!("{sb:?}");
    assert!(
        dbg.len() < 1_000,
        "Debug shows the shape, not 10,000 records"
    );
    assert!(!dbg.contains(&sb.hubspot_token()) && !dbg.contains(&sb.manychat_token()));
    let closed = sb.closed();
    drop(sb);
    closed.wait().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port no longer accepts"
    );
}

#[tokio::test]
async fn shutdown_waits_for_the_listener() {
    let sb = Sandbox::start(SandboxConfig::small())
        .await
        .expect("starts");
    let addr = sb.addr();
    sb.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn bad_config_and_busy_ports_are_typed_errors() {
    let err = Sandbox::start(SandboxConfig::small().with_time_scale(0.0))
        .await
        .expect_err("invalid");
    assert!(matches!(err, StartError::Config(_)), "{err}");
    let mut c = SandboxConfig::small();
    c.subscriber_share = 1.5;
    assert!(matches!(
        Sandbox::start(c).await,
        Err(StartError::Config(_))
    ));
    let first = Sandbox::start(SandboxConfig::small())
        .await
        .expect("starts");
    let mut c = SandboxConfig::small();
    c.bind = first.addr();
    assert!(matches!(
        Sandbox::start(c).await,
        Err(StartError::Bind { .. })
    ));
}

async fn first_page(c: SandboxConfig) -> (serde_json::Value, serde_json::Value) {
    let sb = Sandbox::start(c).await.expect("starts");
    let hs = Http::new(sb.hubspot_url(), Some(&sb.hubspot_token()));
    let mc = Http::new(sb.manychat_url(), Some(&sb.manychat_token()));
    let contacts = hs
        .get("/crm/v3/objects/contacts?limit=100&properties=email,phone,lifecyclestage,createdate")
        .await
        .json();
    let sub = sb.control().subscriber_ids()[10];
    let s = mc
        .get(&format!("/fb/subscriber/getInfo?subscriber_id={sub}"))
        .await
        .json();
    (contacts, s)
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let a = first_page(SandboxConfig::default().with_seed(1)).await;
    let b = first_page(SandboxConfig::default().with_seed(1)).await;
    let c = first_page(SandboxConfig::default().with_seed(2)).await;
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}

#[tokio::test]
async fn admin_endpoints_script_faults_over_http() {
    let sb = Sandbox::start(SandboxConfig::small())
        .await
        .expect("starts");
    let admin = Http::new(sb.admin_url(), None);
    let hs = Http::new(sb.hubspot_url(), Some(&sb.hubspot_token()));
    let r = admin
        .post("/faults", &json!({"route": {"api": "hubspot"}, "fault": {"kind": "status", "status": 502, "body": {"type": "html"}}, "count": 2}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(hs.get("/account-info/v3/details").await.status, 502);
    assert_eq!(hs.get("/account-info/v3/details").await.status, 502);
    assert_eq!(hs.get("/account-info/v3/details").await.status, 200);
    let log = admin.get("/log").await.json();
    assert_eq!(
        log.as_array().map(Vec::len),
        Some(3),
        "admin calls are not logged"
    );
    assert_eq!(log[0]["fault"], "status");
    assert_eq!(
        admin
            .post("/faults", &json!({"fault": {"kind": "nope"}}))
            .await
            .status,
        400
    );
    assert_eq!(
        admin.send(http::Method::DELETE, "/log", None).await.status,
        204
    );
    assert!(sb.log().is_empty());
    assert_eq!(admin.post("/chaos", &json!({"seed": 1, "probability": 1.0, "faults": [{"kind": "status", "status": 500}]})).await.status, 204);
    assert_eq!(hs.get("/account-info/v3/details").await.status, 500);
    assert_eq!(
        admin
            .send(http::Method::DELETE, "/faults", None)
            .await
            .status,
        204
    );
    assert_eq!(hs.get("/account-info/v3/details").await.status, 200);
    assert_eq!(admin.get("/deliveries").await.json(), json!([]));
    assert_eq!(
        admin.post("/ratelimits/reset", &json!({})).await.status,
        204
    );
}

type Captured = Arc<Mutex<Vec<(http::HeaderMap, Bytes)>>>;

/// A real receiver on 127.0.0.1:0 that records what it gets.
async fn receiver() -> (String, Captured) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/webhook", listener.local_addr().expect("addr"));
    let seen: Captured = Arc::default();
    let store = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let store = store.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let bytes = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            store.lock().push((parts.headers, bytes));
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                                b"ok",
                            ))))
                        }
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn webhook_batches_arrive_signed_and_breakable() {
    let (url, seen) = receiver().await;
    let events = vec![
        WebhookEvent::contact_creation(1, 101, 1_767_225_600_000),
        WebhookEvent::contact_property_change(
            2,
            101,
            1_767_225_600_500,
            "lifecyclestage",
            "customer",
        ),
    ];
    let secret = "client-secret";
    for v in [
        SignatureVersion::V1,
        SignatureVersion::V2,
        SignatureVersion::V3,
    ] {
        let r = webhook::deliver(secret, &url, &events, &WebhookOptions::version(v))
            .await
            .expect("delivered");
        assert_eq!(r.status(), 200);
    }
    let bad = WebhookOptions {
        alter_body: true,
        ..WebhookOptions::default()
    };
    webhook::deliver(secret, &url, &events, &bad)
        .await
        .expect("delivered");

    let got = seen.lock().clone();
    assert_eq!(got.len(), 4);
    let arr: serde_json::Value = serde_json::from_slice(&got[0].1).expect("json array");
    assert_eq!(arr[1]["subscriptionType"], "contact.propertyChange");
    assert_eq!(arr[1]["propertyName"], "lifecyclestage");
    let h = |i: usize, k: &str| {
        got[i]
            .0
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let ts = |i: usize| {
        h(i, "x-hubspot-request-timestamp")
            .parse::<i64>()
            .expect("ts")
    };
    assert_eq!(h(0, "x-hubspot-signature-version"), "v1");
    assert_eq!(
        h(0, "x-hubspot-signature"),
        webhook::signature(SignatureVersion::V1, secret, "POST", &url, &got[0].1, 0)
    );
    assert_eq!(
        h(1, "x-hubspot-signature"),
        webhook::signature(SignatureVersion::V2, secret, "POST", &url, &got[1].1, 0)
    );
    assert_eq!(
        h(2, "x-hubspot-signature-v3"),
        webhook::signature(SignatureVersion::V3, secret, "POST", &url, &got[2].1, ts(2))
    );
    assert_ne!(
        h(3, "x-hubspot-signature-v3"),
        webhook::signature(SignatureVersion::V3, secret, "POST", &url, &got[3].1, ts(3)),
        "altered body no longer matches"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_in_each_apis_shape_and_the_connection_survives() {
    let mut c = SandboxConfig::small();
    c.max_body_bytes = 4096;
    let sb = Sandbox::start(c).await.expect("starts");
    let hs = Http::new(sb.hubspot_url(), Some(&sb.hubspot_token()));
    let mc = Http::new(sb.manychat_url(), Some(&sb.manychat_token()));
    // a body well past the limit, sent in full (the sandbox drains it, then answers)
    let big = json!({"properties": {"firstname": "x".repeat(64 * 1024)}});
    let r = hs.post("/crm/v3/objects/contacts", &big).await;
    assert_eq!(r.status, 413);
    let b = r.json();
    assert_eq!(b["status"], "error");
    assert_eq!(b["category"], "VALIDATION_ERROR");
    assert!(b["correlationId"].is_string());
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("maximum is 4096")),
        "{b}"
    );
    let r = mc
        .post(
            "/fb/subscriber/createSubscriber",
            &json!({"first_name": "y".repeat(10_000)}),
        )
        .await;
    assert_eq!(r.status, 413);
    let b = r.json();
    assert_eq!(b["status"], "error");
    assert!(b["details"]["messages"][0]["message"].is_string(), "{b}");
    // nothing was created, the log has the 413s, and the same client keeps working
    assert_eq!(sb.control().contact_ids().len(), 100);
    let statuses: Vec<Option<u16>> = sb.log().entries().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(413), Some(413)]);
    assert!(sb.log().entries().iter().all(|e| !e.processed));
    let small = json!({"properties": {"firstname": "ok", "email": "small@example.test"}});
    assert_eq!(
        hs.post("/crm/v3/objects/contacts", &small).await.status,
        201
    );
}
