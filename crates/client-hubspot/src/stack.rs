//! The default stack, composed in exactly one function: [`build`].
//!
//! ```text
//!  typed call (Operation / Idempotent / Cacheable extensions)
//!   1. metrics         {prefix}_api_requests_total, _duration_seconds, _in_flight    [obs-metrics]
//!   2. cache           idempotent reads; a hit never goes further                     [resilience-cache]
//!   3. total deadline  one timeout over the whole call, retries included              [resilience-retry]
//!   4. retry           backoff + budget; never repeats a non-idempotent request       [resilience-retry]
//!   5. breaker         every attempt is an outcome; open = fast error                 [resilience-breaker]
//!   6. rate limiter    learns X-HubSpot-RateLimit-*; search on its own 5/s key        [resilience-ratelimit]
//!   7. attempt timeout                                                                [tower timeout]
//!   8. tracing         tower-http TraceLayer, Authorization marked sensitive          [tower-http]
//!   9. base URI + auth + user agent (the token only for the API's origin)             [integrations-http]
//!  10. transport       pooled hyper-util client, rustls, HTTP/1.1 + HTTP/2            [integrations-http]
//! ```
//!
//! A layer switched off (`None`) is a branch past it (`tower::util::Either`), not a
//! pass-through service, and the stack is type-erased to a [`HubSpotService`] once, at the
//! end, rather than layer by layer (a box per layer costs an allocation per clone and per call).
//! To add a layer of your own, wrap [`BuiltStack::service`] and pass the [`BuiltStack`] to
//! [`HubSpotClient::from_stack`](crate::HubSpotClient::from_stack); to put the default layers
//! over a transport of your own, use [`build_over`]; to replace the stack, build yours around
//! [`transport`] and hand it to [`HubSpotClient::with_service`](crate::HubSpotClient::with_service).
//!
//! What each layer costs: `cargo run --release -p client-hubspot --example overhead` (see
//! `docs/hubspot.md`, "Overhead").

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use integrations_config::{
    BaseUrl, BreakerConfig, CacheConfig, Environment, HubSpotConfig, PoolConfig, RetryConfig,
    Secret,
};
use integrations_http::{
    BaseUriLayer, BearerAuthLayer, Body, DEFAULT_MAX_RESPONSE_BODY, HttpClient, UserAgentLayer,
};
use obs_metrics::MetricsLayer;
use resilience_breaker::{Breaker, CircuitBreakerLayer};
use resilience_cache::{CacheLayer, HttpResponseCache};
use resilience_core::BoxError;
use resilience_core::extensions::Operation;
use resilience_ratelimit::{
    DEFAULT_MAX_WAIT, HUBSPOT_SEARCH_CLASS, HttpKey, HttpSignals, InMemoryStore, InvalidQuota,
    NoSignals, Quota, RateLimitLayer,
};
use resilience_ratelimit_redis::{FleetStore, RedisStore};
use resilience_retry::{Backoff, DeadlineLayer, Jitter, RetryLayer, RetryPolicy};
use std::num::NonZeroU32;
use tower::timeout::TimeoutLayer;
use tower::util::{Either, MapErr};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::classify::HubSpotClassifier;
use crate::client::{HubSpotService, Invalidate};
use crate::error::BuildError;
use crate::request::encode;

/// The `User-Agent` the default stack sends.
pub const USER_AGENT: &str = concat!("integrations-client-hubspot/", env!("CARGO_PKG_VERSION"));

