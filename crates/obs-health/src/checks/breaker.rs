use crate::check::{CheckFuture, HealthCheck, Observation};
use std::fmt;

/// A circuit breaker's state, as a health check sees it.
///
/// The names match the `from`/`to` labels of `resilience_breaker_transitions_total`, and
/// [`gauge_value`](Self::gauge_value) matches the `resilience_breaker_state` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// A few probe calls flow.
    HalfOpen,
    /// Calls are refused until the open period ends.
    Open,
    /// Forced open by an operator.
    ForcedOpen,
    /// The breaker is switched off; calls flow unprotected.
    Disabled,
}

impl BreakerState {
    /// `closed`, `half_open`, `open`, `forced_open` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Open => "open",
            BreakerState::ForcedOpen => "forced_open",
            BreakerState::Disabled => "disabled",
        }
    }

    /// The value of the `resilience_breaker_state` gauge: 0 closed, 1 half-open, 2 open,
    /// 3 forced open, 4 disabled.
    pub fn gauge_value(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
            BreakerState::ForcedOpen => 3.0,
            BreakerState::Disabled => 4.0,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Anything that can tell a circuit breaker's current state: implement it for a breaker handle,
/// or pass a closure `Fn() -> BreakerState`.
pub trait BreakerStateSource: Send + Sync {
    /// The current state. Must be cheap and must not call the dependency.
    fn breaker_state(&self) -> BreakerState;
}

impl<F> BreakerStateSource for F
where
    F: Fn() -> BreakerState + Send + Sync,
{
    fn breaker_state(&self) -> BreakerState {
        self()
    }
}

/// Reports a circuit breaker's state (see [`breaker_check`]).
///
/// | state | check status |
/// | --- | --- |
/// | closed | pass |
/// | disabled | pass (with an output saying so) |
/// | half-open | warn |
/// | open, forced open | fail |
///
/// Optional by default, so an open breaker degrades the service (200, `warn`) instead of
/// taking it out of rotation; [`required`](Self::required) changes that. Never calls the
/// dependency.
#[derive(Clone)]
pub struct BreakerCheck<S> {
    name: String,
    source: S,
    optional: bool,
}

impl<S> fmt::Debug for BreakerCheck<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerCheck")
            .field("name", &self.name)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

/// A check named `name` reporting the state `source` gives (optional by default).
///
/// ```
/// use obs_health::{BreakerState, HealthCheck, breaker_check};
///
/// let check = breaker_check("hubspot-breaker", || BreakerState::Closed);
/// assert!(check.optional());
/// ```
pub fn breaker_check<S: BreakerStateSource>(name: impl Into<String>, source: S) -> BreakerCheck<S> {
    BreakerCheck {
        name: name.into(),
        source,
        optional: true,
    }
}

impl<S> BreakerCheck<S> {
    /// Makes an open breaker make the service unhealthy (503).
    pub fn required(mut self) -> Self {
        self.optional = false;
        self
    }
}

impl<S: BreakerStateSource> HealthCheck for BreakerCheck<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let state = self.source.breaker_state();
        let observation = match state {
            BreakerState::Closed => Observation::pass(),
            BreakerState::Disabled => Observation::pass().with_output("circuit breaker disabled"),
            BreakerState::HalfOpen => {
                Observation::warn("circuit breaker half-open: probing the dependency")
            }
            BreakerState::Open => Observation::fail("circuit breaker open: calls are refused"),
            BreakerState::ForcedOpen => {
                Observation::fail("circuit breaker forced open: calls are refused")
            }
        }
        .with_measurement("state", state.as_str(), None);
        Box::pin(std::future::ready(Ok(observation)))
    }

    fn optional(&self) -> bool {
        self.optional
    }

    fn component_type(&self) -> Option<&str> {
        Some("component")
    }
}
