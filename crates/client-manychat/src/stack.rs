//! The default stack, composed in exactly one function: [`build`].
//!
//! ```text
//!  typed call (Operation / Cacheable extensions)
//!   1. metrics         {prefix}_api_requests_total, _duration_seconds, _in_flight    [obs-metrics]
//!   2. cache           page reads only, when on; a hit never goes further             [resilience-cache]
//!   3. total deadline  one timeout over the whole call, retries included              [resilience-retry]
//!   4. retry           backoff + budget; sends only when NotSent or throttled         [resilience-retry]
//!   5. breaker         every attempt is an outcome; open = fast error                 [resilience-breaker]
//!   6. rate limiter    one key per endpoint (sendContent 25/s, sendFlow 20/s, ...)    [resilience-ratelimit]
//!   7. attempt timeout                                                                [tower timeout]
//!   8. tracing         tower-http TraceLayer, Authorization marked sensitive          [tower-http]
//!   9. base URI + auth + user agent (the token only for the API's origin)             [integrations-http]
//!  10. transport       pooled hyper-util client, rustls, HTTP/1.1 + HTTP/2            [integrations-http]
//! ```
//!
//! Every layer that judges outcomes uses [`ManyChatClassifier`]: the workspace's HTTP rules,
//! plus ManyChat's body `status` (a 200 carrying `"status":"error"` is neutral: never cached,
//! never retried, never opens the breaker).
//!
//! Every layer is type-erased to a [`ManyChatService`] as it is applied, so a layer switched off
//! (`None`) is simply absent, and a layer of your own can go anywhere: build your stack around
//! [`transport`] and hand it to [`ManyChatClient::with_service`](crate::ManyChatClient::with_service).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use integrations_config::{
    BaseUrl, BreakerConfig, CacheConfig, Environment, ManyChatConfig, PoolConfig, RetryConfig,
    Secret,
};
use integrations_http::{
    BaseUriLayer, BearerAuthLayer, Body, DEFAULT_MAX_RESPONSE_BODY, HttpClient, UserAgentLayer,
};
use obs_metrics::{HttpStatus, MetricsLayer, StatusLabel};
use resilience_breaker::{Breaker, CircuitBreakerLayer};
use resilience_cache::{CacheLayer, HttpResponseCache, KeyFn};
use resilience_core::BoxError;
use resilience_core::extensions::{Cacheable, Operation};
use resilience_ratelimit::{HttpKey, Quota, RateLimitLayer};
use resilience_retry::{Backoff, DeadlineLayer, Jitter, RetryLayer, RetryPolicy};
use tower::timeout::TimeoutLayer;
use tower::util::BoxCloneSyncServiceLayer;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::classify::{BodyStatus, ManyChatClassifier, body_status};
use crate::client::ManyChatService;
use crate::error::BuildError;

/// The `User-Agent` the default stack sends.
pub const USER_AGENT: &str = concat!("integrations-client-manychat/", env!("CARGO_PKG_VERSION"));