/// The client-side rate limit: HubSpot's burst window, and the separate search limit.
///
/// The limiter starts from these numbers and then follows what HubSpot's
/// `X-HubSpot-RateLimit-Max` / `-Interval-Milliseconds` / `-Remaining` headers say. Search
/// responses carry no such headers, so search has its own fixed key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// Requests allowed per [`interval`](Self::interval) before any header was seen (100:
    /// HubSpot's lowest private-app tier).
    pub max_requests: u32,
    /// The window of `max_requests` (10 s).
    pub interval: Duration,
    /// Search requests per second (5).
    pub search_per_second: u32,
    /// Whether to learn the limit from response headers (true).
    pub learn_from_headers: bool,
    /// The longest a call waits for a permit (5 s); never past the call's deadline. A call
    /// that would wait longer fails at once with a local rejection.
    pub max_wait: Duration,
}

impl RateLimitSettings {
    /// `max_requests` per `interval` until headers say otherwise, search at 5/s, learning on,
    /// waits up to 5 s.
    pub fn new(max_requests: u32, interval: Duration) -> Self {
        Self {
            max_requests,
            interval,
            ..Self::default()
        }
    }

    /// Sets the search requests per second.
    pub fn search_per_second(mut self, per_second: u32) -> Self {
        self.search_per_second = per_second;
        self
    }

    /// Switches learning from response headers on or off.
    pub fn learn_from_headers(mut self, learn: bool) -> Self {
        self.learn_from_headers = learn;
        self
    }

    /// Sets the longest wait for a permit.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            max_requests: 100,
            interval: Duration::from_secs(10),
            search_per_second: 5,
            learn_from_headers: true,
            max_wait: DEFAULT_MAX_WAIT,
        }
    }
}

/// Everything [`build`] needs: where, who, and each layer's settings (`None` switches a layer
/// off).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StackConfig {
    /// The API base URL.
    pub base_url: BaseUrl,
    /// The token, sent as `Authorization: Bearer` to the base URL's origin only.
    pub token: Secret,
    /// The timeout of one attempt.
    pub attempt_timeout: Option<Duration>,
    /// The timeout of the whole call, retries and waits included.
    pub total_timeout: Option<Duration>,
    /// Connection-pool settings.
    pub pool: PoolConfig,
    /// The largest response body read into memory.
    pub max_response_body: usize,
    /// The `User-Agent` header.
    pub user_agent: HeaderValue,
    /// Retry settings.
    pub retry: Option<RetryConfig>,
    /// Circuit-breaker settings.
    pub breaker: Option<BreakerConfig>,
    /// Cache settings.
    pub cache: Option<CacheConfig>,
    /// Client-side rate limit.
    pub rate_limit: Option<RateLimitSettings>,
    /// The metrics prefix (`hubspot` gives `hubspot_api_requests_total`); `None` records none.
    pub metrics_prefix: Option<String>,
    /// The environment the defaults came from.
    pub environment: Environment,
    /// Where the rate limiter keeps its state. `None` (the default): a fresh in-memory store
    /// for each stack built, so one client (and its clones) has one budget. `Some`: that
    /// store, shared by every stack built with it; a
    /// [`FleetStore::Redis`] shares one budget per HubSpot account with every process on the
    /// same Redis (see `docs/fleet.md`), e.g.
    /// `FleetStore::from_env(|b| b.service("hubspot"))`.
    pub rate_limit_store: Option<FleetStore>,
}

impl StackConfig {
    /// The stack settings of a validated [`HubSpotConfig`].
    ///
    /// The total timeout covers every attempt and the longest backoff between them.
    pub fn from_config(config: &HubSpotConfig) -> Self {
        let retries = config.retry.max_retries;
        // Saturating: a config that skipped validation (huge timeouts or retry counts) gets a
        // deadline that never elapses, not an overflow panic.
        let total = config
            .timeout
            .saturating_mul(retries.saturating_add(1))
            .saturating_add(config.retry.max_delay.saturating_mul(retries));
        Self {
            base_url: config.base_url.clone(),
            token: config.token.clone(),
            attempt_timeout: Some(config.timeout),
            total_timeout: Some(total),
            pool: config.pool.clone(),
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            user_agent: HeaderValue::from_static(USER_AGENT),
            retry: (retries > 0).then(|| config.retry.clone()),
            breaker: config.breaker.enabled.then(|| config.breaker.clone()),
            cache: config.cache.enabled.then(|| config.cache.clone()),
            rate_limit: Some(RateLimitSettings::default()),
            metrics_prefix: config.metrics_enabled.then(|| "hubspot".to_owned()),
            environment: config.environment,
            rate_limit_store: None,
        }
    }
}

