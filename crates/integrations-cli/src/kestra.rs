//! Kestra's stdout protocol: `::{"outputs":{...}}::`, `::{"metrics":[...]}::` and
//! `::{"logs":[...]}::` lines, formatted exactly as Kestra's `^::(\{.*})::$` rule reads them.
//!
//! Kestra reads every line a script task prints; a line is a command only when the whole line
//! is `::` + one JSON object + `::`. The JSON must not contain a line break, and Java's `.` also
//! stops at U+0085, U+2028 and U+2029, which `serde_json` would print raw inside strings: this
//! module escapes them, so any value (a contact's name included) keeps the line valid.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

/// The environment variable that forces Kestra mode on (`1`, `true`) or off (`0`, `false`).
pub const KESTRA_ENV_OVERRIDE: &str = "INTEGRATIONS_KESTRA";

/// Variables a Kestra script task runner sets for the process (`WORKING_DIR` always;
/// `OUTPUT_DIR` and `BUCKET_PATH` when enabled).
pub const KESTRA_RUNNER_VARS: [&str; 3] = ["WORKING_DIR", "OUTPUT_DIR", "BUCKET_PATH"];

/// A metric's type: Kestra accepts only `counter` and `timer` on these lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A count, stored by Kestra as a double.
    Counter,
    /// A duration in seconds (a float: `2.12` is 2.12 s).
    Timer,
}

/// One entry of a `::{"metrics":[...]}::` line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Metric name.
    pub name: String,
    /// `counter` or `timer`.
    #[serde(rename = "type")]
    pub kind: MetricKind,
    /// The value: a count, or seconds for a timer.
    pub value: f64,
    /// Optional string tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Metric {
    /// A counter.
    pub fn counter(name: impl Into<String>, value: f64) -> Self {
        Self {
            name: name.into(),
            kind: MetricKind::Counter,
            value,
            tags: BTreeMap::new(),
        }
    }

    /// A timer, in seconds.
    pub fn timer(name: impl Into<String>, value: Duration) -> Self {
        Self {
            name: name.into(),
            kind: MetricKind::Timer,
            value: value.as_secs_f64(),
            tags: BTreeMap::new(),
        }
    }

    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// A log level Kestra knows (SLF4J names, uppercase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// `TRACE`
    Trace,
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `WARN`
    Warn,
    /// `ERROR`
    Error,
}

impl From<tracing::Level> for LogLevel {
    fn from(level: tracing::Level) -> Self {
        match level {
            tracing::Level::TRACE => Self::Trace,
            tracing::Level::DEBUG => Self::Debug,
            tracing::Level::INFO => Self::Info,
            tracing::Level::WARN => Self::Warn,
            tracing::Level::ERROR => Self::Error,
        }
    }
}

#[derive(Serialize)]
struct LogEntry<'a> {
    level: LogLevel,
    message: &'a str,
}

/// Formats an outputs line: `::{"outputs":{...}}::`.
pub fn outputs_line(outputs: &Map<String, Value>) -> String {
    let mut object = Map::new();
    object.insert("outputs".to_owned(), Value::Object(outputs.clone()));
    line(&Value::Object(object))
}

/// Formats a metrics line: `::{"metrics":[...]}::`. Entries with a non-finite value (which
/// JSON cannot carry) are left out.
pub fn metrics_line(metrics: &[Metric]) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        metrics: Vec<&'a Metric>,
    }
    let metrics = metrics.iter().filter(|m| m.value.is_finite()).collect();
    line(&Line { metrics })
}

/// Formats a logs line: `::{"logs":[{"level":"INFO","message":"..."}]}::`.
pub fn log_line(level: LogLevel, message: &str) -> String {
    let value = serde_json::json!({ "logs": [LogEntry { level, message }] });
    line(&value)
}

