//! Building the API clients from the environment (secrets never leave their `Secret`).

use client_hubspot::HubSpotClient;
use client_manychat::ManyChatClient;
use integrations_config::{HubSpotConfig, ManyChatConfig};

use crate::error::CliError;

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

/// A HubSpot client from a config.
///
/// # Errors
///
/// As [`hubspot_from_env`].
pub fn hubspot(config: HubSpotConfig) -> Result<HubSpotClient, CliError> {
    HubSpotClient::new(config).map_err(|e| match e {
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