/// A layer of the stack that is present or switched off, with its error boxed.
///
/// Its service is an [`Either`] of the layered service and the inner one, so a switched-off
/// layer costs a branch, and the whole stack is boxed once, at the end, instead of once per
/// layer (each box costs an allocation per clone and per call).
#[derive(Debug, Clone)]
struct Stage<L>(Option<L>);

/// The error of a stage.
type StageError<L, S> = <<L as Layer<S>>::Service as Service<Request<Body>>>::Error;

fn boxed<E: Into<BoxError>>(error: E) -> BoxError {
    error.into()
}

impl<L, S> Layer<S> for Stage<L>
where
    L: Layer<S>,
    L::Service: Service<Request<Body>>,
    StageError<L, S>: Into<BoxError>,
{
    type Service = Either<MapErr<L::Service, fn(StageError<L, S>) -> BoxError>, S>;

    fn layer(&self, inner: S) -> Self::Service {
        match &self.0 {
            Some(layer) => Either::Left(MapErr::new(
                layer.layer(inner),
                boxed::<StageError<L, S>> as fn(_) -> _,
            )),
            None => Either::Right(inner),
        }
    }
}

fn stage<L>(layer: Option<L>) -> Stage<L> {
    Stage(layer)
}

/// The default stack, outermost layer first, with handles on its breaker and cache.
///
/// # Errors
///
/// Returns [`BuildError`] when the base URL, the token, the transport or a layer's settings
/// are refused.
pub fn build(config: &StackConfig) -> Result<BuiltStack, BuildError> {
    build_over(config, transport(config)?)
}

/// The default stack's layers 1 to 8 (metrics down to tracing) over `inner` instead of
/// [`transport`]: for a transport of your own, or a test service.
///
/// `inner` receives relative URIs and no credentials, as [`transport`] does.
///
/// # Errors
///
/// Returns [`BuildError`] when a layer's settings are refused.
pub fn build_over(config: &StackConfig, inner: HubSpotService) -> Result<BuiltStack, BuildError> {
    let cache = config.cache.as_ref().map(response_cache).transpose()?;
    let invalidate = cache.clone().map(invalidator);
    let breaker = config.breaker.as_ref().map(circuit_breaker).transpose()?;
    let retry = config.retry.as_ref().map(retry_policy).transpose()?;
    let metrics = config
        .metrics_prefix
        .as_deref()
        .map(metrics_layer)
        .transpose()?;
    let limiter = config
        .rate_limit
        .as_ref()
        .map(|settings| rate_limiter(settings, config.rate_limit_store.as_ref()))
        .transpose()?;
    let service = ServiceBuilder::new()
        // 1. Metrics for the logical call: {prefix}_api_requests_total{operation,status},
        //    _duration_seconds{operation}, _in_flight{operation}.
        .layer(stage(metrics))
        // 2. Cache of idempotent reads (gets, batch reads); a hit goes no further.
        .layer(stage(cache.clone().map(|cache| {
            CacheLayer::new(cache).classifier(HubSpotClassifier::new())
        })))
        // 3. Total deadline over the whole call, retries and waits included; the layers below
        //    read it from the request (retry gives up on a wait that would not fit).
        .layer(stage(config.total_timeout.map(DeadlineLayer::new)))
        // 4. Retry with backoff, `Retry-After` and a budget; never a non-idempotent request
        //    that may have reached HubSpot, never a daily-limit 429.
        .layer(stage(retry.map(RetryLayer::new)))
        // 5. Circuit breaker: every attempt is an outcome (throttling and the caller's 4xx are
        //    neutral); open means a fast `Rejected` error that retry never repeats.
        .layer(stage(breaker.clone().map(|breaker| {
            CircuitBreakerLayer::with_classifier(breaker, HubSpotClassifier::new())
        })))
        // 6. Rate limiter: waits for a permit within the deadline, learns the account's limit
        //    from X-HubSpot-RateLimit-*, keeps search on its own 5/s bucket.
        .layer(stage(limiter))
        // 7. Timeout of one attempt.
        .layer(stage(config.attempt_timeout.map(TimeoutLayer::new)))
        // 8. Tracing of each attempt.
        .layer(stage(Some(tower::layer::layer_fn(traced))))
        // 9 and 10. Base URI, auth, user agent, transport.
        .service(inner);
    // The one box of the stack.
    let service = HubSpotService::new(service);
    Ok(BuiltStack {
        service,
        invalidate,
        breaker,
        cache,
    })
}

