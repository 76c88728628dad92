//! [`ManyChatClient`]: the typed API over a tower stack.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use integrations_config::ManyChatConfig;
use integrations_http::{ApiError, Body, HttpError, decode_json};
use resilience_breaker::Breaker;
use resilience_cache::HttpResponseCache;
use resilience_core::BoxError;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::api::{PageApi, Subscribers, endpoints};
use crate::builder::ManyChatClientBuilder;
use crate::classify::{BodyStatus, body_status};
use crate::error::{BuildError, ManyChatError};
use crate::models::Page;
use crate::request::{Call, Endpoint};
use crate::stack::BuiltStack;

/// The type-erased service the client runs its requests through: relative request URIs in,
/// whole responses out (the default stack, or a stack of your own).
pub type ManyChatService = BoxCloneSyncService<Request<Body>, Response<Bytes>, BoxError>;

/// A ManyChat client: typed operations over a tower stack.
///
/// Cheap to clone; clones share the stack (connection pool, breaker, rate limiter, cache).
/// Dropping the last clone (and the last in-flight request) closes the pool;
/// [`close`](Self::close) stops new calls and waits for the in-flight ones first.
///
/// - [`ManyChatClient::new`], [`from_env`](Self::from_env) and [`builder`](Self::builder)
///   build the default stack (see [`stack`](crate::stack)).
/// - [`ManyChatClient::with_service`] runs the typed API over any tower service of yours.
///
/// Success is judged by the body's `status` (`"success"`), not only by the HTTP code: a 200
/// carrying `{"status":"error"}` is a [`ManyChatError::Api`]. A write (a send, a tag, a field)
/// that fails after it may have reached ManyChat is a [`ManyChatError::OutcomeUnknown`] and is
/// never repeated.
#[derive(Clone)]
pub struct ManyChatClient {
    shared: Arc<Shared>,
}

struct Shared {
    service: ManyChatService,
    tracker: TaskTracker,
    breaker: Option<Breaker>,
    cache: Option<HttpResponseCache>,
}

impl fmt::Debug for ManyChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManyChatClient")
            .field("in_flight", &self.shared.tracker.len())
            .field("closed", &self.shared.tracker.is_closed())
            .finish_non_exhaustive()
    }
}

/// The success envelope: `{"status":"success","data":...}`.
#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

impl ManyChatClient {
    /// A client with the default stack built from `config`.
    ///
    /// # Errors
    ///
    /// Returns [`BuildError`] when the transport or a layer cannot be built from the config.
    pub fn new(config: ManyChatConfig) -> Result<Self, BuildError> {
        Self::builder().config(config).build()
    }

    /// A client with the default stack, configured from `MANYCHAT_API_KEY` (with
    /// `MANYCHAT_PAGE_ID` for a bare key) and the other `MANYCHAT_*` variables.
    ///
    /// # Errors
    ///
    /// Returns [`BuildError::Config`] naming every bad or missing variable, or the errors of
    /// [`ManyChatClient::new`].
    pub fn from_env() -> Result<Self, BuildError> {
        Self::new(ManyChatConfig::from_env()?)
    }

    /// A builder: base URL, token, timeouts, pool, and each layer's settings (or `None` to
    /// switch it off).
    pub fn builder() -> ManyChatClientBuilder {
        ManyChatClientBuilder::new()
    }