/// `::` + the JSON object on one line + `::`, with the characters Java treats as line
/// terminators escaped.
fn line<T: Serialize>(value: &T) -> String {
    // Serialising these types cannot fail (string keys, finite numbers).
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let mut out = String::with_capacity(json.len() + 4);
    out.push_str("::");
    for c in json.chars() {
        match c {
            '\u{0085}' => out.push_str("\\u0085"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push_str("::");
    out
}

/// Parses a line the way Kestra does: the whole line must match `^::(\{.*})::$` (with `.` not
/// crossing a line terminator) and the capture must be a JSON object. Returns the object.
pub fn parse_line(line: &str) -> Option<Map<String, Value>> {
    let inner = line.strip_prefix("::")?.strip_suffix("::")?;
    if !inner.starts_with('{') || !inner.ends_with('}') {
        return None;
    }
    if inner
        .chars()
        .any(|c| matches!(c, '\n' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}'))
    {
        return None;
    }
    match serde_json::from_str(inner) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Whether the process runs inside a Kestra task: [`KESTRA_ENV_OVERRIDE`] decides when set
/// (`1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`), otherwise any variable a Kestra task
/// runner sets ([`KESTRA_RUNNER_VARS`]) being present turns it on.
pub fn detect(lookup: impl Fn(&str) -> Option<String>) -> bool {
    if let Some(value) = lookup(KESTRA_ENV_OVERRIDE) {
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => return true,
            "0" | "false" | "no" | "off" => return false,
            _ => {}
        }
    }
    KESTRA_RUNNER_VARS
        .iter()
        .any(|name| lookup(name).is_some_and(|v| !v.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn outputs_line_matches_the_documented_example() {
        let line = outputs_line(&obj(
            json!({"test": "value", "int": 2, "bool": true, "float": 3.65}),
        ));
        assert!(line.starts_with("::{\"outputs\":{"));
        assert!(line.ends_with("}}::"));
        let parsed = parse_line(&line).expect("kestra parses it");
        assert_eq!(
            Value::Object(parsed),
            json!({"outputs": {"test": "value", "int": 2, "bool": true, "float": 3.65}})
        );
    }

    #[test]
    fn metrics_line_has_kestras_field_names() {
        let line = metrics_line(&[
            Metric::counter("count", 1.0).tag("tag1", "i"),
            Metric::timer("time", Duration::from_millis(2120)),
        ]);
        assert_eq!(
            line,
            r#"::{"metrics":[{"name":"count","type":"counter","value":1.0,"tags":{"tag1":"i"}},{"name":"time","type":"timer","value":2.12}]}::"#
        );
        assert!(parse_line(&line).is_some());
    }

    #[test]
    fn non_finite_metrics_are_left_out() {
        let line = metrics_line(&[
            Metric::counter("bad", f64::NAN),
            Metric::counter("good", 3.0),
        ]);
        let parsed = parse_line(&line).expect("valid");
        assert_eq!(parsed["metrics"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn log_line_uses_slf4j_level_names() {
        let line = log_line(LogLevel::Warn, "careful");
        assert_eq!(
            line,
            r#"::{"logs":[{"level":"WARN","message":"careful"}]}::"#
        );
    }

    #[test]
    fn values_with_line_breaks_stay_on_one_line() {
        let nasty = "a\nb\rc\u{2028}d\u{2029}e\u{0085}f\"g::h";
        let line = outputs_line(&obj(json!({ "name": nasty })));
        assert!(!line.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{0085}']));
        let parsed = parse_line(&line).expect("kestra parses it");
        assert_eq!(parsed["outputs"]["name"], nasty);
    }

    #[test]
    fn parse_line_rejects_what_kestra_rejects() {
        assert!(parse_line(r#"{"outputs":{}}"#).is_none());
        assert!(parse_line(r#" ::{"outputs":{}}::"#).is_none());
        assert!(parse_line(r#"::{"outputs":{}}:: "#).is_none());
        assert!(parse_line(r#"::[1]::"#).is_none());
        assert!(parse_line("::{\"a\":\"\u{2028}\"}::").is_none());
        assert!(parse_line(r#"::{not json}::"#).is_none());
    }

    #[test]
    fn detection_honours_the_override_then_runner_vars() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(!detect(env(&[])));
        assert!(detect(env(&[("WORKING_DIR", "/tmp/kestra-wd/abc")])));
        assert!(detect(env(&[("OUTPUT_DIR", "/tmp/out")])));
        assert!(!detect(env(&[
            ("WORKING_DIR", "/x"),
            (KESTRA_ENV_OVERRIDE, "0")
        ])));
        assert!(detect(env(&[(KESTRA_ENV_OVERRIDE, "true")])));
        assert!(!detect(env(&[("WORKING_DIR", "  ")])));
    }
}