/// What [`build`] made: the service, and handles on the stateful layers.
#[derive(Clone)]
#[non_exhaustive]
pub struct BuiltStack {
    /// The whole stack.
    pub service: HubSpotService,
    /// Drops an object's cached reads (when the cache is on).
    pub invalidate: Option<Invalidate>,
    /// The circuit breaker (when on): its state, snapshot and operator overrides.
    pub breaker: Option<Breaker>,
    /// The response cache (when on): its stats, and invalidation.
    pub cache: Option<HttpResponseCache>,
}

impl std::fmt::Debug for BuiltStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltStack")
            .field("breaker", &self.breaker)
            .field("cache", &self.cache.as_ref().map(|c| c.name().to_owned()))
            .finish_non_exhaustive()
    }
}

/// The circuit breaker of the stack, from the shared [`BreakerConfig`], named `hubspot`. It
/// belongs to this client (and its clones).
fn circuit_breaker(config: &BreakerConfig) -> Result<Breaker, BuildError> {
    let mut builder = resilience_breaker::BreakerConfig::builder()
        .failure_rate(config.failure_rate_threshold)
        .minimum_calls(config.minimum_calls)
        .window(config.window, 10)
        .half_open_probes(config.half_open_probes)
        .open_duration(
            config.open_duration,
            config.open_duration_multiplier,
            config.max_open_duration,
        );
    builder = if config.consecutive_failures == 0 {
        builder.no_consecutive_failures()
    } else {
        builder.consecutive_failures(config.consecutive_failures)
    };
    let settings = builder.build().map_err(|error| BuildError::Layer {
        layer: "circuit_breaker",
        message: error.to_string(),
    })?;
    Ok(Breaker::new("hubspot", settings))
}

/// The response cache of the stack: per client (never shared between tokens), named `hubspot`.
fn response_cache(config: &CacheConfig) -> Result<HttpResponseCache, BuildError> {
    let settings = resilience_cache::CacheConfig::new(config.ttl)
        .max_entries(u64::try_from(config.capacity).unwrap_or(u64::MAX));
    HttpResponseCache::new("hubspot", settings).map_err(|error| BuildError::Layer {
        layer: "cache",
        message: error.to_string(),
    })
}

/// Drops an object's cached gets (`GET /crm/v3/objects/{type}/{id}...`), every cached get of
/// its type by a unique property (`?idProperty=`: the same object may hide behind its email),
/// and every cached batch read of its type (which may hold it).
fn invalidator(cache: HttpResponseCache) -> Invalidate {
    Arc::new(move |object_type: &str, ids: &[&str]| {
        let base = format!("/crm/v3/objects/{}", encode(object_type));
        let gets: Vec<String> = ids
            .iter()
            .map(|id| format!("GET {base}/{}", encode(id)))
            .collect();
        let any_get = format!("GET {base}/");
        let batch = format!("POST {base}/batch/read");
        cache.invalidate_if(|key: &String| {
            key.starts_with(batch.as_str())
                || (key.starts_with(any_get.as_str())
                    && (key.contains("idProperty=")
                        || gets.iter().any(|get| {
                            key.strip_prefix(get.as_str()).is_some_and(|rest| {
                                rest.is_empty() || rest.starts_with(['?', '\n'])
                            })
                        })))
        });
    })
}

