//! [`HealthService`]: `/health` (readiness) and `/health/live` (liveness) over HTTP.

use crate::checker::HealthChecker;
use crate::report::{HEALTH_JSON_CONTENT_TYPE, HealthResponse};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// The default readiness path.
pub const READY_PATH: &str = "/health";
/// The default liveness path.
pub const LIVE_PATH: &str = "/health/live";

/// Serves health over HTTP, for hyper or any tower stack.
///
/// | request | answer |
/// | --- | --- |
/// | `GET`/`HEAD` `/health` | readiness: runs the checker (cached); 200 for pass/warn, 503 for fail |
/// | `GET`/`HEAD` `/health/live` | liveness: 200 `pass`, never calls a dependency |
/// | another method on those paths | 405 with `Allow: GET, HEAD` |
/// | any other path | 404 |
///
/// Health responses are `application/health+json` with `Cache-Control: no-store`; `HEAD` gets
/// the same status and headers with an empty body.
#[derive(Debug, Clone)]
pub struct HealthService {
    checker: HealthChecker,
    ready_path: Arc<str>,
    live_path: Arc<str>,
}

impl HealthService {
    /// Serves `checker` on [`READY_PATH`] and [`LIVE_PATH`].
    pub fn new(checker: HealthChecker) -> Self {
        Self {
            checker,
            ready_path: Arc::from(READY_PATH),
            live_path: Arc::from(LIVE_PATH),
        }
    }

    /// Serves readiness on `ready` and liveness on `live` instead.
    pub fn with_paths(mut self, ready: &str, live: &str) -> Self {
        self.ready_path = Arc::from(ready);
        self.live_path = Arc::from(live);
        self
    }

    /// The checker.
    pub fn checker(&self) -> &HealthChecker {
        &self.checker
    }
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn health_json(status: StatusCode, body: &HealthResponse, head: bool) -> Response<Full<Bytes>> {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(_) => return empty(StatusCode::INTERNAL_SERVER_ERROR),
    };
    let mut response = Response::new(Full::new(if head {
        Bytes::new()
    } else {
        Bytes::from(bytes)
    }));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(HEALTH_JSON_CONTENT_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl<B> Service<Request<B>> for HealthService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        let ready = path == &*self.ready_path;
        let live = path == &*self.live_path;
        if !ready && !live {
            return Box::pin(std::future::ready(Ok(empty(StatusCode::NOT_FOUND))));
        }
        let head = request.method() == Method::HEAD;
        if request.method() != Method::GET && !head {
            let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Box::pin(std::future::ready(Ok(response)));
        }
        if live {
            let body = self.checker.liveness();
            return Box::pin(std::future::ready(Ok(health_json(
                StatusCode::OK,
                &body,
                head,
            ))));
        }
        let checker = self.checker.clone();
        Box::pin(async move {
            let report = checker.report().await;
            let body = report.to_response(checker.info());
            Ok(health_json(report.health().http_status(), &body, head))
        })
    }
}
