//! End to end against a real hyper server on 127.0.0.1: the limiter reads real response headers
//! and refuses at once (no sleeping) when the server said to stop.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use resilience_core::BoxError;
use resilience_ratelimit::{Quota, RateLimitLayer, RateLimited};
use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};

async fn server(hits: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let hits = hits.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: http::Request<hyper::body::Incoming>| {
                        hits.fetch_add(1, Ordering::SeqCst);
                        let res = match req.uri().path() {
                            "/exhausted" => http::Response::builder()
                                .header("X-HubSpot-RateLimit-Max", "100")
                                .header("X-HubSpot-RateLimit-Remaining", "0")
                                .header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
                            "/throttled" => http::Response::builder()
                                .status(429)
                                .header("Retry-After", "30"),
                            _ => http::Response::builder(),
                        };
                        async move { Ok::<_, Infallible>(res.body(Full::new(Bytes::new())).unwrap()) }
                    },
                );
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn get(addr: std::net::SocketAddr, path: &str, token: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn needed_wait(err: BoxError) -> Duration {
    err.downcast_ref::<RateLimited>()
        .unwrap_or_else(|| panic!("expected RateLimited, got {err}"))
        .wait()
}

#[tokio::test]
async fn learns_from_a_real_servers_headers_and_429() {
    let hits = Arc::new(AtomicUsize::new(0));
    let addr = server(hits.clone()).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let svc = RateLimitLayer::new("sandbox", Quota::per_second(NonZeroU32::new(50).unwrap()))
        .with_max_wait(Duration::from_secs(1))
        .layer(client.map_err(BoxError::from));

    // Token A: the server says nothing is left in its 10 s window.
    let res = svc
        .clone()
        .oneshot(get(addr, "/exhausted", "a"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let wait = needed_wait(
        svc.clone()
            .oneshot(get(addr, "/ok", "a"))
            .await
            .unwrap_err(),
    );
    assert!(
        wait > Duration::from_secs(9) && wait <= Duration::from_secs(10),
        "{wait:?}"
    );

    // Token B (another key on the same host) is unaffected, until its own 429 with Retry-After.
    let res = svc
        .clone()
        .oneshot(get(addr, "/throttled", "b"))
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let wait = needed_wait(
        svc.clone()
            .oneshot(get(addr, "/ok", "b"))
            .await
            .unwrap_err(),
    );
    assert!(
        wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );

    // Token C is still free.
    assert_eq!(
        svc.clone()
            .oneshot(get(addr, "/ok", "c"))
            .await
            .unwrap()
            .status(),
        200
    );
    // The refused requests never reached the server.
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}
