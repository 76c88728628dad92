//! `integrations serve`: the webhook service, until ctrl-c or SIGTERM.

use std::time::Duration;

use obs_metrics::PrometheusConfig;
use serde_json::json;

use super::health::checker;
use super::sync::{plan, progress_mode};
use crate::app::Context;
use crate::cli::ServeArgs;
use crate::clients;
use crate::error::{CliError, require_env};
use crate::output::Report;
use crate::serve::{ServeConfig, Server};
use crate::sync::{ResultSink, SyncEngine, SyncProgress};

/// Serves until a shutdown signal, then shuts down gracefully (see [`Server::shutdown`]).
///
/// # Errors
///
/// [`CliError`] for bad configuration (the secret variable, the clients' variables, the
/// options), an address that cannot be bound, or a spool that cannot be written.
pub async fn run(ctx: Context, args: ServeArgs) -> Result<Report, CliError> {
    let plan = plan(&args.options).await?;
    let secret = require_env(&args.secret_env)?;
    // Installed before the clients exist, so every layer's metrics reach it.
    let exporter = PrometheusConfig::new()
        .install()
        .map_err(|e| CliError::failed("cannot install the metrics recorder", e))?;
    let hubspot = clients::hubspot_from_env()?;
    let manychat = clients::manychat_from_env()?;
    let engine = SyncEngine::new(hubspot.clone(), manychat.clone(), plan)
        .concurrency(args.options.concurrency);
    let sink = ResultSink::append(&args.results)?;
    let progress = SyncProgress::new();
    let reporter = progress.report(
        if ctx.terminal {
            progress_mode(&ctx)
        } else {
            crate::sync::ProgressMode::Log(Duration::from_secs(30))
        },
        "serve",
    );
    let config = ServeConfig {
        listen: args.listen,
        queue_capacity: args.queue_capacity,
        workers: args.workers,
        spool: Some(args.spool.clone()),
        secret,
        public_url: args.public_url.clone(),
        plain_http: args.plain_http,
        drain: Duration::from_secs(args.drain_secs),
    };
    let server = Server::start(
        config,
        engine,
        sink,
        progress,
        checker(Some(hubspot.clone()), Some(manychat.clone())),
        Some(exporter),
    )
    .await?;
    ctx.printer.line(
        &json!({
            "listening": server.addr().to_string(),
            "webhook": format!("http://{}{}", server.addr(), crate::serve::WEBHOOK_PATH),
        })
        .to_string(),
    );
    super::shutdown_signal().await;
    tracing::info!("shutting down: finishing running work, spooling the queue");
    let stats = server.shutdown().await;
    reporter.finish();
    hubspot.close().await;
    manychat.close().await;
    let stats = stats?;
    let result = serde_json::to_value(&stats).unwrap_or_default();
    Ok(Report::success(result)
        .output("accepted", stats.accepted)
        .output("spooled", stats.spooled)
        .output("synced", stats.sync.synced))
}
