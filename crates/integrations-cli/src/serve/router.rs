//! Routes: `POST /webhooks/hubspot` (verified, then enqueued), `GET /health`,
//! `GET /health/live`, `GET /metrics` (and `/metrics.json`).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use obs_health::HealthService;
use obs_metrics::MetricsService;
use tokio::sync::mpsc::error::TrySendError;
use tower::{Service, ServiceExt};
use webhook_verify::{HubSpotVerifier, VerifyWebhook};

use super::server::{Shared, WEBHOOK_PATH};
use super::spool::Job;
use crate::webhook_events;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body of every route.
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// Everything a connection needs (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Router {
    pub(crate) webhook: VerifyWebhook<Enqueue, HubSpotVerifier>,
    pub(crate) health: HealthService,
    pub(crate) metrics: Option<MetricsService>,
}

impl Router {
    pub(crate) async fn route<B>(self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let path = request.uri().path().to_owned();
        match path.as_str() {
            WEBHOOK_PATH if request.method() == Method::POST => {
                match self.webhook.oneshot(request).await {
                    Ok(response) => response.map(|b| b.map_err(Into::into).boxed()),
                    Err(never) => match never {},
                }
            }
            WEBHOOK_PATH => status(StatusCode::METHOD_NOT_ALLOWED),
            "/health" | "/health/live" => match self.health.oneshot(request).await {
                Ok(response) => response.map(full),
                Err(never) => match never {},
            },
            "/metrics" | "/metrics.json" => match self.metrics {
                Some(metrics) => match metrics.oneshot(request).await {
                    Ok(response) => response.map(full),
                    Err(never) => match never {},
                },
                None => status(StatusCode::NOT_FOUND),
            },
            _ => status(StatusCode::NOT_FOUND),
        }
    }
}

fn full(body: Full<Bytes>) -> Body {
    body.map_err(|never| match never {}).boxed()
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(full(Full::new(Bytes::new())));
    *response.status_mut() = code;
    response
}

/// The service behind the signature check: turns a verified delivery into a [`Job`] and
/// enqueues it without waiting (204), or answers 503 when the queue is full or the server is
/// stopping (HubSpot then retries later), 400 for a payload that is not a list of events.
#[derive(Debug, Clone)]
pub(crate) struct Enqueue {
    pub(crate) shared: Arc<Shared>,
}

fn reply(code: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = if message.is_empty() {
        Bytes::new()
    } else {
        Bytes::from(serde_json::json!({ "error": message }).to_string())
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = code;
    if !message.is_empty() {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
    }
    if code == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    response
}

impl Service<Request<Full<Bytes>>> for Enqueue {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        ready(Ok(self.enqueue(request)))
    }
}

impl Enqueue {
    fn enqueue(&self, request: Request<Full<Bytes>>) -> Response<Full<Bytes>> {
        let shared = &self.shared;
        let count = |result: &'static str| {
            metrics::counter!("integrations_webhooks_total", "result" => result).increment(1);
        };
        if !shared.accepting.load(Ordering::SeqCst) {
            count("shutting_down");
            return reply(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
        }
        // The body is a `Full`: its one frame is already in memory.
        let body = full_bytes(request.into_body());
        let ids = match webhook_events::contact_ids(&body) {
            Ok(ids) => ids,
            Err(message) => {
                count("bad_payload");
                return reply(StatusCode::BAD_REQUEST, &message);
            }
        };
        if ids.is_empty() {
            count("no_contacts");
            return reply(StatusCode::NO_CONTENT, "");
        }
        let contacts = ids.len();
        let job = Job {
            id: shared.next_id.fetch_add(1, Ordering::SeqCst),
            contact_ids: ids,
        };
        match shared.tx.try_send(job) {
            Ok(()) => {
                count("accepted");
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                shared
                    .contacts_accepted
                    .fetch_add(contacts as u64, Ordering::SeqCst);
                shared.update_depth();
                tracing::debug!(contacts, "webhook accepted");
                reply(StatusCode::NO_CONTENT, "")
            }
            Err(TrySendError::Full(_)) => {
                count("queue_full");
                shared.rejected_full.fetch_add(1, Ordering::SeqCst);
                tracing::warn!(contacts, "queue full, webhook refused with 503");
                reply(StatusCode::SERVICE_UNAVAILABLE, "queue full")
            }
            Err(TrySendError::Closed(_)) => {
                count("shutting_down");
                reply(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
            }
        }
    }
}

fn full_bytes(body: Full<Bytes>) -> Bytes {
    use http_body::Body as _;
    let mut body = std::pin::pin!(body);
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    match body.as_mut().poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}