/// The metrics layer of the stack.
fn metrics_layer(prefix: &str) -> Result<MetricsLayer, BuildError> {
    MetricsLayer::new(prefix).map_err(|error| BuildError::Layer {
        layer: "metrics",
        message: error.to_string(),
    })
}

/// The stack's rate-limit layer, learning from headers (`HttpSignals`) or not, on an
/// in-memory store or on Redis.
type HubSpotRateLimitLayer<H = HttpSignals, St = InMemoryStore> =
    RateLimitLayer<HttpKey, HubSpotClassifier, H, St>;

/// The rate-limit layer for each choice of signals and store. Each is its own type (a branch,
/// not a boxed store), so the in-memory store keeps its unboxed futures.
type StackRateLimiter = Either<
    Either<HubSpotRateLimitLayer, HubSpotRateLimitLayer<NoSignals>>,
    Either<
        HubSpotRateLimitLayer<HttpSignals, RedisStore>,
        HubSpotRateLimitLayer<NoSignals, RedisStore>,
    >,
>;

/// The rate limiter of the stack: HubSpot's rolling window (a burst of a tenth of it) and the
/// search bucket, judged by [`HubSpotClassifier`]; learning from headers unless switched off;
/// on `store` when given, else on a fresh in-memory store.
fn rate_limiter(
    settings: &RateLimitSettings,
    store: Option<&FleetStore>,
) -> Result<StackRateLimiter, BuildError> {
    let layer_error = |error: InvalidQuota| BuildError::Layer {
        layer: "rate_limit",
        message: error.to_string(),
    };
    let burst = NonZeroU32::new((settings.max_requests / 10).max(1)).unwrap_or(NonZeroU32::MIN);
    let general = Quota::within_rolling_window(settings.max_requests, settings.interval, burst)
        .map_err(layer_error)?;
    let search = Quota::within_rolling_window(
        settings.search_per_second,
        Duration::from_secs(1),
        NonZeroU32::MIN,
    )
    .map_err(layer_error)?;
    let layer = RateLimitLayer::new("hubspot", general)
        .with_quota(HUBSPOT_SEARCH_CLASS, search)
        .with_classifier(HubSpotClassifier::new())
        .with_max_wait(settings.max_wait);
    let learn = settings.learn_from_headers;
    Ok(match store {
        Some(FleetStore::Redis(redis)) => {
            let layer = layer.with_store(redis.clone());
            Either::Right(if learn {
                Either::Left(layer)
            } else {
                Either::Right(layer.with_signals(NoSignals))
            })
        }
        local => {
            let layer = match local {
                Some(FleetStore::Local(memory)) => layer.with_store(memory.clone()),
                _ => layer,
            };
            Either::Left(if learn {
                Either::Left(layer)
            } else {
                Either::Right(layer.with_signals(NoSignals))
            })
        }
    })
}

/// The retry policy of the stack, from the shared [`RetryConfig`].
fn retry_policy(config: &RetryConfig) -> Result<RetryPolicy<HubSpotClassifier>, BuildError> {
    let layer_error = |error: resilience_retry::ConfigError| BuildError::Layer {
        layer: "retry",
        message: error.to_string(),
    };
    let backoff = Backoff::exponential(config.base_delay, config.multiplier, config.max_delay)
        .map_err(layer_error)?;
    RetryPolicy::builder("hubspot")
        .classifier(HubSpotClassifier::new())
        .max_attempts(config.max_retries.saturating_add(1))
        .backoff(backoff)
        .jitter(if config.jitter {
            Jitter::Full
        } else {
            Jitter::None
        })
        .max_retry_after(config.max_retry_after)
        .build()
        .map_err(layer_error)
}

