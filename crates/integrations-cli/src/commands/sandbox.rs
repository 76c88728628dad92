//! `integrations sandbox`: the HubSpot and ManyChat simulator, standalone.

use std::net::{Ipv4Addr, SocketAddr};

use api_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

use crate::app::Context;
use crate::cli::SandboxArgs;
use crate::error::CliError;
use crate::output::{OutputFormat, Report};

/// Starts the sandbox, prints its URLs and tokens (the sandbox's own, public test tokens), and
/// serves until ctrl-c or SIGTERM.
///
/// # Errors
///
/// [`CliError::Input`] for a bad option, [`CliError::Failed`] when the port cannot be bound.
pub async fn run(ctx: Context, args: SandboxArgs) -> Result<Report, CliError> {
    let config = SandboxConfig {
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        seed: args.seed,
        contacts: args.contacts,
        time_scale: args.time_scale,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.map_err(|e| match e {
        api_sandbox::StartError::Config(msg) => CliError::Input(msg),
        other => CliError::failed("cannot start the sandbox", other),
    })?;
    let info = json!({
        "listening": sandbox.addr().to_string(),
        "HUBSPOT_BASE_URL": sandbox.hubspot_url(),
        "HUBSPOT_TOKEN": sandbox.hubspot_token(),
        "HUBSPOT_READONLY_TOKEN": api_sandbox::DEFAULT_HUBSPOT_READONLY_TOKEN,
        "MANYCHAT_BASE_URL": sandbox.manychat_url(),
        "MANYCHAT_API_KEY": sandbox.manychat_token(),
        "admin": sandbox.admin_url(),
    });
    match ctx.printer.format {
        OutputFormat::Json => ctx.printer.line(&info.to_string()),
        OutputFormat::Table => {
            ctx.printer
                .line(&format!("api-sandbox listening on {}", sandbox.addr()));
            for key in [
                "HUBSPOT_BASE_URL",
                "HUBSPOT_TOKEN",
                "HUBSPOT_READONLY_TOKEN",
                "MANYCHAT_BASE_URL",
                "MANYCHAT_API_KEY",
            ] {
                let value = info[key].as_str().unwrap_or_default();
                ctx.printer.line(&format!("export {key}={value}"));
            }
            ctx.printer.line("press Ctrl-C to stop");
        }
    }
    tracing::info!(addr = %sandbox.addr(), "sandbox serving");
    super::shutdown_signal().await;
    let requests = sandbox.log().len();
    sandbox.shutdown().await;
    Ok(Report::success(
        json!({ "stopped": true, "requests": requests }),
    ))
}
