//! The `integrations` command-line tool: HubSpot and ManyChat from Kestra tasks and shells.
//!
//! The binary (`integrations`) is a thin `main` over [`app::main`]. The library holds what the
//! binary is made of, so it can be tested and reused:
//!
//! - [`kestra`]: Kestra's stdout protocol (`::{"outputs":..}::`, `::{"metrics":[..]}::`,
//!   `::{"logs":[..]}::`), formatted exactly as Kestra's `^::(\{.*})::$` rule reads it.
//! - [`output`]: a command's [`Report`] (JSON result, Kestra outputs and metrics, status) and
//!   the exit code policy: non-zero only when the work failed.
//! - [`logging`]: `tracing` to stdout (text, JSON or Kestra log lines), never stderr.
//! - [`cli`] and [`commands`]: the commands.
//!
//! # Example
//!
//! ```
//! use integrations_cli::kestra::{Metric, metrics_line, outputs_line, parse_line};
//! use serde_json::json;
//!
//! let outputs = json!({"synced": 3, "failed": 0});
//! let line = outputs_line(outputs.as_object().unwrap());
//! assert_eq!(line, r#"::{"outputs":{"failed":0,"synced":3}}::"#);
//!
//! let line = metrics_line(&[Metric::counter("messages_sent", 3.0).tag("channel", "manychat")]);
//! assert!(parse_line(&line).is_some());
//! ```

pub mod app;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod error;
pub mod kestra;
pub mod logging;
pub mod output;
pub mod serve;
pub mod sync;
pub mod webhook_events;

pub use app::main;
pub use error::CliError;
pub use output::{Report, Status};
