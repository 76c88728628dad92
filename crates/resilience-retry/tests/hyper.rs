//! End to end over real HTTP: a hyper server on 127.0.0.1:0 and hyper-util's pooled client,
//! with the retry layer in between (tokio's paused clock; the retry sleeps are auto-advanced).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use resilience_core::{BoxError, NotSent};
use resilience_retry::{Jitter, RetryLayer, RetryPolicy};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

type Arrivals = Arc<Mutex<Vec<(http::Method, Instant)>>>;

/// Serves `reply(n)` for the n-th request (0-based) and records when each arrived.
async fn serve(reply: fn(usize) -> http::Response<Full<Bytes>>) -> (SocketAddr, Arrivals) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let arrivals: Arrivals = Arc::default();
    let log = Arc::clone(&arrivals);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push((req.method().clone(), Instant::now()));
                    log.len() - 1
                };
                async move { Ok::<_, std::convert::Infallible>(reply(n)) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, arrivals)
}

/// A transport like the workspace's: pooled client, body collected to `Bytes`, connect errors
/// marked `NotSent`, errors boxed.
fn transport() -> impl tower::Service<
    http::Request<Full<Bytes>>,
    Response = http::Response<Bytes>,
    Error = BoxError,
    Future: Send,
> + Clone {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    tower::service_fn(move |req: http::Request<Full<Bytes>>| {
        let client = client.clone();
        async move {
            let response = client.request(req).await.map_err(|e| -> BoxError {
                if e.is_connect() {
                    Box::new(NotSent::with_source(e))
                } else {
                    Box::new(e)
                }
            })?;
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok(http::Response::from_parts(parts, bytes))
        }
    })
}

fn request(method: &str, addr: SocketAddr) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}/crm/v3/objects/contacts"))
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap()
}

fn reply(status: u16, retry_after: Option<&str>) -> http::Response<Full<Bytes>> {
    let mut builder = http::Response::builder().status(status);
    if let Some(wait) = retry_after {
        builder = builder.header("retry-after", wait);
    }
    builder.body(Full::new(Bytes::from_static(b"{}"))).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_real_429_is_retried_no_earlier_than_its_retry_after() {
    let (addr, arrivals) = serve(|n| {
        if n == 0 {
            reply(429, Some("2"))
        } else {
            reply(200, None)
        }
    })
    .await;
    let policy = RetryPolicy::builder("sandbox")
        .jitter(Jitter::None)
        .build()
        .unwrap();
    let client = RetryLayer::new(policy).layer(transport());
    let response = client.oneshot(request("POST", addr)).await.unwrap();
    assert_eq!(response.status(), 200);
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2);
    assert!(arrivals.iter().all(|(m, _)| m == http::Method::POST));
    let gap = arrivals[1].1 - arrivals[0].1;
    assert!(gap >= Duration::from_secs(2), "retried after {gap:?}");
}

#[tokio::test(start_paused = true)]
async fn a_real_500_on_post_reaches_the_server_once() {
    let (addr, arrivals) = serve(|_| reply(500, None)).await;
    let client = RetryLayer::new(RetryPolicy::new("sandbox")).layer(transport());
    let response = client.clone().oneshot(request("POST", addr)).await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(arrivals.lock().unwrap().len(), 1);
    // The same failure on a GET is retried up to the attempt limit.
    let response = client.oneshot(request("GET", addr)).await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(arrivals.lock().unwrap().len(), 1 + 3);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_retried_even_for_post() {
    // Take a free port, then close it: connecting is refused, so the request was never sent.
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let start = Instant::now();
    let client = RetryLayer::new(
        RetryPolicy::builder("sandbox")
            .jitter(Jitter::None)
            .no_budget()
            .build()
            .unwrap(),
    )
    .layer(transport());
    let err = client.oneshot(request("POST", addr)).await.unwrap_err();
    assert!(resilience_core::find_in_chain::<NotSent>(&*err).is_some());
    // Three attempts: exactly two backoff waits, 250 ms and 500 ms, happened between them.
    let waited = Instant::now() - start;
    assert!(
        waited >= Duration::from_millis(750) && waited < Duration::from_millis(1750),
        "{waited:?}"
    );
}
