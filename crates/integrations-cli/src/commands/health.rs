//! `integrations health`: checks the configured APIs; health+json output; exit code by status.

use std::sync::Arc;

use client_hubspot::HubSpotClient;
use client_manychat::ManyChatClient;

use obs_health::{HealthChecker, Status as HealthStatus, check_fn};

use crate::app::Context;
use crate::cli::HealthArgs;
use crate::clients;
use crate::error::{CliError, require_env};
use crate::output::{Report, Status};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the checks. An API counts as configured when its token variable is set
/// (`HUBSPOT_TOKEN`, `MANYCHAT_API_KEY`); at least one must be.
///
/// Exit code: 0 for `pass` (and `warn` unless `--strict`), 1 for `fail`.
///
/// # Errors
///
/// [`CliError::Config`] when neither API is configured or a configuration is invalid.
pub async fn run(_ctx: Context, args: HealthArgs) -> Result<Report, CliError> {
    let hubspot = match require_env("HUBSPOT_TOKEN") {
        Ok(_) => Some(clients::hubspot_from_env()?),
        Err(_) => None,
    };
    let manychat = match require_env("MANYCHAT_API_KEY") {
        Ok(_) => Some(clients::manychat_from_env()?),
        Err(_) => None,
    };
    if hubspot.is_none() && manychat.is_none() {
        return Err(CliError::MissingEnv {
            name: "HUBSPOT_TOKEN or MANYCHAT_API_KEY".to_owned(),
        });
    }
    let checker = checker(hubspot, manychat);
    let response = checker.response().await;
    let status = match response.status {
        HealthStatus::Pass => Status::Success,
        HealthStatus::Warn if !args.strict => Status::Success,
        _ => Status::Failed,
    };
    let status_text = serde_json::to_value(response.status).unwrap_or_default();
    let result = serde_json::to_value(&response).unwrap_or_default();
    Ok(Report::success(result)
        .status(status)
        .output("status", status_text))
}

/// A checker with one check per client given (`hubspot`: account details; `manychat`: page
/// info), each required.
pub fn checker(hubspot: Option<HubSpotClient>, manychat: Option<ManyChatClient>) -> HealthChecker {
    let mut builder = HealthChecker::builder().version(env!("CARGO_PKG_VERSION"));
    if let Some(client) = hubspot {
        let client = Arc::new(client);
        builder = builder.check(check_fn("hubspot", move || {
            let client = Arc::clone(&client);
            async move {
                client
                    .health_check()
                    .await
                    .map(|_| ())
                    .map_err(|e| Box::new(e) as BoxError)
            }
        }));
    }
    if let Some(client) = manychat {
        let client = Arc::new(client);
        builder = builder.check(check_fn("manychat", move || {
            let client = Arc::clone(&client);
            async move {
                client
                    .health_check()
                    .await
                    .map(|_| ())
                    .map_err(|e| Box::new(e) as BoxError)
            }
        }));
    }
    builder.build()
}
