//! Building the API clients from the environment (secrets never leave their `Secret`).

use std::num::NonZeroU32;
use std::sync::OnceLock;

use client_hubspot::stack::RateLimitSettings;
use client_hubspot::{FleetStore, HubSpotClient};
use client_manychat::ManyChatClient;
use integrations_config::{HubSpotConfig, ManyChatConfig};

use crate::error::CliError;

/// What the global flags change in every HubSpot client this process builds, set once at
/// start-up.
static HUBSPOT_OVERRIDES: OnceLock<HubSpotOverrides> = OnceLock::new();

/// The flag and variable named in errors about the Redis URL.
const REDIS_URL_SETTING: &str = "--rate-limit-redis-url (RATE_LIMIT_REDIS_URL)";

/// What the global flags change in every HubSpot client of the process.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct HubSpotOverrides {
    /// The rate limiter's store (`--rate-limit-redis-url`); `None`: in memory, one budget per
    /// client.
    pub rate_limit_store: Option<FleetStore>,
    /// The client-side rate limit (`--hubspot-rate-limit`); `None`: the default, 100 per 10 s.
    pub rate_limit: Option<RateLimitSettings>,
}

impl HubSpotOverrides {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the rate limiter's store.
    pub fn rate_limit_store(mut self, store: Option<FleetStore>) -> Self {
        self.rate_limit_store = store;
        self
    }

    /// Sets the client-side rate limit.
    pub fn rate_limit(mut self, rate_limit: Option<RateLimitSettings>) -> Self {
        self.rate_limit = rate_limit;
        self
    }
}

/// The HubSpot rate-limit store for `--rate-limit-redis-url` / `RATE_LIMIT_REDIS_URL`: Redis
/// (one budget per HubSpot account for every process on it) when a URL is given, else `None`
/// (each client keeps an in-memory budget). `workers` is how many processes may share the
/// budget at once; each uses `1 / workers` of it while Redis is unreachable (default 4).
/// Building it connects to nothing.
///
/// # Errors
///
/// [`CliError::InvalidSetting`] (exit 2) for a URL that does not parse; the URL is not
/// repeated, since it may hold a password.
pub fn rate_limit_store(
    url: Option<&str>,
    workers: Option<u32>,
) -> Result<Option<FleetStore>, CliError> {
    let store = FleetStore::from_url(url, |builder| {
        let builder = builder.service("hubspot");
        match workers.and_then(NonZeroU32::new) {
            Some(workers) => builder.expected_workers(workers),
            None => builder,
        }
    })
    .map_err(|error| CliError::InvalidSetting {
        name: REDIS_URL_SETTING,
        reason: crate::error::chain(&error),
    })?;
    Ok(store.redis().is_some().then_some(store))
}

/// Makes `overrides` apply to every HubSpot client this process builds with [`hubspot`] or
/// [`hubspot_from_env`]. Only the first call has an effect; returns whether it was this one.
pub fn set_hubspot_overrides(overrides: HubSpotOverrides) -> bool {
    HUBSPOT_OVERRIDES.set(overrides).is_ok()
}

/// The overrides set with [`set_hubspot_overrides`], if any.
pub fn hubspot_overrides() -> Option<&'static HubSpotOverrides> {
    HUBSPOT_OVERRIDES.get()
}

/// A HubSpot client from `HUBSPOT_TOKEN` and the other `HUBSPOT_*` variables.
///
/// # Errors
///
/// [`CliError::Config`] naming every bad variable, or [`CliError::Failed`] when the client
/// cannot be built.
pub fn hubspot_from_env() -> Result<HubSpotClient, CliError> {
    let config = HubSpotConfig::from_env()?;
    hubspot(config)
}

/// A HubSpot client from a config, with the process's [`HubSpotOverrides`] (rate-limit store
/// and rate limit) when they were set.
///
/// # Errors
///
/// As [`hubspot_from_env`].
pub fn hubspot(config: HubSpotConfig) -> Result<HubSpotClient, CliError> {
    let build = || -> Result<HubSpotClient, client_hubspot::BuildError> {
        config.validate()?;
        let mut builder = HubSpotClient::builder().config(config);
        if let Some(overrides) = hubspot_overrides() {
            builder = builder.rate_limit_store(overrides.rate_limit_store.clone());
            if let Some(rate_limit) = &overrides.rate_limit {
                builder = builder.rate_limit(rate_limit.clone());
            }
        }
        builder.build()
    };
    build().map_err(|e| match e {
        client_hubspot::BuildError::Config(errors) => CliError::Config(errors),
        other => CliError::failed("cannot build the hubspot client", other),
    })
}

/// A ManyChat client from `MANYCHAT_API_KEY` (and `MANYCHAT_PAGE_ID`) and the other
/// `MANYCHAT_*` variables.
///
/// # Errors
///
/// As [`hubspot_from_env`].
pub fn manychat_from_env() -> Result<ManyChatClient, CliError> {
    let config = ManyChatConfig::from_env()?;
    manychat(config)
}

/// A ManyChat client from a config.
///
/// # Errors
///
/// As [`hubspot_from_env`].
pub fn manychat(config: ManyChatConfig) -> Result<ManyChatClient, CliError> {
    ManyChatClient::new(config).map_err(|e| match e {
        client_manychat::BuildError::Config(errors) => CliError::Config(errors),
        other => CliError::failed("cannot build the manychat client", other),
    })
}
