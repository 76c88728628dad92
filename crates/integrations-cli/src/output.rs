//! What a command hands back, and how it is printed: a JSON result (or a table), Kestra output
//! and metric lines, and the exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::{Map, Value};

use crate::kestra::{self, Metric};

/// `--output`: how the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One JSON document on one line (the default when stdout is not a terminal).
    Json,
    /// An aligned text table (the default on a terminal).
    Table,
}

/// How the work went, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything succeeded: exit 0.
    Success,
    /// Some items failed: exit 1, or 0 with `--allow-partial`.
    Partial,
    /// The work failed: exit 1.
    Failed,
}

/// Exit code: the work failed (or partly failed without `--allow-partial`).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage, configuration or input; nothing was done.
pub const EXIT_USAGE: u8 = 2;

/// A command's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The JSON result printed to stdout.
    pub result: Value,
    /// Kestra outputs (`::{"outputs":..}::`), printed in Kestra mode.
    pub outputs: Map<String, Value>,
    /// Kestra metrics (`::{"metrics":[..]}::`), printed in Kestra mode.
    pub metrics: Vec<Metric>,
    /// The outcome.
    pub status: Status,
    /// Text printed after the result and the Kestra lines (the demo's metrics).
    pub trailer: Option<String>,
}

impl Report {
    /// A successful report with `result` and no Kestra outputs.
    pub fn success(result: Value) -> Self {
        Self {
            result,
            outputs: Map::new(),
            metrics: Vec::new(),
            status: Status::Success,
            trailer: None,
        }
    }

    /// Sets the status.
    #[must_use]
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Adds a Kestra output.
    #[must_use]
    pub fn output(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.outputs.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a Kestra metric.
    #[must_use]
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metrics.push(metric);
        self
    }

    /// The exit code for this report.
    pub fn exit_code(&self, allow_partial: bool) -> ExitCode {
        match self.status {
            Status::Success => ExitCode::SUCCESS,
            Status::Partial if allow_partial => ExitCode::SUCCESS,
            Status::Partial | Status::Failed => ExitCode::from(EXIT_FAILED),
        }
    }
}

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Result format.
    pub format: OutputFormat,
    /// Print Kestra lines.
    pub kestra: bool,
}

impl Printer {
    /// Prints a report: the result, then (in Kestra mode) its outputs and metrics lines.
    pub fn print(&self, report: &Report) {
        let mut text = match self.format {
            OutputFormat::Json => serde_json::to_string(&report.result).unwrap_or_default(),
            OutputFormat::Table => render_table(&report.result),
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if self.kestra {
            if !report.outputs.is_empty() {
                text.push_str(&kestra::outputs_line(&report.outputs));
                text.push('\n');
            }
            if !report.metrics.is_empty() {
                text.push_str(&kestra::metrics_line(&report.metrics));
                text.push('\n');
            }
        }
        if let Some(trailer) = &report.trailer {
            text.push_str(trailer);
            if !trailer.ends_with('\n') {
                text.push('\n');
            }
        }
        write_stdout(&text);
    }

    /// Prints a failure that stopped the command (on stdout: stderr would mark a Kestra task
    /// as WARNING; the exit code already fails it).
    pub fn print_error(&self, kind: &str, message: &str) {
        let value = serde_json::json!({ "error": { "kind": kind, "message": message } });
        let mut text = match self.format {
            OutputFormat::Json => serde_json::to_string(&value).unwrap_or_default(),
            OutputFormat::Table => format!("error ({kind}): {message}"),
        };
        text.push('\n');
        if self.kestra {
            text.push_str(&kestra::log_line(
                kestra::LogLevel::Error,
                &format!("{kind}: {message}"),
            ));
            text.push('\n');
            let mut outputs = Map::new();
            outputs.insert("error".to_owned(), Value::String(message.to_owned()));
            text.push_str(&kestra::outputs_line(&outputs));
            text.push('\n');
        }
        write_stdout(&text);
    }

    /// Prints one line as it is (progress, a URL): stdout, flushed.
    pub fn line(&self, text: &str) {
        write_stdout(&format!("{text}\n"));
    }
}

fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader left) is not worth a panic.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Renders JSON as a text table: an array of objects gets one column per key, an object gets
/// `key  value` rows, anything else is printed as JSON.
pub fn render_table(value: &Value) -> String {
    match value {
        Value::Array(rows) if rows.iter().all(Value::is_object) && !rows.is_empty() => {
            let mut columns: Vec<String> = Vec::new();
            for row in rows {
                if let Value::Object(map) = row {
                    for key in map.keys() {
                        if !columns.contains(key) {
                            columns.push(key.clone());
                        }
                    }
                }
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .map(|c| row.get(c).map(cell).unwrap_or_default())
                        .collect()
                })
                .collect();
            let mut table = vec![columns];
            table.extend(cells);
            align(&table)
        }
        Value::Object(map) => {
            let rows: Vec<Vec<String>> =
                map.iter().map(|(k, v)| vec![k.clone(), cell(v)]).collect();
            align(&rows)
        }
        other => cell(other),
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn align(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; width];
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(c);
            } else {
                line.push_str(c);
                line.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exit_codes_follow_status_and_allow_partial() {
        let ok = Report::success(json!({}));
        assert_eq!(ok.exit_code(false), ExitCode::SUCCESS);
        let partial = ok.clone().status(Status::Partial);
        assert_eq!(partial.exit_code(false), ExitCode::from(EXIT_FAILED));
        assert_eq!(partial.exit_code(true), ExitCode::SUCCESS);
        let failed = ok.status(Status::Failed);
        assert_eq!(failed.exit_code(true), ExitCode::from(EXIT_FAILED));
    }

    #[test]
    fn tables_align_columns() {
        let text =
            render_table(&json!([{"id": "1", "email": "a@x.io"}, {"id": "22", "email": null}]));
        assert_eq!(text, "email   id\na@x.io  1\n        22\n");
        let text = render_table(&json!({"synced": 3, "failed": 0}));
        assert_eq!(text, "failed  0\nsynced  3\n");
    }
}
