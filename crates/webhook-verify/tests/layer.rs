//! The tower layer over real `http::Request`s, driven with `ServiceExt::oneshot`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};
use webhook_verify::hubspot::{self, HubSpotVersion};
use webhook_verify::standard;
use webhook_verify::{
    HmacVerifier, HubSpotVerifier, ManualClock, MemoryReplayGuard, Scheme,
    StandardWebhooksVerifier, Verified, VerifyWebhook, VerifyWebhookLayer, WebhookSecret,
};

const SECRET: &str = "layer-secret";
const TS: u64 = 1_700_000_000_000;

fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

/// One call of the inner service: the body it received and the verification record.
type Call = (Bytes, Option<Verified>);

/// What the inner service saw.
#[derive(Clone, Default)]
struct Seen {
    calls: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Call>>>,
}

/// An inner service that records the body and answers with `status` and the body echoed.
fn inner(
    seen: Seen,
    status: StatusCode,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |request: Request<Full<Bytes>>| {
        let seen = seen.clone();
        async move {
            seen.calls.fetch_add(1, Ordering::SeqCst);
            let verified = request.extensions().get::<Verified>().cloned();
            let body = request.into_body().collect().await?.to_bytes();
            seen.bodies.lock().unwrap().push((body.clone(), verified));
            let mut response = Response::new(Full::new(body));
            *response.status_mut() = status;
            Ok::<_, Infallible>(response)
        }
    })
}