    /// Runs the typed API over `service`, a stack of your own.
    ///
    /// Requests carry **relative** URIs (`/fb/page/getInfo`) and no credentials: the service
    /// must resolve the base URI and add the token (with
    /// [`BaseUriLayer`](integrations_http::BaseUriLayer) and
    /// [`BearerAuthLayer`](integrations_http::BearerAuthLayer), or
    /// [`stack::transport`](crate::stack::transport)). Each request carries the workspace's
    /// `Operation` extension, and `Cacheable` on page reads, for the layers to read.
    pub fn with_service<S>(service: S) -> Self
    where
        S: tower::Service<Request<Body>, Response = Response<Bytes>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        Self::from_parts(
            BoxCloneSyncService::new(service.map_err(Into::into)),
            None,
            None,
        )
    }

    /// A client over a stack made by [`stack::build`](crate::stack::build) (perhaps wrapped in
    /// layers of your own), keeping its breaker and cache.
    pub fn from_stack(stack: BuiltStack) -> Self {
        Self::from_parts(stack.service, stack.breaker, stack.cache)
    }

    fn from_parts(
        service: ManyChatService,
        breaker: Option<Breaker>,
        cache: Option<HttpResponseCache>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                service,
                tracker: TaskTracker::new(),
                breaker,
                cache,
            }),
        }
    }

    /// Page operations: info, tags, custom fields, bot fields, flows, growth tools.
    pub fn page(&self) -> PageApi {
        PageApi::new(self.clone())
    }

    /// Subscriber operations: get, find, create, update, tags, custom fields.
    pub fn subscribers(&self) -> Subscribers {
        Subscribers::new(self.clone())
    }

    /// The response cache of the default stack, when it is on (for stats and invalidation).
    pub fn cache(&self) -> Option<&HttpResponseCache> {
        self.shared.cache.as_ref()
    }

    /// The circuit breaker of the default stack (`None` when it is off, or for
    /// [`with_service`](Self::with_service)): state, snapshot, operator overrides.
    pub fn breaker(&self) -> Option<&Breaker> {
        self.shared.breaker.as_ref()
    }

    /// Drops every cached page read (the client does this itself after a page write).
    pub fn invalidate_page(&self) {
        if let Some(cache) = &self.shared.cache {
            cache.invalidate_if(|key| key.contains(" /fb/page/"));
        }
    }

    /// Checks that ManyChat answers and accepts the token: `GET /fb/page/getInfo` (not
    /// cached, so it always reaches ManyChat).
    ///
    /// # Errors
    ///
    /// Returns the [`ManyChatError`] of the call (an API error for a bad token, a transport
    /// error or timeout when ManyChat is unreachable).
    pub async fn health_check(&self) -> Result<Page, ManyChatError> {
        self.call(Call::new(&endpoints::HEALTH)).await
    }

    /// Sends any request through the stack (an endpoint this crate has no typed operation
    /// for) and returns the raw response, whatever its status and body.
    ///
    /// Use a relative URI; mark the request with the `resilience_core::extensions` it needs.
    ///
    /// # Errors
    ///
    /// Returns [`ManyChatError::Closed`] after [`close`](Self::close), or the error of the
    /// stack (transport, timeout, local rejection) as [`ManyChatError::Http`].
    pub async fn send(&self, request: Request<Body>) -> Result<Response<Bytes>, ManyChatError> {
        let _in_flight = self.enter()?;
        self.run(request)
            .await
            .map_err(|source| ManyChatError::Http {
                operation: "raw",
                source,
            })
    }

    /// Stops accepting calls and waits until every call in flight has finished (what the old
    /// library's context manager did on exit). Calls made after it fail with
    /// [`ManyChatError::Closed`], on this client and every clone.
    pub async fn close(&self) {
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }

    /// `true` once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.tracker.is_closed()
    }

    /// How many calls are in flight.
    pub fn in_flight(&self) -> usize {
        self.shared.tracker.len()
    }

    /// Counts a call as in flight, or refuses it after [`close`](Self::close). The token is
    /// taken before the check, so `close` cannot finish waiting between them.
    fn enter(&self) -> Result<TaskTrackerToken, ManyChatError> {
        let token = self.shared.tracker.token();
        if self.shared.tracker.is_closed() {
            return Err(ManyChatError::Closed);
        }
        Ok(token)
    }

    async fn run(&self, request: Request<Body>) -> Result<Response<Bytes>, HttpError> {
        self.shared
            .service
            .clone()
            .oneshot(request)
            .await
            .map_err(HttpError::from)
    }

    /// Sends one call whose `data` (if any) is not needed.
    pub(crate) async fn call_unit(&self, call: Call) -> Result<(), ManyChatError> {
        self.call::<Option<IgnoredAny>>(call).await.map(|_| ())
    }

    /// Sends one call and returns its `data`, judged by the body's `status`.
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T, ManyChatError> {
        let _in_flight = self.enter()?;
        let endpoint = call.endpoint;
        let request = call.into_request()?;
        match self.run(request).await {
            Ok(response) => read_response(endpoint, &response),
            Err(error) => Err(failed(endpoint, error)),
        }
    }
}

/// Turns an answer into `data` or an error: success needs a 2xx **and** `status: "success"`.
fn read_response<T: DeserializeOwned>(
    endpoint: &'static Endpoint,
    response: &Response<Bytes>,
) -> Result<T, ManyChatError> {
    let operation = endpoint.operation;
    let status = body_status(response.body());
    if response.status().is_success() {
        match status {
            BodyStatus::Success | BodyStatus::Absent => {
                return decode_json::<Envelope<T>>(response)
                    .map(|envelope| envelope.data)
                    .map_err(|source| ManyChatError::Http { operation, source });
            }
            // A 2xx that cannot be read: a write may well have been applied.
            BodyStatus::Unreadable => {
                let source = decode_json::<Envelope<T>>(response)
                    .err()
                    .unwrap_or_else(|| HttpError::Other("unreadable success body".into()));
                return Err(if endpoint.is_write() {
                    ManyChatError::OutcomeUnknown { operation, source }
                } else {
                    ManyChatError::Http { operation, source }
                });
            }
            BodyStatus::Error => {}
        }
    }
    let source = ApiError::from_response(response);
    if endpoint.is_write() && may_have_been_applied(response.status()) {
        // A 500, or a gateway's 502/504: the write may have been applied before it failed.
        return Err(ManyChatError::OutcomeUnknown {
            operation,
            source: HttpError::Api(source),
        });
    }
    Err(ManyChatError::Api { operation, source })
}

/// `true` for an answer that does not show whether a write was applied: any 5xx but 503
/// (a 503 is a refusal before processing: overloaded, or throttling with `Retry-After`).
fn may_have_been_applied(status: http::StatusCode) -> bool {
    status.is_server_error() && status != http::StatusCode::SERVICE_UNAVAILABLE
}

/// Maps a failed call. A write that may have reached ManyChat (anything but a provable
/// not-sent, or a local rejection) is `OutcomeUnknown`.
fn failed(endpoint: &'static Endpoint, source: HttpError) -> ManyChatError {
    let operation = endpoint.operation;
    let ambiguous = !source.is_not_sent()
        && matches!(
            source,
            HttpError::Transport(_)
                | HttpError::Timeout(_)
                | HttpError::BodyTooLarge { .. }
                | HttpError::Other(_)
        );
    if endpoint.is_write() && ambiguous {
        ManyChatError::OutcomeUnknown { operation, source }
    } else {
        match source {
            HttpError::Api(api) => ManyChatError::Api {
                operation,
                source: api,
            },
            other => ManyChatError::Http {
                operation,
                source: other,
            },
        }
    }
}