/// ManyChat's documented limits, in requests per second per page token, by endpoint path
/// (the Swagger's `Limit` of each operation). Each listed endpoint gets its own limiter key;
/// an endpoint not listed shares one bucket of [`DEFAULT_ENDPOINT_LIMIT`].
pub const ENDPOINT_LIMITS: &[(&str, u32)] = &[
    ("/fb/page/getInfo", 100),
    ("/fb/page/getTags", 100),
    ("/fb/page/createTag", 10),
    ("/fb/page/removeTag", 10),
    ("/fb/page/removeTagByName", 10),
    ("/fb/page/getWidgets", 100),
    ("/fb/page/getGrowthTools", 100),
    ("/fb/page/getFlows", 10),
    ("/fb/page/getCustomFields", 100),
    ("/fb/page/createCustomField", 10),
    ("/fb/page/getOtnTopics", 100),
    ("/fb/page/getBotFields", 100),
    ("/fb/page/createBotField", 10),
    ("/fb/page/setBotField", 10),
    ("/fb/page/setBotFieldByName", 10),
    ("/fb/page/setBotFields", 10),
    ("/fb/sending/sendContent", 25),
    ("/fb/sending/sendContentByUserRef", 25),
    ("/fb/sending/sendFlow", 20),
    ("/fb/subscriber/getInfo", 10),
    ("/fb/subscriber/findByName", 10),
    ("/fb/subscriber/findByCustomField", 10),
    ("/fb/subscriber/findBySystemField", 50),
    ("/fb/subscriber/addTag", 10),
    ("/fb/subscriber/addTagByName", 10),
    ("/fb/subscriber/removeTag", 10),
    ("/fb/subscriber/removeTagByName", 10),
    ("/fb/subscriber/setCustomField", 10),
    ("/fb/subscriber/setCustomFields", 10),
    ("/fb/subscriber/setCustomFieldByName", 10),
    ("/fb/subscriber/verifyBySignedRequest", 10),
    ("/fb/subscriber/createSubscriber", 10),
    ("/fb/subscriber/updateSubscriber", 10),
];

/// The limit of the shared bucket of every endpoint not in [`ENDPOINT_LIMITS`]
/// (`getInfoByUserRef` states none).
pub const DEFAULT_ENDPOINT_LIMIT: u32 = 10;

/// The client-side rate limits: one limiter key per endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// Requests per second by endpoint path ([`ENDPOINT_LIMITS`]).
    pub endpoints: Vec<(&'static str, u32)>,
    /// Requests per second of every other endpoint ([`DEFAULT_ENDPOINT_LIMIT`]).
    pub default_per_second: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            endpoints: ENDPOINT_LIMITS.to_vec(),
            default_per_second: DEFAULT_ENDPOINT_LIMIT,
        }
    }
}

impl RateLimitSettings {
    /// The limit of the endpoint at `path`.
    pub fn limit_for(&self, path: &str) -> u32 {
        self.endpoints
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(self.default_per_second, |(_, limit)| *limit)
    }
}

/// Everything [`build`] needs: where, who, and each layer's settings (`None` switches a layer
/// off).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StackConfig {
    /// The API base URL.
    pub base_url: BaseUrl,
    /// The token (`<page_id>:<api_key>`), sent as `Authorization: Bearer` to the base URL's
    /// origin only.
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
    /// Cache settings (page reads only).
    pub cache: Option<CacheConfig>,
    /// Client-side rate limits.
    pub rate_limit: Option<RateLimitSettings>,
    /// The metrics prefix (`manychat` gives `manychat_api_requests_total`); `None` records none.
    pub metrics_prefix: Option<String>,
    /// The environment the defaults came from.
    pub environment: Environment,
}

/// The total timeout that covers every attempt and the longest backoff between them.
fn total_timeout(attempt: Duration, retry: &RetryConfig) -> Duration {
    let retries = retry.max_retries;
    attempt * (retries + 1) + retry.max_delay * retries
}

impl StackConfig {
    /// The stack settings of a validated [`ManyChatConfig`].
    pub fn from_config(config: &ManyChatConfig) -> Self {
        Self {
            base_url: config.base_url.clone(),
            token: config.bearer_token().clone(),
            attempt_timeout: Some(config.timeout),
            total_timeout: Some(total_timeout(config.timeout, &config.retry)),
            pool: config.pool.clone(),
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            user_agent: HeaderValue::from_static(USER_AGENT),
            retry: (config.retry.max_retries > 0).then(|| config.retry.clone()),
            breaker: config.breaker.enabled.then(|| config.breaker.clone()),
            cache: config.cache.enabled.then(|| config.cache.clone()),
            rate_limit: Some(RateLimitSettings::default()),
            metrics_prefix: config.metrics_enabled.then(|| "manychat".to_owned()),
            environment: config.environment,
        }
    }

