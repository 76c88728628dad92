//! Parsing, logging set-up, the runtime and dispatch.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use client_hubspot::stack::RateLimitSettings;

use crate::cli::{Cli, Command};
use crate::clients::HubSpotOverrides;
use crate::commands;
use crate::error::CliError;
use crate::kestra;
use crate::logging;
use crate::output::{OutputFormat, Printer, Report};

/// What every command gets: how to print, and the global switches.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The printer for results.
    pub printer: Printer,
    /// Whether stdout is a terminal (progress bars, colours).
    pub terminal: bool,
    /// `--allow-partial`.
    pub allow_partial: bool,
}

impl Context {
    /// Whether Kestra lines are printed.
    pub fn kestra(&self) -> bool {
        self.printer.kestra
    }
}

/// Runs the binary with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version are "errors" that print to stdout and exit 0; real usage
            // errors go to stdout too (stderr marks a Kestra task as WARNING), exit 2.
            let code = if error.use_stderr() { 2 } else { 0 };
            print!("{}", error.render());
            return ExitCode::from(code);
        }
    };
    run(cli)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let terminal = std::io::stdout().is_terminal();
    let kestra = cli.global.kestra || kestra::detect(|name| std::env::var(name).ok());
    let format = cli.global.output.unwrap_or(if terminal {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    });
    let filter = if cli.global.quiet {
        "error".to_owned()
    } else {
        cli.global.log_level.clone()
    };
    logging::init(
        cli.global.log_format.resolve(terminal, kestra),
        &filter,
        terminal,
    );
    let ctx = Context {
        printer: Printer { format, kestra },
        terminal,
        allow_partial: cli.global.allow_partial,
    };
    match crate::clients::rate_limit_store(
        cli.global.rate_limit_redis_url.as_deref(),
        cli.global.rate_limit_redis_workers,
    ) {
        Ok(store) => {
            if let Some(store) = &store {
                tracing::debug!(?store, "the hubspot rate budget is shared through redis");
            }
            let rate_limit = cli
                .global
                .hubspot_rate_limit
                .map(|limit| RateLimitSettings::new(limit.max_requests, limit.interval));
            crate::clients::set_hubspot_overrides(
                HubSpotOverrides::new()
                    .rate_limit_store(store)
                    .rate_limit(rate_limit),
            );
        }
        Err(error) => {
            ctx.printer.print_error(error.kind(), &error.chain());
            return ExitCode::from(error.exit_code());
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            ctx.printer.print_error("runtime", &error.to_string());
            return ExitCode::from(crate::output::EXIT_FAILED);
        }
    };
    let result = runtime.block_on(dispatch(ctx, cli.command));
    // Background tasks (servers, pools) are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(report) => {
            ctx.printer.print(&report);
            report.exit_code(ctx.allow_partial)
        }
        Err(error) => {
            ctx.printer.print_error(error.kind(), &error.chain());
            ExitCode::from(error.exit_code())
        }
    }
}

async fn dispatch(ctx: Context, command: Command) -> Result<Report, CliError> {
    match command {
        Command::Sandbox(args) => commands::sandbox::run(ctx, args).await,
        Command::Webhook(cmd) => commands::webhook::run(ctx, cmd).await,
        Command::Hubspot(args) => commands::hubspot::run(ctx, args).await,
        Command::Manychat(args) => commands::manychat::run(ctx, args).await,
        Command::Sync(args) => commands::sync::run(ctx, args).await,
        Command::Health(args) => commands::health::run(ctx, args).await,
        Command::Serve(args) => commands::serve::run(ctx, args).await,
        Command::Demo(args) => commands::demo::run(ctx, args).await,
    }
}
