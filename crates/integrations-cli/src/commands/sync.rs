//! `integrations sync`: HubSpot contacts (ids, a search, or a webhook payload) → ManyChat.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::hubspot::{collect_ids, search_request};
use super::read_input;
use crate::app::Context;
use crate::cli::{SyncArgs, SyncOptions};
use crate::clients;
use crate::error::CliError;
use crate::output::{Report, Status};
use crate::sync::{
    ProgressMode, ResultSink, SendAction, SyncEngine, SyncPlan, SyncProgress, SyncSummary,
};
use crate::webhook_events;

/// Runs a sync.
///
/// # Errors
///
/// [`CliError`] for bad configuration or input (nothing is sent then), or when the result
/// file cannot be written. Contacts that fail are records, and make the status partial.
pub async fn run(ctx: Context, args: SyncArgs) -> Result<Report, CliError> {
    let plan = plan(&args.options).await?;
    let hubspot = clients::hubspot_from_env()?;
    let manychat = clients::manychat_from_env()?;
    let ids = if args.from_search {
        let request = search_request(&args.search)?;
        let mut stream = hubspot
            .contacts()
            .objects()
            .search(request)
            .take(args.search.max);
        let mut ids = Vec::new();
        while let Some(item) = stream.next().await {
            ids.push(item.map_err(|e| CliError::failed("hubspot search", e))?.id);
        }
        ids
    } else if let Some(path) = &args.webhook_payload {
        let raw = read_input(path).await?;
        webhook_events::contact_ids(&raw).map_err(CliError::Input)?
    } else {
        collect_ids(args.ids.clone(), args.ids_file.as_deref()).await?
    };
    let sink = ResultSink::create(&args.results)?;
    let engine = SyncEngine::new(hubspot.clone(), manychat.clone(), plan)
        .concurrency(args.options.concurrency);
    let progress = SyncProgress::new();
    let reporter = progress.report(progress_mode(&ctx), "sync");
    let summary = engine.run(ids, &sink, &progress).await;
    reporter.finish();
    hubspot.close().await;
    manychat.close().await;
    let summary = summary?;
    Ok(summary_report(
        &summary,
        &args.results.display().to_string(),
    ))
}

/// The progress display for a context: a bar on a terminal, log lines every 5 s otherwise.
pub fn progress_mode(ctx: &Context) -> ProgressMode {
    if ctx.terminal {
        ProgressMode::Bar
    } else {
        ProgressMode::Log(Duration::from_secs(5))
    }
}

/// A report for a finished sync: the counts, the results file, Kestra outputs and metrics.
pub fn summary_report(summary: &SyncSummary, results_file: &str) -> Report {
    let status = if summary.failed == 0 {
        Status::Success
    } else if summary.failed == summary.total {
        Status::Failed
    } else {
        Status::Partial
    };
    let mut result = serde_json::to_value(summary).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut result {
        map.insert("results_file".to_owned(), json!(results_file));
    }
    let mut report = Report::success(result).status(status);
    report.outputs = summary.outputs();
    report
        .outputs
        .insert("results_file".to_owned(), json!(results_file));
    report.metrics = summary.metrics();
    report
}

/// The plan from the command-line options, validated before anything is sent.
///
/// # Errors
///
/// [`CliError::Input`] when nothing would be sent or tagged, or the message file is invalid.
pub async fn plan(options: &SyncOptions) -> Result<SyncPlan, CliError> {
    let action = if let Some(text) = &options.text {
        client_manychat::Message::text(text.clone()).map_err(|e| CliError::Input(e.to_string()))?;
        SendAction::Text(text.clone())
    } else if let Some(path) = &options.message_file {
        let raw = read_input(path).await?;
        let value: Value = serde_json::from_slice(&raw)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
        client_manychat::Message::from_json(&value)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
        SendAction::Content(value)
    } else if let Some(flow) = &options.flow {
        if flow.trim().is_empty() {
            return Err(CliError::Input("--flow must not be empty".to_owned()));
        }
        SendAction::Flow(flow.clone())
    } else if options.tag.is_some() {
        SendAction::None
    } else {
        return Err(CliError::Input(
            "nothing to do: give --text, --message-file, --flow or --tag".to_owned(),
        ));
    };
    Ok(SyncPlan {
        action,
        tag: options.tag.clone(),
        message_tag: options.message_tag.clone(),
    })
}
