//! [`HubSpotClient`]: the typed API over a tower stack.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use integrations_config::HubSpotConfig;
use integrations_http::{ApiError, Body, HttpError};
use resilience_core::BoxError;
use resilience_core::extensions::{Operation, is_idempotent};
use serde::de::DeserializeOwned;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::api::{Contacts, Objects};
use crate::builder::HubSpotClientBuilder;
use crate::error::{BuildError, HubSpotError, may_have_been_applied};
use crate::models::AccountDetails;
use crate::request::{Call, decode};
use crate::stack::BuiltStack;
use resilience_breaker::Breaker;
use resilience_cache::HttpResponseCache;

/// The type-erased service the client runs its requests through: relative request URIs in,
/// whole responses out (the default stack, or a stack of your own).
pub type HubSpotService = BoxCloneSyncService<Request<Body>, Response<Bytes>, BoxError>;

/// Drops the cached reads of objects after the client changed them: called with
/// `(object_type, ids)`.
pub type Invalidate = Arc<dyn Fn(&str, &[&str]) + Send + Sync>;

/// A HubSpot CRM v3 client: typed operations over a tower stack.
///
/// Cheap to clone; clones share the stack (connection pool, breaker, rate limiter, cache).
/// Dropping the last clone (and the last in-flight request) closes the pool;
/// [`close`](Self::close) stops new calls and waits for the in-flight ones first.
///
/// - [`HubSpotClient::new`], [`from_env`](Self::from_env) and [`builder`](Self::builder)
///   build the default stack (see [`stack`](crate::stack)).
/// - [`HubSpotClient::with_service`] runs the typed API over any tower service of yours.
#[derive(Clone)]
pub struct HubSpotClient {
    shared: Arc<Shared>,
}

struct Shared {
    service: HubSpotService,
    tracker: TaskTracker,
    invalidate: Option<Invalidate>,
    breaker: Option<Breaker>,
    cache: Option<HttpResponseCache>,
}

impl fmt::Debug for HubSpotClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubSpotClient")
            .field("in_flight", &self.shared.tracker.len())
            .field("closed", &self.shared.tracker.is_closed())
            .finish_non_exhaustive()
    }
}

impl HubSpotClient {
    /// A client with the default stack built from `config`.
    ///
    /// # Errors
    ///
    /// Returns [`BuildError`] when the config does not validate, or the transport or a layer
    /// cannot be built from it.
    pub fn new(config: HubSpotConfig) -> Result<Self, BuildError> {
        config.validate()?;
        Self::builder().config(config).build()
    }

    /// A client with the default stack, configured from the `HUBSPOT_*` environment variables.
    ///
    /// # Errors
    ///
    /// Returns [`BuildError::Config`] naming every bad or missing variable, or the errors of
    /// [`HubSpotClient::new`].
    pub fn from_env() -> Result<Self, BuildError> {
        Self::new(HubSpotConfig::from_env()?)
    }

    /// A builder: base URL, token, timeouts, pool, and each layer's settings (or `None` to
    /// switch it off).
    pub fn builder() -> HubSpotClientBuilder {
        HubSpotClientBuilder::new()
    }

