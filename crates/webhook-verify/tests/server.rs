//! The layer inside a real hyper server on 127.0.0.1:0, called over TCP by a hyper client that
//! signs like HubSpot and Standard Webhooks senders do.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, ServiceExt, service_fn};
use webhook_verify::hubspot::{self, HubSpotVersion};
use webhook_verify::standard;
use webhook_verify::{
    HubSpotVerifier, ManualClock, MemoryReplayGuard, StandardWebhooksVerifier, Verify,
    VerifyWebhookLayer, WebhookSecret,
};

const SECRET: &str = "server-test-secret";

/// A fixed "now" shared by the signer and the server's clock.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
}

type Received = Arc<Mutex<Vec<Bytes>>>;

/// Serves `layer` around a recording inner service; returns the address and the record.
async fn serve<V: Verify + 'static>(layer: VerifyWebhookLayer<V>) -> (SocketAddr, Received) {
    let received: Received = Arc::default();
    let record = received.clone();
    let app = layer.layer(service_fn(move |request: Request<Full<Bytes>>| {
        let record = record.clone();
        async move {
            let body = request.into_body().collect().await?.to_bytes();
            record.lock().unwrap().push(body);
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                b"{\"ok\":true}",
            ))))
        }
    }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let app = app.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    app.clone().oneshot(request)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, received)
}

/// Sends one request over a fresh connection; returns status and body.
async fn send(
    addr: SocketAddr,
    path: &str,
    headers: HeaderMap,
    body: &'static [u8],
) -> (StatusCode, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::post(path)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    request.headers_mut().extend(headers);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes)
}

#[tokio::test]
async fn hubspot_v3_over_tcp_accept_reject_replay_oversize() {
    let layer = VerifyWebhookLayer::new(HubSpotVerifier::new(SECRET))
        .clock(ManualClock::new(now() + Duration::from_secs(2)))
        .public_base_url("https://hooks.example.com")
        .unwrap()
        .body_limit(4096)
        .replay_guard(MemoryReplayGuard::default());
    let (addr, received) = serve(layer).await;

    let body: &'static [u8] =
        br#"[{"objectId":1,"subscriptionType":"contact.creation","attemptNumber":0}]"#;
    let signed = hubspot::signed_headers(
        HubSpotVersion::V3,
        &WebhookSecret::new(SECRET),
        "POST",
        "https://hooks.example.com/webhooks/hubspot?app=1",
        body,
        now(),
    );

    let (status, reply) = send(addr, "/webhooks/hubspot?app=1", signed.clone(), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&reply[..], b"{\"ok\":true}");
    assert_eq!(
        received.lock().unwrap().as_slice(),
        &[Bytes::from_static(body)]
    );

    // The same delivery again.
    let (status, reply) = send(addr, "/webhooks/hubspot?app=1", signed.clone(), body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(String::from_utf8_lossy(&reply).contains("\"replayed\""));

    // Unsigned.
    let (status, reply) = send(addr, "/webhooks/hubspot?app=1", HeaderMap::new(), body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(String::from_utf8_lossy(&reply).contains("\"missing_header\""));

    // Signed for a different path.
    let (status, _) = send(addr, "/webhooks/other?app=1", signed, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Too large (hyper sends Content-Length).
    let (status, reply) = send(addr, "/webhooks/hubspot", HeaderMap::new(), &[b'x'; 8192]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(String::from_utf8_lossy(&reply).contains("\"body_too_large\""));

    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn standard_webhooks_over_tcp() {
    let secret = WebhookSecret::from_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let layer = VerifyWebhookLayer::new(StandardWebhooksVerifier::new(secret.clone()))
        .clock(ManualClock::new(now()));
    let (addr, received) = serve(layer).await;
    let body: &'static [u8] = br#"{"type":"contact.created"}"#;
    let headers = standard::signed_headers(&[secret], "msg_tcp_1", now(), body).unwrap();
    let (status, _) = send(addr, "/sw", headers, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        received.lock().unwrap().as_slice(),
        &[Bytes::from_static(body)]
    );
}