    /// The production defaults with no token (what [`ManyChatClientBuilder`] starts from).
    ///
    /// [`ManyChatClientBuilder`]: crate::ManyChatClientBuilder
    pub fn defaults(environment: Environment) -> Self {
        let retry = RetryConfig::for_environment(environment);
        let timeout = environment.request_timeout();
        Self {
            base_url: BaseUrl::parse(ManyChatConfig::DEFAULT_BASE_URL)
                .expect("the default base URL is valid"),
            token: Secret::new(String::new()),
            attempt_timeout: Some(timeout),
            total_timeout: Some(total_timeout(timeout, &retry)),
            pool: PoolConfig::for_environment(environment),
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            user_agent: HeaderValue::from_static(USER_AGENT),
            retry: (retry.max_retries > 0).then_some(retry),
            breaker: Some(BreakerConfig::for_environment(environment)),
            cache: None,
            rate_limit: Some(RateLimitSettings::default()),
            metrics_prefix: Some("manychat".to_owned()),
            environment,
        }
    }
}

/// The layer every stage of the stack is erased to.
type StageLayer =
    BoxCloneSyncServiceLayer<ManyChatService, Request<Body>, Response<Bytes>, BoxError>;

/// `layer` as a stage of the stack, or a pass-through when it is `None`.
fn stage<L>(layer: Option<L>) -> StageLayer
where
    L: Layer<ManyChatService> + Send + Sync + 'static,
    L::Service: Service<Request<Body>, Response = Response<Bytes>> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request<Body>>>::Error: Into<BoxError>,
    <L::Service as Service<Request<Body>>>::Future: Send + 'static,
{
    let layer = Arc::new(layer);
    BoxCloneSyncServiceLayer::new(tower::layer::layer_fn(
        move |inner: ManyChatService| match layer.as_ref() {
            Some(layer) => ManyChatService::new(layer.layer(inner).map_err(Into::into)),
            None => inner,
        },
    ))
}