    /// Runs the typed API over `service`, a stack of your own.
    ///
    /// Requests carry **relative** URIs (`/crm/v3/objects/contacts/1`) and no credentials:
    /// the service must resolve the base URI and add the token (with
    /// [`BaseUriLayer`](integrations_http::BaseUriLayer) and
    /// [`BearerAuthLayer`](integrations_http::BearerAuthLayer), or
    /// [`stack::transport`](crate::stack::transport)). Each request carries the workspace's
    /// `Operation`, `Idempotent` and `Cacheable` extensions for the layers to read.
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
            None,
        )
    }

    /// A client over a stack made by [`stack::build`](crate::stack::build) (perhaps wrapped in
    /// layers of your own), keeping its breaker, cache and invalidation hook.
    pub fn from_stack(stack: BuiltStack) -> Self {
        Self::from_parts(stack.service, stack.invalidate, stack.breaker, stack.cache)
    }

    fn from_parts(
        service: HubSpotService,
        invalidate: Option<Invalidate>,
        breaker: Option<Breaker>,
        cache: Option<HttpResponseCache>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                service,
                tracker: TaskTracker::new(),
                invalidate,
                breaker,
                cache,
            }),
        }
    }

    /// The circuit breaker of the default stack (`None` when it is off, or for
    /// [`with_service`](Self::with_service)): state, snapshot, operator overrides.
    pub fn breaker(&self) -> Option<&Breaker> {
        self.shared.breaker.as_ref()
    }

    /// The response cache of the default stack (`None` when it is off): stats, clearing.
    pub fn cache(&self) -> Option<&HttpResponseCache> {
        self.shared.cache.as_ref()
    }

    /// The CRM objects API for `object_type`: a name (`companies`, `deals`, `tickets`, ...) or
    /// an object type id (`0-1`, `2-12345` for a custom object).
    pub fn objects(&self, object_type: impl Into<Arc<str>>) -> Objects {
        Objects::new(self.clone(), object_type.into())
    }

    /// The contacts API: the objects API plus lookups by email.
    pub fn contacts(&self) -> Contacts {
        Contacts::new(self.objects("contacts"))
    }

    /// The companies API.
    pub fn companies(&self) -> Objects {
        self.objects("companies")
    }

    /// The deals API.
    pub fn deals(&self) -> Objects {
        self.objects("deals")
    }

    /// The tickets API.
    pub fn tickets(&self) -> Objects {
        self.objects("tickets")
    }

    /// Checks that HubSpot answers and accepts the token: `GET /account-info/v3/details`.
    ///
    /// # Errors
    ///
    /// Returns the [`HubSpotError`] of the call (a `401` for a bad token, a transport error or
    /// timeout when HubSpot is unreachable).
    pub async fn health_check(&self) -> Result<AccountDetails, HubSpotError> {
        let call = Call::new(
            Method::GET,
            "/account-info/v3/details".to_owned(),
            Operation::new("account.details"),
        );
        self.call_json(call).await
    }

    /// Sends any request through the stack (an endpoint this crate has no typed operation
    /// for) and returns the raw response, whatever its status.
    ///
    /// Use a relative URI; mark the request with the `resilience_core::extensions` it needs.
    ///
    /// # Errors
    ///
    /// Returns [`HubSpotError::Closed`] after [`close`](Self::close), or the error of the stack
    /// (transport, timeout, local rejection).
    pub async fn send(&self, request: Request<Body>) -> Result<Response<Bytes>, HubSpotError> {
        self.run(request).await
    }

    /// Stops accepting calls and waits until every call in flight has finished (what the old
    /// library's context manager did on exit). Calls made after it fail with
    /// [`HubSpotError::Closed`], on this client and every clone.
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

    /// Drops the cached reads of object `id` of `object_type` (its gets, the type's gets by a
    /// unique property and the type's batch reads). The client does this itself after it
    /// updates or archives an object.
    pub fn invalidate(&self, object_type: &str, id: &str) {
        self.invalidate_many(object_type, &[id]);
    }

    /// Drops the cached reads of several objects of `object_type` in one pass over the cache.
    pub fn invalidate_many(&self, object_type: &str, ids: &[&str]) {
        if let (Some(invalidate), false) = (&self.shared.invalidate, ids.is_empty()) {
            invalidate(object_type, ids);
        }
    }

    async fn run(&self, request: Request<Body>) -> Result<Response<Bytes>, HubSpotError> {
        // The token is taken before the check, so `close` cannot finish waiting between them.
        let _in_flight = self.shared.tracker.token();
        if self.shared.tracker.is_closed() {
            return Err(HubSpotError::Closed);
        }
        self.shared
            .service
            .clone()
            .oneshot(request)
            .await
            .map_err(|error| HubSpotError::from(HttpError::from(error)))
    }

    /// Sends one call and returns the raw response.
    ///
    /// A write (a request that is not idempotent: create, update, the batch writes) that may
    /// have reached HubSpot without an answer saying whether it was applied fails with
    /// [`HubSpotError::OutcomeUnknown`]: a transport failure or timeout after it may have been
    /// written, or a 5xx other than 503.
    pub(crate) async fn execute(&self, call: Call) -> Result<Response<Bytes>, HubSpotError> {
        let request = call.into_request()?;
        if is_idempotent(&request) {
            return self.run(request).await;
        }
        let operation = request
            .extensions()
            .get::<Operation>()
            .map_or(Cow::Borrowed("request"), |operation| operation.0.clone());
        match self.run(request).await {
            Ok(response) if may_have_been_applied(response.status()) => {
                Err(HubSpotError::OutcomeUnknown {
                    operation,
                    source: HttpError::Api(ApiError::from_response(&response)),
                })
            }
            Ok(response) => Ok(response),
            Err(error) => Err(error.for_write(operation)),
        }
    }

    /// Sends one call and decodes a 2xx body into `T`; any other status is an error.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<T, HubSpotError> {
        let response = self.execute(call).await?;
        decode(&response)
    }
}
