//! The [`HealthCheck`] trait and what a check returns.

use futures_util::future::BoxFuture;
use resilience_core::BoxError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The time a check may take before it counts as failed, unless it says otherwise.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The future a [`HealthCheck`] returns.
pub type CheckFuture<'a> = BoxFuture<'a, Result<Observation, BoxError>>;

/// The status of one check or of the whole service, as the IETF health-check format spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    Pass,
    /// Healthy, with concerns (degraded).
    Warn,
    /// Unhealthy.
    Fail,
}

impl Status {
    /// `"pass"`, `"warn"` or `"fail"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named reading a check reports besides its status (`"state": "open"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The measurement's name, used in the report key `"{check}:{name}"`.
    pub name: String,
    /// The observed value.
    pub value: serde_json::Value,
    /// The unit of `value`, if it has one.
    pub unit: Option<String>,
}

/// What a check observed: a status, an optional message and an optional measurement.
///
/// `Ok(())` from a check closure converts into [`Observation::pass`]; an `Err` becomes a failure
/// whose output is the error's message chain. Outputs are shown to whoever can read the health
/// endpoint: never put secrets in them.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The check's verdict.
    pub status: Status,
    /// A human-readable explanation (usually only for warn/fail).
    pub output: Option<String>,
    /// An extra reading.
    pub measurement: Option<Measurement>,
}

impl Observation {
    /// A pass.
    pub fn pass() -> Self {
        Self {
            status: Status::Pass,
            output: None,
            measurement: None,
        }
    }

    /// A warning (degraded), with why.
    pub fn warn(output: impl Into<String>) -> Self {
        Self {
            status: Status::Warn,
            output: Some(output.into()),
            measurement: None,
        }
    }

    /// A failure, with why.
    pub fn fail(output: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            output: Some(output.into()),
            measurement: None,
        }
    }

    /// Sets the output message.
    pub fn with_output(mut self, output: impl Into<String>) -> Self {
        self.output = Some(output.into());
        self
    }

    /// Adds a measurement.
    pub fn with_measurement(
        mut self,
        name: impl Into<String>,
        value: impl Into<serde_json::Value>,
        unit: Option<&str>,
    ) -> Self {
        self.measurement = Some(Measurement {
            name: name.into(),
            value: value.into(),
            unit: unit.map(str::to_owned),
        });
        self
    }
}

impl From<()> for Observation {
    fn from((): ()) -> Self {
        Self::pass()
    }
}

impl From<Status> for Observation {
    fn from(status: Status) -> Self {
        Self {
            status,
            output: None,
            measurement: None,
        }
    }
}

/// One named health check.
///
/// A check is run with a timeout ([`timeout`](Self::timeout), default
/// [`DEFAULT_CHECK_TIMEOUT`]); running out of time is a failure. A failing *optional* check
/// makes the service degraded (`warn`, still HTTP 200); a failing required one makes it
/// unhealthy (`fail`, HTTP 503). Implement [`check`](Self::check) with `Box::pin(async move { ... })`,
/// or use [`check_fn`](crate::check_fn).
pub trait HealthCheck: Send + Sync {
    /// The check's name: the component it checks (`"hubspot"`).
    fn name(&self) -> &str;

    /// Runs the check once.
    fn check(&self) -> CheckFuture<'_>;

    /// How long the check may take.
    fn timeout(&self) -> Duration {
        DEFAULT_CHECK_TIMEOUT
    }

    /// `true` when a failure should degrade the service rather than make it unhealthy.
    fn optional(&self) -> bool {
        false
    }

    /// The IETF `componentType` (`"component"`, `"datastore"`, `"system"`), if any.
    fn component_type(&self) -> Option<&str> {
        None
    }
}

impl<C: HealthCheck + ?Sized> HealthCheck for Box<C> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn check(&self) -> CheckFuture<'_> {
        (**self).check()
    }
    fn timeout(&self) -> Duration {
        (**self).timeout()
    }
    fn optional(&self) -> bool {
        (**self).optional()
    }
    fn component_type(&self) -> Option<&str> {
        (**self).component_type()
    }
}

impl<C: HealthCheck + ?Sized> HealthCheck for std::sync::Arc<C> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn check(&self) -> CheckFuture<'_> {
        (**self).check()
    }
    fn timeout(&self) -> Duration {
        (**self).timeout()
    }
    fn optional(&self) -> bool {
        (**self).optional()
    }
    fn component_type(&self) -> Option<&str> {
        (**self).component_type()
    }
}

/// Overrides a check's timeout, optional flag or component type (see [`HealthCheckExt`]).
#[derive(Debug, Clone)]
pub struct Configured<C> {
    check: C,
    timeout: Option<Duration>,
    optional: Option<bool>,
    component_type: Option<String>,
}

impl<C: HealthCheck> HealthCheck for Configured<C> {
    fn name(&self) -> &str {
        self.check.name()
    }
    fn check(&self) -> CheckFuture<'_> {
        self.check.check()
    }
    fn timeout(&self) -> Duration {
        self.timeout.unwrap_or_else(|| self.check.timeout())
    }
    fn optional(&self) -> bool {
        self.optional.unwrap_or_else(|| self.check.optional())
    }
    fn component_type(&self) -> Option<&str> {
        self.component_type
            .as_deref()
            .or_else(|| self.check.component_type())
    }
}

impl<C> Configured<C> {
    fn wrap(check: C) -> Self {
        Self {
            check,
            timeout: None,
            optional: None,
            component_type: None,
        }
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Marks the check optional: its failure degrades the service.
    pub fn mark_optional(mut self) -> Self {
        self.optional = Some(true);
        self
    }

    /// Marks the check required: its failure makes the service unhealthy.
    pub fn mark_required(mut self) -> Self {
        self.optional = Some(false);
        self
    }

    /// Sets the IETF `componentType`.
    pub fn with_component_type(mut self, component_type: impl Into<String>) -> Self {
        self.component_type = Some(component_type.into());
        self
    }

    /// The wrapped check.
    pub fn into_inner(self) -> C {
        self.check
    }
}

/// Builder-style overrides for any [`HealthCheck`].
pub trait HealthCheckExt: HealthCheck + Sized {
    /// The check, with a different timeout.
    fn with_timeout(self, timeout: Duration) -> Configured<Self> {
        Configured::wrap(self).with_timeout(timeout)
    }

    /// The check, marked optional.
    fn mark_optional(self) -> Configured<Self> {
        Configured::wrap(self).mark_optional()
    }

    /// The check, marked required.
    fn mark_required(self) -> Configured<Self> {
        Configured::wrap(self).mark_required()
    }

    /// The check, with an IETF `componentType`.
    fn with_component_type(self, component_type: impl Into<String>) -> Configured<Self> {
        Configured::wrap(self).with_component_type(component_type)
    }
}

impl<C: HealthCheck> HealthCheckExt for C {}