/// The bottom of the stack: base URI, bearer auth (for the base URL's origin only), user
/// agent, and the pooled transport. Build your own stack on it and pass it to
/// [`HubSpotClient::with_service`](crate::HubSpotClient::with_service).
///
/// # Errors
///
/// Returns [`BuildError`] when the base URL or the token cannot be used, or the transport
/// cannot be built.
pub fn transport(config: &StackConfig) -> Result<HubSpotService, BuildError> {
    let base = BaseUriLayer::new(config.base_url.as_uri().clone())?;
    let auth = BearerAuthLayer::new(base.base(), &config.token)?;
    let client = HttpClient::builder()
        .pool(config.pool.clone())
        .max_response_body(config.max_response_body)
        .build()?;
    let service = ServiceBuilder::new()
        // The base URI first: it makes request URIs absolute, so auth can check their origin.
        .layer(base)
        .layer(auth)
        .layer(UserAgentLayer::new(config.user_agent.clone()))
        .service(client)
        .map_err(Into::into);
    Ok(HubSpotService::new(service))
}

/// Wraps `inner` in tower-http's `TraceLayer`: one span per attempt, named by the operation,
/// with any `Authorization` header marked sensitive (so it never prints).
///
/// The span is at `DEBUG` and built from the operation name alone (no URI, no headers), so
/// when nothing subscribes at that level it costs a relaxed load and no allocation. Requests
/// and responses are logged at `DEBUG`, failures at `WARN`; body frames and the end of the
/// body are not (`()` callbacks), and a whole body is read with one poll, which spares the
/// trace body's clock reads for a second poll.
fn traced<S>(
    inner: S,
) -> impl Service<Request<Body>, Response = Response<Bytes>, Error = BoxError, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static
where
    S: Service<Request<Body>, Response = Response<Bytes>, Error = BoxError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    ServiceBuilder::new()
        // The trace layer wraps the body in its own type; read it back into `Bytes`.
        .and_then(integrations_http::body::into_bytes)
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    let operation = request
                        .extensions()
                        .get::<Operation>()
                        .map_or("unknown", Operation::as_str);
                    tracing::debug_span!(
                        "hubspot.attempt",
                        operation,
                        method = %request.method(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                .on_failure(DefaultOnFailure::new().level(Level::WARN))
                // Nothing per body frame or at the end of the body: the bodies are whole, and
                // the response line already says what matters.
                .on_body_chunk(())
                .on_eos(()),
        )
        .map_response(|response: Response<Bytes>| response.map(Full::new))
        .service(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unvalidated_config_with_huge_numbers_does_not_overflow() {
        let mut config = HubSpotConfig::new("pat-na1-x");
        config.timeout = Duration::MAX;
        config.retry.max_retries = u32::MAX;
        let stack = StackConfig::from_config(&config);
        assert_eq!(stack.total_timeout, Some(Duration::MAX));
        // Building and calling such a stack is a typed error or an answer, never a panic.
        let inner = HubSpotService::new(tower::service_fn(|_: Request<Body>| async {
            Ok::<_, BoxError>(Response::new(Bytes::from_static(b"{}")))
        }));
        if let Ok(built) = build_over(&stack, inner) {
            let response = built
                .service
                .oneshot(Request::new(Body::new(Bytes::new())))
                .await
                .unwrap();
            assert_eq!(response.body(), &Bytes::from_static(b"{}"));
        }
        let normal = StackConfig::from_config(&HubSpotConfig::new("pat-na1-x"));
        // 30 s × 4 attempts + 20 s × 3 backoffs.
        assert_eq!(normal.total_timeout, Some(Duration::from_secs(180)));
    }
}