fn v3_request(
    uri: &str,
    host: &str,
    signed_uri: &str,
    body: &'static [u8],
    ts: u64,
) -> Request<Full<Bytes>> {
    let headers = hubspot::signed_headers(
        HubSpotVersion::V3,
        &WebhookSecret::new(SECRET),
        "POST",
        signed_uri,
        body,
        at(ts),
    );
    let mut request = Request::post(uri)
        .header("host", host)
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

async fn json_body<B: Body>(response: Response<B>) -> serde_json::Value
where
    B::Error: std::fmt::Debug,
{
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

fn v3_layer() -> VerifyWebhookLayer<HubSpotVerifier> {
    VerifyWebhookLayer::new(HubSpotVerifier::new(SECRET)).clock(ManualClock::new(at(TS + 1_000)))
}

#[tokio::test]
async fn accepts_and_passes_the_exact_body_bytes() {
    let seen = Seen::default();
    let body: &'static [u8] = "[{\"propertyValue\":\"J\u{fc}rgen\"}, \"\\u00fc\"]".as_bytes();
    let service = v3_layer()
        .public_base_url("https://hooks.example.com/")
        .unwrap()
        .layer(inner(seen.clone(), StatusCode::OK));
    // Behind a proxy: the server sees http://10.0.0.5:8080, HubSpot signed the public URL.
    let request = v3_request(
        "/hubspot/webhook?portal=62515",
        "10.0.0.5:8080",
        "https://hooks.example.com/hubspot/webhook?portal=62515",
        body,
        TS,
    );
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&echoed[..], body);

    let bodies = seen.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(&bodies[0].0[..], body);
    let verified = bodies[0].1.as_ref().expect("Verified in the extensions");
    assert_eq!(verified.scheme, Scheme::HubSpotV3);
    assert_eq!(verified.timestamp, Some(at(TS)));
}

#[tokio::test]
async fn reconstructs_the_uri_from_host_with_https_by_default() {
    let seen = Seen::default();
    let service = v3_layer().layer(inner(seen.clone(), StatusCode::OK));
    let request = v3_request(
        "/hook?a=1",
        "hooks.example.com",
        "https://hooks.example.com/hook?a=1",
        b"[]",
        TS,
    );
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );

    // Signed for http:// but the layer assumes https:// → mismatch, unless configured.
    let request = v3_request(
        "/hook",
        "hooks.example.com",
        "http://hooks.example.com/hook",
        b"[]",
        TS,
    );
    let service = v3_layer().layer(inner(seen.clone(), StatusCode::OK));
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let request = v3_request(
        "/hook",
        "hooks.example.com",
        "http://hooks.example.com/hook",
        b"[]",
        TS,
    );
    let service = v3_layer()
        .request_scheme(http::uri::Scheme::HTTP)
        .layer(inner(seen.clone(), StatusCode::OK));
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);

    // A public base URL with a path prefix the proxy strips.
    let request = v3_request(
        "/hook",
        "internal",
        "https://example.com/api/hook",
        b"[]",
        TS,
    );
    let service = v3_layer()
        .public_base_url("https://example.com/api")
        .unwrap()
        .layer(inner(seen.clone(), StatusCode::OK));
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn percent_escapes_in_the_request_uri_are_decoded_as_documented() {
    let seen = Seen::default();
    let service = v3_layer().layer(inner(seen.clone(), StatusCode::OK));
    // HubSpot's docs: the signer decodes %3A, %2C, ... ; the server sees them encoded.
    let request = v3_request(
        "/hook?when=10%3A30&tags=a%2Cb&q=x%20y",
        "hooks.example.com",
        "https://hooks.example.com/hook?when=10:30&tags=a,b&q=x%20y",
        b"[]",
        TS,
    );
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rejects_a_bad_signature_with_401_json_and_never_calls_inner() {
    let seen = Seen::default();
    let service = v3_layer().layer(inner(seen.clone(), StatusCode::OK));
    let mut request = v3_request(
        "/hook",
        "hooks.example.com",
        "https://hooks.example.com/hook",
        b"[1]",
        TS,
    );
    *request.body_mut() = Full::new(Bytes::from_static(b"[2]"));
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["content-type"], "application/json");
    let json = json_body(response).await;
    assert_eq!(json["error"], "signature_mismatch");
    assert_eq!(json["message"], "signature mismatch");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn rejections_by_kind() {
    let seen = Seen::default();
    // Missing signature headers → 401 missing_header.
    let request = Request::post("/hook")
        .header("host", "h")
        .body(Full::new(Bytes::from_static(b"[]")))
        .unwrap();
    let response = v3_layer()
        .layer(inner(seen.clone(), StatusCode::OK))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(response).await["error"], "missing_header");

    // Stale per the injected clock → 401 timestamp_too_old.
    let clock = ManualClock::new(at(TS));
    let layer = VerifyWebhookLayer::new(HubSpotVerifier::new(SECRET)).clock(clock.clone());
    clock.advance(Duration::from_millis(300_001));
    let request = v3_request("/hook", "h", "https://h/hook", b"[]", TS);
    let response = layer
        .layer(inner(seen.clone(), StatusCode::OK))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(response).await["error"], "timestamp_too_old");

    // Malformed timestamp → 400.
    let mut request = v3_request("/hook", "h", "https://h/hook", b"[]", TS);
    request
        .headers_mut()
        .insert("x-hubspot-request-timestamp", "yesterday".parse().unwrap());
    let response = v3_layer()
        .layer(inner(seen.clone(), StatusCode::OK))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(response).await["error"], "malformed_header");

    // No Host header and no public base URL → 400 uri_unavailable.
    let mut request = v3_request("/hook", "h", "https://h/hook", b"[]", TS);
    request.headers_mut().remove("host");
    let response = v3_layer()
        .layer(inner(seen.clone(), StatusCode::OK))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(response).await["error"], "uri_unavailable");

    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn invalid_public_base_urls_are_refused() {
    for bad in [
        "hooks.example.com",
        "ftp://hooks.example.com",
        "https://h.example/?q=1",
        "not a url",
        "/relative",
    ] {
        assert!(v3_layer().public_base_url(bad).is_err(), "{bad}");
    }
}

