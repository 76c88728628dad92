//! CacheLayer in front of a real HTTP client talking to a real hyper server on 127.0.0.1:0.
//!
//! Real sockets, so the clock is not paused here; TTLs are long and only request counts are
//! asserted (expiry is covered by the paused-clock tests).

use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn as hyper_service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use resilience_cache::{CacheConfig, CacheLayer, HttpResponseCache};
use resilience_core::BoxError;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt, service_fn};

/// Serves `/cached` (200), `/no-store` (200, `Cache-Control: no-store`) and `/missing` (404),
/// echoing the path, the token and a request counter in the body.
async fn start_server(hits: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let hits = Arc::clone(&hits);
            tokio::spawn(async move {
                let service = hyper_service_fn(move |req: Request<hyper::body::Incoming>| {
                    let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
                    async move {
                        let token = req
                            .headers()
                            .get(AUTHORIZATION)
                            .map(|v| v.to_str().unwrap_or("?").to_owned())
                            .unwrap_or_default();
                        let mut response = Response::builder();
                        match req.uri().path() {
                            "/no-store" => response = response.header(CACHE_CONTROL, "no-store"),
                            "/missing" => response = response.status(404),
                            _ => response = response.header(CACHE_CONTROL, "max-age=300"),
                        }
                        let body = format!("{} {token} #{n}", req.uri().path());
                        Ok::<_, Infallible>(response.body(Full::new(Bytes::from(body))).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn the_layer_in_front_of_a_real_http_client() {
    let hits = Arc::new(AtomicUsize::new(0));
    let addr = start_server(Arc::clone(&hits)).await;

    // The transport shape our clients use: the body is collected into `Bytes`.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let transport = service_fn(move |req: Request<Full<Bytes>>| {
        let client = client.clone();
        async move {
            let response = client.request(req).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, BoxError>(Response::from_parts(parts, body))
        }
    });
    let cache = HttpResponseCache::new("hyper", CacheConfig::new(Duration::from_secs(60))).unwrap();
    let service = CacheLayer::new(cache.clone()).layer(transport);

    let get = |path: &str, token: &str| {
        Request::get(format!("http://{addr}{path}"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let fetch = |req| {
        let service = service.clone();
        async move {
            let response = service.oneshot(req).await.unwrap();
            (
                response.status().as_u16(),
                String::from_utf8(response.body().to_vec()).unwrap(),
            )
        }
    };

    assert_eq!(
        fetch(get("/cached", "a")).await,
        (200, "/cached Bearer a #1".into())
    );
    assert_eq!(
        fetch(get("/cached", "a")).await,
        (200, "/cached Bearer a #1".into())
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the hit never reached the server"
    );

    assert_eq!(
        fetch(get("/cached", "b")).await,
        (200, "/cached Bearer b #2".into())
    );
    assert_eq!(
        fetch(get("/no-store", "a")).await.1,
        "/no-store Bearer a #3"
    );
    assert_eq!(
        fetch(get("/no-store", "a")).await.1,
        "/no-store Bearer a #4"
    );
    assert_eq!(fetch(get("/missing", "a")).await.0, 404);
    assert_eq!(fetch(get("/missing", "a")).await.0, 404);
    assert_eq!(hits.load(Ordering::SeqCst), 6);

    let stats = cache.stats();
    assert_eq!((stats.hits, stats.entries), (1, 2), "{stats:?}");
}
