//! The typed health report and its IETF `application/health+json` rendering.

use crate::check::{Measurement, Status};
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

/// The Content-Type of the IETF health-check response format.
pub const HEALTH_JSON_CONTENT_TYPE: &str = "application/health+json";

/// The overall health of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Every check passed.
    Healthy,
    /// An optional check failed, or a check warned: still serving (HTTP 200, `warn`).
    Degraded,
    /// A required check failed or timed out (HTTP 503, `fail`).
    Unhealthy,
}

impl Health {
    /// The IETF status: `pass`, `warn` or `fail`.
    pub fn status(self) -> Status {
        match self {
            Health::Healthy => Status::Pass,
            Health::Degraded => Status::Warn,
            Health::Unhealthy => Status::Fail,
        }
    }

    /// `"healthy"`, `"degraded"` or `"unhealthy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
        }
    }

    /// The HTTP status a readiness endpoint answers with: 200 unless unhealthy (503).
    pub fn http_status(self) -> http::StatusCode {
        match self {
            Health::Unhealthy => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::OK,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// The check's own verdict (a timeout or an error is `Fail`).
    pub status: Status,
    /// Whether the check was optional (its failure only degrades the service).
    pub optional: bool,
    /// The IETF `componentType`, if the check has one.
    pub component_type: Option<String>,
    /// How long the check took (its timeout, when it timed out).
    pub duration: Duration,
    /// Why it warned or failed: the check's message, the error chain, or the timeout.
    pub output: Option<String>,
    /// `true` when the check ran out of time.
    pub timed_out: bool,
    /// The check's extra reading, if any.
    pub measurement: Option<Measurement>,
    /// When the check started, by the wall clock.
    pub time: SystemTime,
}

impl CheckResult {
    /// What this result contributes to the overall health: a failing optional check counts as
    /// a warning.
    pub fn effective_status(&self) -> Status {
        match self.status {
            Status::Fail if self.optional => Status::Warn,
            status => status,
        }
    }
}

/// The outcome of running every check once.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub(crate) health: Health,
    pub(crate) checks: Vec<CheckResult>,
    pub(crate) time: SystemTime,
    pub(crate) duration: Duration,
}

impl HealthReport {
    /// Aggregates check results: healthy when all pass, degraded when any warns or an optional
    /// one fails, unhealthy when a required one fails.
    pub fn from_results(checks: Vec<CheckResult>, time: SystemTime, duration: Duration) -> Self {
        let worst = checks
            .iter()
            .map(CheckResult::effective_status)
            .max()
            .unwrap_or(Status::Pass);
        let health = match worst {
            Status::Pass => Health::Healthy,
            Status::Warn => Health::Degraded,
            Status::Fail => Health::Unhealthy,
        };
        Self {
            health,
            checks,
            time,
            duration,
        }
    }

    /// The overall health.
    pub fn health(&self) -> Health {
        self.health
    }

    /// The overall IETF status.
    pub fn status(&self) -> Status {
        self.health.status()
    }

    /// Every check's result, in registration order.
    pub fn checks(&self) -> &[CheckResult] {
        &self.checks
    }

    /// The first result of the check named `name`.
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// When the run started, by the wall clock.
    pub fn time(&self) -> SystemTime {
        self.time
    }

    /// How long the whole run took.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// A one-line summary naming the checks that failed or warned (`None` when healthy).
    pub fn summary(&self) -> Option<String> {
        let names = |pred: &dyn Fn(&CheckResult) -> bool| {
            self.checks
                .iter()
                .filter(|c| pred(c))
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.health {
            Health::Healthy => None,
            Health::Unhealthy => Some(format!(
                "unhealthy: required check(s) failing: {}",
                names(&|c| c.effective_status() == Status::Fail)
            )),
            Health::Degraded => Some(format!(
                "degraded: check(s) failing or warning: {}",
                names(&|c| c.effective_status() == Status::Warn)
            )),
        }
    }

    /// The report in the IETF health-check response format, with the service's metadata.
    pub fn to_response(&self, meta: &ServiceInfo) -> HealthResponse {
        let mut checks: BTreeMap<String, Vec<CheckEntry>> = BTreeMap::new();
        for c in &self.checks {
            let time = Some(rfc3339(c.time));
            let ms = (c.duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
            checks
                .entry(format!("{}:responseTime", c.name))
                .or_default()
                .push(CheckEntry {
                    status: c.status,
                    component_type: c.component_type.clone(),
                    observed_value: Some(serde_json::json!(ms)),
                    observed_unit: Some("ms".to_owned()),
                    time: time.clone(),
                    output: c.output.clone(),
                    optional: c.optional,
                });
            if let Some(m) = &c.measurement {
                checks
                    .entry(format!("{}:{}", c.name, m.name))
                    .or_default()
                    .push(CheckEntry {
                        status: c.status,
                        component_type: c.component_type.clone(),
                        observed_value: Some(m.value.clone()),
                        observed_unit: m.unit.clone(),
                        time,
                        output: c.output.clone(),
                        optional: c.optional,
                    });
            }
        }
        HealthResponse {
            status: self.status(),
            version: meta.version.clone(),
            release_id: meta.release_id.clone(),
            service_id: meta.service_id.clone(),
            description: meta.description.clone(),
            output: self.summary(),
            time: Some(rfc3339(self.time)),
            checks,
        }
    }
}

/// Metadata shown at the top of every health response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The public version of the service (`"1"`).
    pub version: Option<String>,
    /// The release of the implementation (`"0.1.0"`).
    pub release_id: Option<String>,
    /// A unique identifier of the service.
    pub service_id: Option<String>,
    /// A human-friendly description of the service.
    pub description: Option<String>,
}

/// The IETF health-check response (`draft-inadarei-api-health-check`), served as
/// `application/health+json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    /// `pass`, `warn` or `fail`.
    pub status: Status,
    /// The public version of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The release of the implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
    /// A unique identifier of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// A human-friendly description of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Why the status is not `pass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// When the report was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Readings by `"{component}:{measurement}"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Vec<CheckEntry>>,
}

/// One reading in [`HealthResponse::checks`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckEntry {
    /// `pass`, `warn` or `fail`.
    pub status: Status,
    /// `component`, `datastore`, `system`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_type: Option<String>,
    /// The observed value (the check's duration for `:responseTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_value: Option<serde_json::Value>,
    /// The unit of `observedValue` (`ms` for `:responseTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_unit: Option<String>,
    /// When the reading was taken (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Why the status is not `pass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// An extension field: `true` when the check is optional (its failure only degrades).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}
