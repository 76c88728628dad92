//! Logging through `tracing` to **stdout** (a stderr line marks a Kestra task as WARNING).
//!
//! Format: human text on a terminal, JSON lines otherwise, and in Kestra mode Kestra's own
//! `::{"logs":[{"level":..,"message":..}]}::` lines so that warnings and errors keep their level
//! in the Kestra UI.

use std::fmt;

use clap::ValueEnum;
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::kestra::{LogLevel, log_line};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Text on a terminal, Kestra lines in Kestra mode, JSON otherwise.
    Auto,
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
    /// Kestra `::{"logs":[...]}::` lines.
    Kestra,
}

impl LogFormat {
    /// Resolves `Auto` for the given situation.
    pub fn resolve(self, terminal: bool, kestra: bool) -> Self {
        match self {
            Self::Auto if kestra => Self::Kestra,
            Self::Auto if terminal => Self::Text,
            Self::Auto => Self::Json,
            other => other,
        }
    }
}

/// Installs the global subscriber writing to stdout. `filter` is an `EnvFilter` directive
/// (`RUST_LOG` wins when set). Safe to call twice (the second call does nothing).
pub fn init(format: LogFormat, filter: &str, terminal: bool) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Text | LogFormat::Auto => {
            builder.with_ansi(terminal).with_target(false).try_init()
        }
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Kestra => builder.event_format(KestraFormat::new()).try_init(),
    };
}

/// Formats each event as one Kestra `logs` line, keeping its level.
#[derive(Debug)]
pub struct KestraFormat {
    inner: Format<tracing_subscriber::fmt::format::Compact, ()>,
}

impl KestraFormat {
    /// The formatter: the message and fields in compact text, no time, no level (the level is
    /// the entry's own field).
    pub fn new() -> Self {
        Self {
            inner: tracing_subscriber::fmt::format()
                .compact()
                .without_time()
                .with_level(false)
                .with_target(false)
                .with_ansi(false),
        }
    }
}

impl Default for KestraFormat {
    fn default() -> Self {
        Self::new()
    }
}

impl<S, N> FormatEvent<S, N> for KestraFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut text = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut text), event)?;
        let level = LogLevel::from(*event.metadata().level());
        writeln!(writer, "{}", log_line(level, text.trim_end()))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::kestra::parse_line;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn kestra_log_lines_keep_the_level_and_stay_on_one_line() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(KestraFormat::new())
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(contact_id = 7, "first line\nsecond line");
            tracing::error!("boom");
        });
        let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default())
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let warn = parse_line(lines[0]).expect("a Kestra line");
        assert_eq!(warn["logs"][0]["level"], "WARN");
        let message = warn["logs"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("first line\nsecond line") && message.contains("contact_id=7"));
        let error = parse_line(lines[1]).expect("a Kestra line");
        assert_eq!(error["logs"][0]["level"], "ERROR");
    }

    #[test]
    fn auto_format_follows_the_situation() {
        assert_eq!(LogFormat::Auto.resolve(true, false), LogFormat::Text);
        assert_eq!(LogFormat::Auto.resolve(false, false), LogFormat::Json);
        assert_eq!(LogFormat::Auto.resolve(true, true), LogFormat::Kestra);
        assert_eq!(LogFormat::Json.resolve(false, true), LogFormat::Json);
    }
}