/// What [`build`] made: the service, and handles on the stateful layers.
#[derive(Clone)]
#[non_exhaustive]
pub struct BuiltStack {
    /// The whole stack.
    pub service: ManyChatService,
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
pub fn build_over(config: &StackConfig, inner: ManyChatService) -> Result<BuiltStack, BuildError> {
    let cache = match &config.cache {
        Some(settings) => Some(
            HttpResponseCache::new(
                "manychat",
                resilience_cache::CacheConfig::new(settings.ttl)
                    .max_entries(u64::try_from(settings.capacity).unwrap_or(u64::MAX)),
            )
            .map_err(|error| BuildError::Layer {
                layer: "cache",
                message: error.to_string(),
            })?,
        ),
        None => None,
    };
    let metrics = config
        .metrics_prefix
        .as_deref()
        .map(|prefix| {
            MetricsLayer::new(prefix)
                .map(|layer| layer.status_label(status_label as StatusFn))
                .map_err(|error| BuildError::Layer {
                    layer: "metrics",
                    message: error.to_string(),
                })
        })
        .transpose()?;
    let retry = config.retry.as_ref().map(retry_layer).transpose()?;
    let rate_limit = config
        .rate_limit
        .as_ref()
        .map(rate_limit_layer)
        .transpose()?;
    let breaker = config.breaker.as_ref().map(breaker_of).transpose()?;
    let service = ServiceBuilder::new()
        // 1. Metrics for the logical call: `{prefix}_api_requests_total{operation,status}`,
        //    `_duration_seconds`, `_in_flight`; a 200 refusal is labelled `api_error`.
        .layer(stage(metrics))
        // 2. Cache: page reads marked `Cacheable`; only `status: "success"` answers are kept.
        .layer(stage(cache.clone().map(|cache| {
            CacheLayer::new(cache)
                .key_fn(cacheable_only as fn(&Request<Body>) -> Option<String>)
                .classifier(ManyChatClassifier::new())
        })))
        // 3. Total deadline over the whole call, retries and waits included; published to the
        //    layers below as a `Deadline` extension (no retry or wait that cannot fit).
        .layer(stage(config.total_timeout.map(DeadlineLayer::new)))
        // 4. Retry: failures and throttling, with backoff and a budget. A send or other write
        //    is repeated only when it provably did not leave (`NotSent`) or was throttled
        //    (429, 503 with `Retry-After`) before ManyChat processed it.
        .layer(stage(retry))
        // 5. Circuit breaker: every attempt is an outcome (a 200 refusal and a caller's 4xx are
        //    neutral, throttling never counts); open = a fast `BreakerOpen` that says when.
        .layer(stage(breaker.clone().map(|breaker| {
            CircuitBreakerLayer::with_classifier(breaker, ManyChatClassifier::new())
        })))
        // 6. Rate limiter: one key per endpoint path, each with ManyChat's documented limit;
        //    waits inside the deadline, pauses a key after a 429.
        .layer(stage(rate_limit))
        // 7. Timeout of one attempt.
        .layer(stage(config.attempt_timeout.map(TimeoutLayer::new)))
        // 8. Tracing of each attempt.
        .layer(stage(Some(tower::layer::layer_fn(traced))))
        // 9 and 10. Base URI, auth, user agent, transport.
        .service(inner);
    Ok(BuiltStack {
        service,
        breaker,
        cache,
    })
}

/// A breaker named `manychat` with `settings` (one per client, so clients of separate pages
/// never trip each other).
fn breaker_of(settings: &BreakerConfig) -> Result<Breaker, BuildError> {
    let mut builder = resilience_breaker::BreakerConfig::builder()
        .failure_rate(settings.failure_rate_threshold)
        .window(settings.window, 10)
        .minimum_calls(settings.minimum_calls)
        .open_duration(
            settings.open_duration,
            settings.open_duration_multiplier,
            settings.max_open_duration,
        )
        .half_open_probes(settings.half_open_probes);
    builder = if settings.consecutive_failures == 0 {
        builder.no_consecutive_failures()
    } else {
        builder.consecutive_failures(settings.consecutive_failures)
    };
    let config = builder.build().map_err(|error| BuildError::Layer {
        layer: "circuit_breaker",
        message: error.to_string(),
    })?;
    Ok(Breaker::new("manychat", config))
}

/// The retry layer of `settings`, judging attempts with [`ManyChatClassifier`].
fn retry_layer(settings: &RetryConfig) -> Result<RetryLayer<ManyChatClassifier>, BuildError> {
    let invalid = |error: resilience_retry::ConfigError| BuildError::Layer {
        layer: "retry",
        message: error.to_string(),
    };
    let jitter = if settings.jitter {
        Jitter::Full
    } else {
        Jitter::None
    };
    let backoff =
        Backoff::exponential(settings.base_delay, settings.multiplier, settings.max_delay)
            .map_err(invalid)?
            .with_jitter(jitter);
    let policy = RetryPolicy::builder("manychat")
        .classifier(ManyChatClassifier::new())
        .max_attempts(settings.max_retries.saturating_add(1))
        .backoff(backoff)
        .max_retry_after(settings.max_retry_after)
        .build()
        .map_err(invalid)?;
    Ok(RetryLayer::new(policy))
}

/// The cache key of a request marked `Cacheable` (page reads), and no key (not cached) for any
/// other request, subscriber reads included.
fn cacheable_only(request: &Request<Body>) -> Option<String> {
    request.extensions().get::<Cacheable>()?;
    resilience_cache::HttpKey::new().key(request)
}

type StatusFn = fn(&Result<Response<Bytes>, BoxError>) -> &'static str;

/// The metrics `status` label: the shared HTTP labels, plus `api_error` for a 2xx answer whose
/// body says `"status": "error"` (ManyChat's 200 refusals).
fn status_label(result: &Result<Response<Bytes>, BoxError>) -> &'static str {
    match result {
        Ok(response)
            if response.status().is_success()
                && body_status(response.body()) == BodyStatus::Error =>
        {
            "api_error"
        }
        other => HttpStatus.status(other),
    }
}

