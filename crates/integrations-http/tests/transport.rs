//! The transport and the layers against a real hyper server on 127.0.0.1.

mod support;

use bytes::Bytes;
use futures_util::stream;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING, USER_AGENT};
use http::{Request, Response, StatusCode, Version};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use integrations_config::{PoolConfig, Secret};
use integrations_http::{
    BaseUriLayer, BearerAuthLayer, Body, DEFAULT_USER_AGENT, HttpClient, HttpError, TransportError,
    UserAgentLayer, decode_json,
};
use resilience_core::{NotSent, find_in_chain};
use std::convert::Infallible;
use support::{TestBody, TestServer, dead_port_url, trusting_client_tls};
use tower::{ServiceBuilder, ServiceExt};

fn text(status: u16, body: &'static str) -> Response<TestBody> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(body.as_bytes())).boxed())
        .expect("response")
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::default()).expect("request")
}

fn client() -> HttpClient {
    HttpClient::new(&PoolConfig::default()).expect("client")
}

#[tokio::test]
async fn sequential_requests_reuse_one_pooled_connection() {
    let server = TestServer::start(|_| text(200, r#"{"ok":true}"#)).await;
    let client = client();
    for _ in 0..3 {
        let response = client
            .clone()
            .oneshot(get(&server.url("/ping")))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body().as_ref(), br#"{"ok":true}"#);
    }
    // A clone shares the pool, too.
    let shared = client.clone();
    shared
        .oneshot(get(&server.url("/ping")))
        .await
        .expect("response");
    assert_eq!(server.requests().len(), 4);
    assert_eq!(
        server.accepted(),
        1,
        "every request should reuse the first connection"
    );

    // The pool settings are applied: with no idle connection kept, each request connects anew.
    let unpooled = TestServer::start(|_| text(200, "{}")).await;
    let no_idle = HttpClient::new(&PoolConfig {
        max_idle_per_host: 0,
        ..PoolConfig::default()
    })
    .expect("client");
    for _ in 0..3 {
        no_idle
            .clone()
            .oneshot(get(&unpooled.url("/ping")))
            .await
            .expect("response");
    }
    assert_eq!(unpooled.accepted(), 3);
}

#[tokio::test]
async fn the_token_is_sent_to_the_api_and_never_to_another_host() {
    let api = TestServer::start(|_| text(200, "{}")).await;
    let other = TestServer::start(|_| text(200, "{}")).await;
    let base = BaseUriLayer::parse(&api.url("/hubspot")).expect("base");
    let auth = BearerAuthLayer::new(base.base(), &Secret::new("pat-na1-s3cret")).expect("auth");
    let service = ServiceBuilder::new()
        .map_err(HttpError::from)
        .layer(base)
        .layer(auth)
        .layer(UserAgentLayer::default())
        .service(client());

    service
        .clone()
        .oneshot(get("/crm/v3/objects/contacts?limit=2"))
        .await
        .expect("api call");
    // Then a request to another authority (same host, other port), as a paging link could be.
    service
        .clone()
        .oneshot(get(&other.url("/next?after=2")))
        .await
        .expect("other call");

    let to_api = api.requests();
    assert_eq!(to_api.len(), 1);
    assert_eq!(to_api[0].method, http::Method::GET);
    assert_eq!(to_api[0].uri, "/hubspot/crm/v3/objects/contacts?limit=2");
    assert_eq!(
        to_api[0]
            .headers
            .get(AUTHORIZATION)
            .expect("token sent to the api"),
        "Bearer pat-na1-s3cret"
    );
    assert_eq!(to_api[0].headers[USER_AGENT], DEFAULT_USER_AGENT);

    let to_other = other.requests();
    assert_eq!(to_other.len(), 1);
    assert_eq!(to_other[0].uri, "/next?after=2");
    assert!(
        to_other[0].headers.get(AUTHORIZATION).is_none(),
        "token leaked to another host: {:?}",
        to_other[0].headers
    );
}

#[tokio::test]
async fn an_html_502_page_becomes_an_api_error_with_its_text() {
    const PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body>\r\n</html>\r\n";
    let server = TestServer::start(|_| {
        Response::builder()
            .status(502)
            .header(CONTENT_TYPE, "text/html")
            .header("x-hubspot-correlation-id", "corr-502")
            .body(Full::new(Bytes::from_static(PAGE.as_bytes())).boxed())
            .expect("response")
    })
    .await;
    let response = client()
        .oneshot(get(&server.url("/crm/v3/objects/contacts")))
        .await
        .expect("a 502 is a response, not a transport error");
    let err = decode_json::<serde_json::Value>(&response).expect_err("502");
    let HttpError::Api(api) = &err else {
        panic!("expected HttpError::Api, got {err:?}");
    };
    assert_eq!(api.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(api.body_text(), PAGE);
    assert_eq!(api.message(), Some("502 Bad Gateway"));
    assert_eq!(err.correlation_id(), Some("corr-502"));
    assert!(err.is_retryable() && !err.is_rate_limited());
}

/// A server with a 4 KiB body on `/length` (with `Content-Length`) and on `/chunked` (streamed
/// in 256-byte chunks, no length).
async fn big_body_server() -> TestServer {
    TestServer::start(|request| {
        if request.uri.path() == "/chunked" {
            let chunks =
                (0..16).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'x'; 256]))));
            Response::new(StreamBody::new(stream::iter(chunks)).boxed())
        } else {
            Response::new(Full::new(Bytes::from(vec![b'x'; 4096])).boxed())
        }
    })
    .await
}

