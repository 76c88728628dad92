//! [`HubSpotClientBuilder`]: the default stack with your settings.

use std::time::Duration;

use http::HeaderValue;
use integrations_config::{
    BaseUrl, BreakerConfig, CacheConfig, HubSpotConfig, PoolConfig, RetryConfig, Secret,
};

use resilience_ratelimit_redis::FleetStore;

use crate::client::HubSpotClient;
use crate::error::BuildError;
use crate::stack::{self, RateLimitSettings, StackConfig};

/// Builds a [`HubSpotClient`] over the default stack.
///
/// Starts from [`HubSpotConfig::new`]'s production defaults (or the config given to
/// [`config`](Self::config)); each setter overrides one setting, and each layer's setter takes
/// `None` to switch that layer off.
///
/// ```
/// use std::time::Duration;
/// use client_hubspot::HubSpotClient;
///
/// let client = HubSpotClient::builder()
///     .token("pat-na1-00000000")
///     .base_url("http://127.0.0.1:8787")
///     .timeout(Duration::from_secs(5))
///     .cache(None)
///     .build()?;
/// # let _ = client;
/// # Ok::<(), client_hubspot::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HubSpotClientBuilder {
    stack: StackConfig,
    base_url: Option<String>,
}

impl Default for HubSpotClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl HubSpotClientBuilder {
    /// A builder with the production defaults and no token.
    pub fn new() -> Self {
        Self {
            stack: StackConfig::from_config(&HubSpotConfig::new("")),
            base_url: None,
        }
    }

    /// Takes every setting from `config` (token, base URL, timeout, retry, breaker, cache,
    /// pool, metrics); a [`rate_limit_store`](Self::rate_limit_store) set before is kept.
    pub fn config(mut self, config: HubSpotConfig) -> Self {
        let store = self.stack.rate_limit_store.take();
        self.stack = StackConfig::from_config(&config);
        self.stack.rate_limit_store = store;
        self.base_url = None;
        self
    }

    /// The token (private-app, OAuth or service key).
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.stack.token = token.into();
        self
    }

    /// The API base URL (default `https://api.hubapi.com`); checked by
    /// [`build`](Self::build).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The timeout of one attempt (default 30 s).
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.stack.attempt_timeout = timeout.into();
        self
    }

    /// The timeout of the whole call, retries included.
    pub fn total_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.stack.total_timeout = timeout.into();
        self
    }

    /// Connection-pool settings.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.stack.pool = pool;
        self
    }

    /// The largest response body read into memory (default 32 MiB).
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.stack.max_response_body = bytes;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, value: HeaderValue) -> Self {
        self.stack.user_agent = value;
        self
    }

    /// Retry settings; `None` switches retry off.
    pub fn retry(mut self, retry: impl Into<Option<RetryConfig>>) -> Self {
        self.stack.retry = retry.into();
        self
    }

    /// Circuit-breaker settings; `None` switches the breaker off.
    pub fn breaker(mut self, breaker: impl Into<Option<BreakerConfig>>) -> Self {
        self.stack.breaker = breaker.into();
        self
    }

    /// Cache settings; `None` switches the cache off.
    pub fn cache(mut self, cache: impl Into<Option<CacheConfig>>) -> Self {
        self.stack.cache = cache.into();
        self
    }

    /// Client-side rate limit; `None` switches the limiter off.
    pub fn rate_limit(mut self, rate_limit: impl Into<Option<RateLimitSettings>>) -> Self {
        self.stack.rate_limit = rate_limit.into();
        self
    }

    /// Where the rate limiter keeps its state (default `None`: in memory, one budget per
    /// client). A [`FleetStore::Redis`] shares one budget per HubSpot account with every
    /// process on the same Redis; see [`StackConfig::rate_limit_store`].
    pub fn rate_limit_store(mut self, store: impl Into<Option<FleetStore>>) -> Self {
        self.stack.rate_limit_store = store.into();
        self
    }

    /// The metrics prefix (default `hubspot`); `None` records no client metrics.
    pub fn metrics(mut self, prefix: Option<&str>) -> Self {
        self.stack.metrics_prefix = prefix.map(str::to_owned);
        self
    }

    /// The stack settings as they stand.
    pub fn stack_config(&self) -> &StackConfig {
        &self.stack
    }

    /// Builds the stack and the client.
    ///
    /// # Errors
    ///
    /// [`BuildError::MissingToken`] without a token, [`BuildError::BaseUrl`] for a base URL
    /// that is not an http(s) URL, or any error of [`stack::build`].
    pub fn build(mut self) -> Result<HubSpotClient, BuildError> {
        if let Some(url) = self.base_url.take() {
            self.stack.base_url = BaseUrl::parse(&url)?;
        }
        if self.stack.token.expose().trim().is_empty() {
            return Err(BuildError::MissingToken);
        }
        Ok(HubSpotClient::from_stack(stack::build(&self.stack)?))
    }
}