/// The rate limiter of `settings`: one bucket per endpoint path (`HttpKey::by_path`), each
/// allowing its count in any rolling second with a burst of a fifth of it.
fn rate_limit_layer(
    settings: &RateLimitSettings,
) -> Result<RateLimitLayer<HttpKey, ManyChatClassifier>, BuildError> {
    let quota = |per_second: u32| {
        let burst = NonZeroU32::new((per_second / 5).max(1)).unwrap_or(NonZeroU32::MIN);
        Quota::within_rolling_window(per_second, Duration::from_secs(1), burst).map_err(|error| {
            BuildError::Layer {
                layer: "rate_limit",
                message: error.to_string(),
            }
        })
    };
    let mut layer = RateLimitLayer::new("manychat", quota(settings.default_per_second)?)
        .with_key_fn(HttpKey::by_path())
        .with_classifier(ManyChatClassifier::new());
    for (path, per_second) in &settings.endpoints {
        layer = layer.with_quota(*path, quota(*per_second)?);
    }
    Ok(layer)
}

/// The bottom of the stack: base URI, bearer auth (for the base URL's origin only), user
/// agent, and the pooled transport. Build your own stack on it and pass it to
/// [`ManyChatClient::with_service`](crate::ManyChatClient::with_service).
///
/// # Errors
///
/// Returns [`BuildError`] when the base URL or the token cannot be used, or the transport
/// cannot be built.
pub fn transport(config: &StackConfig) -> Result<ManyChatService, BuildError> {
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
    Ok(ManyChatService::new(service))
}

/// Wraps `inner` in tower-http's `TraceLayer`: one span per attempt, named by the operation,
/// with any `Authorization` header marked sensitive (so it never prints).
fn traced(inner: ManyChatService) -> ManyChatService {
    let service = ServiceBuilder::new()
        // The trace layer wraps the body in its own type; read it back into `Bytes` (a whole
        // `Full` body is ready at once).
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
                        "manychat.attempt",
                        operation,
                        method = %request.method(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                .on_failure(DefaultOnFailure::new().level(Level::WARN))
                // Nothing per body frame or at the end of the body.
                .on_body_chunk(())
                .on_eos(()),
        )
        .map_response(|response: Response<Bytes>| response.map(Full::new))
        .service(inner);
    ManyChatService::new(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_its_documented_limit() {
        let limits = RateLimitSettings::default();
        assert_eq!(limits.limit_for("/fb/sending/sendContent"), 25);
        assert_eq!(limits.limit_for("/fb/sending/sendFlow"), 20);
        assert_eq!(limits.limit_for("/fb/subscriber/findBySystemField"), 50);
        assert_eq!(limits.limit_for("/fb/subscriber/getInfo"), 10);
        assert_eq!(limits.limit_for("/fb/page/getInfo"), 100);
        assert_eq!(limits.limit_for("/fb/subscriber/addTag"), 10);
    }

    #[test]
    fn every_endpoint_the_client_calls_has_its_own_key() {
        let limits = RateLimitSettings::default();
        for endpoint in crate::api::endpoints::ALL {
            assert!(
                limits
                    .endpoints
                    .iter()
                    .any(|(path, _)| *path == endpoint.path),
                "{} would share the default bucket",
                endpoint.path
            );
        }
    }

    #[test]
    fn total_timeout_covers_attempts_and_backoff() {
        let config = ManyChatConfig::from_parts("1234567", "key").expect("config");
        let stack = StackConfig::from_config(&config);
        let retry = &config.retry;
        assert_eq!(
            stack.total_timeout,
            Some(config.timeout * (retry.max_retries + 1) + retry.max_delay * retry.max_retries)
        );
        assert_eq!(stack.metrics_prefix.as_deref(), Some("manychat"));
        assert!(
            stack.cache.is_none(),
            "the manychat cache is off by default"
        );
    }
}