fn capped(limit: usize) -> HttpClient {
    HttpClient::builder()
        .max_response_body(limit)
        .build()
        .expect("client")
}

#[tokio::test]
async fn an_oversized_body_with_content_length_is_refused() {
    let server = big_body_server().await;
    let err = capped(1024)
        .oneshot(get(&server.url("/length")))
        .await
        .expect_err("over the cap");
    assert!(err.is_body_too_large(), "{err:?}");
    assert_eq!(err.body_limit(), Some(1024));
    // Refused from the declared length, before reading the body.
    assert!(
        err.to_string().contains("4096 bytes (content-length)"),
        "{err}"
    );
    let err = HttpError::from(err);
    assert!(
        matches!(err, HttpError::BodyTooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_oversized_chunked_body_is_refused() {
    let server = big_body_server().await;
    // The route really is chunked: without a cap in the way it has no Content-Length.
    let whole = capped(64 * 1024)
        .oneshot(get(&server.url("/chunked")))
        .await
        .expect("under a large cap");
    assert!(whole.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(whole.headers()[TRANSFER_ENCODING], "chunked");
    assert_eq!(whole.body().len(), 4096);

    let err = capped(1024)
        .oneshot(get(&server.url("/chunked")))
        .await
        .expect_err("over the cap");
    assert!(err.is_body_too_large(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "response body exceeds the limit of 1024 bytes"
    );
    // Through a tower stack (boxed errors), it is still recognised.
    let err = ServiceBuilder::new()
        .map_err(HttpError::from)
        .layer(BaseUriLayer::parse(&server.url("/")).expect("base"))
        .service(capped(1024))
        .oneshot(get("/chunked"))
        .await
        .expect_err("over the cap");
    assert!(
        matches!(err, HttpError::BodyTooLarge { limit: 1024, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_marked_not_sent() {
    let dead = dead_port_url();
    let err: TransportError = client().oneshot(get(&dead)).await.expect_err("refused");
    assert!(
        err.is_connect() && !err.is_timeout() && !err.is_body_too_large(),
        "{err:?}"
    );
    assert!(find_in_chain::<NotSent>(&err).is_some(), "{err:?}");
    let io = find_in_chain::<std::io::Error>(&err).expect("the io error is kept");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);

    // The same through a layered stack, converted to HttpError.
    let err = ServiceBuilder::new()
        .map_err(HttpError::from)
        .layer(BaseUriLayer::parse(&dead).expect("base"))
        .service(client())
        .oneshot(get("/crm"))
        .await
        .expect_err("refused");
    assert!(matches!(err, HttpError::Transport(_)), "{err:?}");
    assert!(err.is_not_sent() && err.is_retryable());
}

fn tls_client() -> HttpClient {
    HttpClient::builder()
        .tls_config(trusting_client_tls())
        .build()
        .expect("client")
}

#[tokio::test]
async fn https_negotiates_http2_by_alpn_and_keeps_one_connection() {
    let server = TestServer::start_tls(&[b"h2", b"http/1.1"], |_| text(200, "{}")).await;
    let client = tls_client();
    for _ in 0..3 {
        let response = client
            .clone()
            .oneshot(get(&server.url("/crm")))
            .await
            .expect("response");
        assert_eq!(response.version(), Version::HTTP_2);
        assert_eq!(response.body().as_ref(), b"{}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.version == Version::HTTP_2));
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn https_falls_back_to_http1_when_the_server_offers_only_http1() {
    let server = TestServer::start_tls(&[b"http/1.1"], |_| text(200, "{}")).await;
    let response = tls_client()
        .oneshot(get(&server.url("/crm")))
        .await
        .expect("response");
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(server.requests()[0].version, Version::HTTP_11);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_the_handshake_before_sending() {
    let server = TestServer::start_tls(&[b"h2", b"http/1.1"], |_| text(200, "{}")).await;
    // The default client trusts Mozilla's roots only, not the self-signed test certificate.
    let err = client()
        .oneshot(get(&server.url("/crm")))
        .await
        .expect_err("untrusted");
    assert!(err.is_connect(), "{err:?}");
    assert!(find_in_chain::<NotSent>(&err).is_some());
    assert!(server.requests().is_empty());
}