/// A body that records whether it was ever polled, and yields its chunks one by one.
struct Chunks {
    chunks: VecDeque<Bytes>,
    polled: Arc<AtomicUsize>,
    fail: bool,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.polled.fetch_add(1, Ordering::SeqCst);
        match self.chunks.pop_front() {
            Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            None if self.fail => Poll::Ready(Some(Err(std::io::Error::other("connection reset")))),
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[tokio::test]
async fn oversize_with_content_length_is_413_without_reading() {
    let seen = Seen::default();
    let polled = Arc::new(AtomicUsize::new(0));
    let body = Chunks {
        chunks: VecDeque::from(vec![Bytes::from(vec![b'x'; 2048])]),
        polled: polled.clone(),
        fail: false,
    };
    let request = Request::post("/hook")
        .header("host", "h")
        .header("content-length", "2048")
        .body(body)
        .unwrap();
    let service = v3_layer()
        .body_limit(1024)
        .layer(inner(seen.clone(), StatusCode::OK));
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        polled.load(Ordering::SeqCst),
        0,
        "the body must not be read"
    );
    let json = json_body(response).await;
    assert_eq!(json["error"], "body_too_large");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn oversize_streamed_body_is_413_and_reading_stops_at_the_limit() {
    let seen = Seen::default();
    let polled = Arc::new(AtomicUsize::new(0));
    let chunks: VecDeque<Bytes> = (0..100).map(|_| Bytes::from(vec![b'x'; 512])).collect();
    let body = Chunks {
        chunks,
        polled: polled.clone(),
        fail: false,
    };
    let request = Request::post("/hook")
        .header("host", "h")
        .body(body)
        .unwrap();
    let service = v3_layer()
        .body_limit(1024)
        .layer(inner(seen.clone(), StatusCode::OK));
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        polled.load(Ordering::SeqCst) <= 3,
        "read {} chunks",
        polled.load(Ordering::SeqCst)
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let seen = Seen::default();
    let body: &'static [u8] = &[b'a'; 1024];
    let request = v3_request("/hook", "h", "https://h/hook", body, TS);
    let service = v3_layer()
        .body_limit(1024)
        .layer(inner(seen.clone(), StatusCode::OK));
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    let request = v3_request("/hook", "h", "https://h/hook", &[b'a'; 1025], TS);
    let service = v3_layer()
        .body_limit(1024)
        .layer(inner(seen.clone(), StatusCode::OK));
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn a_body_read_error_is_400() {
    let seen = Seen::default();
    let body = Chunks {
        chunks: VecDeque::from(vec![Bytes::from_static(b"[")]),
        polled: Arc::default(),
        fail: true,
    };
    let request = Request::post("/hook")
        .header("host", "h")
        .body(body)
        .unwrap();
    let response = v3_layer()
        .layer(inner(seen.clone(), StatusCode::OK))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(response).await["error"], "body_read");
}

#[tokio::test]
async fn replays_are_409_and_a_failed_delivery_can_be_retried() {
    let seen = Seen::default();
    let guard = Arc::new(MemoryReplayGuard::new(1_000));
    let layer = v3_layer().replay_guard(guard.clone());

    // The application fails the first delivery (500): the key is forgotten, the retry passes.
    let failing = layer.layer(inner(seen.clone(), StatusCode::INTERNAL_SERVER_ERROR));
    let request = v3_request("/hook", "h", "https://h/hook", b"[7]", TS);
    assert_eq!(
        failing.oneshot(request).await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(guard.is_empty());

    let ok = layer.layer(inner(seen.clone(), StatusCode::OK));
    let request = v3_request("/hook", "h", "https://h/hook", b"[7]", TS);
    assert_eq!(
        ok.clone().oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );

    // The identical delivery again: 409, inner not called.
    let request = v3_request("/hook", "h", "https://h/hook", b"[7]", TS);
    let response = ok.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(json_body(response).await["error"], "replayed");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);

    // A genuinely new delivery (new timestamp) is not a replay.
    let request = v3_request("/hook", "h", "https://h/hook", b"[7]", TS + 1);
    assert_eq!(ok.oneshot(request).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_delivery_whose_call_is_dropped_mid_way_can_be_retried() {
    use std::future::Future as _;
    let guard = Arc::new(MemoryReplayGuard::new(1_000));
    let layer = v3_layer().replay_guard(guard.clone());

    // The application never answers (the sender hangs up, or a timeout drops the call).
    let hanging = layer.layer(service_fn(|_: Request<Full<Bytes>>| {
        std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>()
    }));
    let request = v3_request("/hook", "h", "https://h/hook", b"[8]", TS);
    let mut call = Box::pin(hanging.oneshot(request));
    let waker = std::task::Waker::noop();
    assert!(
        call.as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_pending()
    );
    assert_eq!(
        guard.len(),
        1,
        "verified and recorded before the inner call"
    );
    drop(call);
    assert!(
        guard.is_empty(),
        "a dropped call must not leave its key behind"
    );

    // The sender's retry of the same delivery is processed, not refused as a replay.
    let seen = Seen::default();
    let ok = layer.layer(inner(seen.clone(), StatusCode::OK));
    let request = v3_request("/hook", "h", "https://h/hook", b"[8]", TS);
    assert_eq!(ok.oneshot(request).await.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        guard.len(),
        1,
        "a delivery the application took stays recorded"
    );
}

#[tokio::test]
async fn standard_webhooks_replay_is_keyed_on_webhook_id() {
    let seen = Seen::default();
    let secret = WebhookSecret::from_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let clock = ManualClock::new(now);
    let layer = VerifyWebhookLayer::new(StandardWebhooksVerifier::new(secret.clone()))
        .clock(clock.clone())
        .replay_guard(MemoryReplayGuard::default());
    let service = layer.layer(inner(seen.clone(), StatusCode::NO_CONTENT));

    let send = |signed_at: SystemTime| {
        let headers: HeaderMap =
            standard::signed_headers(std::slice::from_ref(&secret), "msg_42", signed_at, b"{}")
                .unwrap();
        let mut request = Request::post("/sw")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        request.headers_mut().extend(headers);
        request
    };
    assert_eq!(
        service.clone().oneshot(send(now)).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    // Same id re-signed a minute later (an attacker cannot do this, but a sender's duplicate
    // does): still a replay.
    clock.advance(Duration::from_secs(60));
    let response = service
        .clone()
        .oneshot(send(now + Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    // After the window (2 × 300 s) the id is forgotten.
    clock.advance(Duration::from_secs(600));
    let response = service
        .oneshot(send(now + Duration::from_secs(660)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn generic_hmac_replay_window_uses_the_default_ttl() {
    let seen = Seen::default();
    let verifier = HmacVerifier::github(SECRET);
    let signature = verifier.sign(&WebhookSecret::new(SECRET), b"payload");
    let clock = ManualClock::new(at(TS));
    let service = VerifyWebhookLayer::new(verifier)
        .clock(clock.clone())
        .replay_guard(MemoryReplayGuard::default())
        .layer(inner(seen.clone(), StatusCode::OK));
    let send = || {
        Request::post("/gh")
            .header("x-hub-signature-256", signature.as_str())
            .body(Full::new(Bytes::from_static(b"payload")))
            .unwrap()
    };
    assert_eq!(
        service.clone().oneshot(send()).await.unwrap().status(),
        StatusCode::OK
    );
    clock.advance(Duration::from_secs(599));
    assert_eq!(
        service.clone().oneshot(send()).await.unwrap().status(),
        StatusCode::CONFLICT
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        service.oneshot(send()).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn service_accessors_and_debug_do_not_leak_the_secret() {
    use tower::Service as _;
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = service_fn({
        let calls = Arc::clone(&calls);
        move |_: Request<Full<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<_, Infallible>(Response::new(Full::new(Bytes::new()))))
        }
    });
    let mut service = VerifyWebhook::new(counting, HubSpotVerifier::new(SECRET));
    let debug = format!("{service:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    let layer = VerifyWebhook::<(), _>::layer(
        HubSpotVerifier::new(SECRET).add_secret(format!("{SECRET}-next")),
    );
    assert!(!format!("{layer:?}").contains(SECRET));

    // The accessors reach the wrapped service itself: calling through them runs it.
    let request = || Request::new(Full::new(Bytes::new()));
    let inner = service.get_mut();
    inner.ready().await.unwrap().call(request()).await.unwrap();
    service.get_ref().clone().oneshot(request()).await.unwrap();
    service.into_inner().oneshot(request()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn replay_guard_is_atomic_under_concurrency() {
    use webhook_verify::{ReplayGuard, ReplayKey};
    let key = |i: u16| {
        let mut bytes = [0u8; 16];
        bytes[..2].copy_from_slice(&i.to_be_bytes());
        ReplayKey::new(Scheme::Hmac, bytes)
    };
    let guard = Arc::new(MemoryReplayGuard::new(10_000));
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let guard = guard.clone();
            let accepted = accepted.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                while !start.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                for i in 0..500 {
                    if guard.record(&key(i), at(TS), Duration::from_secs(60)) {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    start.store(true, Ordering::Release);
    for thread in threads {
        thread.join().unwrap();
    }
    // Every key accepted exactly once across the eight threads.
    assert_eq!(accepted.load(Ordering::SeqCst), 500);
    // Expiry: at now + ttl the record is gone.
    assert!(!guard.record(&key(0), at(TS + 59_999), Duration::from_secs(60)));
    assert!(guard.record(&key(0), at(TS + 60_000), Duration::from_secs(60)));
}
