//! The breaker's metrics, through the `metrics` facade.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `resilience_breaker_state` | gauge: 0 closed, 1 half-open, 2 open, 3 forced open, 4 disabled | `service` |
//! | `resilience_breaker_transitions_total` | counter | `service`, `from`, `to` |
//! | `resilience_breaker_rejected_total` | counter | `service` |
//! | `resilience_breaker_calls_total` | counter | `service`, `outcome` = success, failure, throttled, neutral |
//!
//! The gauge and the per-call counters are registered once, when the breaker is built (so the
//! hot path only bumps a handle): install the recorder before building breakers.

use crate::state::State;
use metrics::{Counter, Gauge};
use resilience_core::Outcome;

/// The state gauge.
pub const STATE: &str = "resilience_breaker_state";
/// The transitions counter.
pub const TRANSITIONS: &str = "resilience_breaker_transitions_total";
/// The rejections counter.
pub const REJECTED: &str = "resilience_breaker_rejected_total";
/// The calls counter, by outcome.
pub const CALLS: &str = "resilience_breaker_calls_total";

#[derive(Debug)]
pub(crate) struct Metrics {
    service: String,
    state: Gauge,
    rejected: Counter,
    success: Counter,
    failure: Counter,
    throttled: Counter,
    neutral: Counter,
}

impl Metrics {
    pub(crate) fn new(service: &str) -> Self {
        let service = service.to_owned();
        let calls = |outcome: &'static str| metrics::counter!(CALLS, "service" => service.clone(), "outcome" => outcome);
        let metrics = Self {
            state: metrics::gauge!(STATE, "service" => service.clone()),
            rejected: metrics::counter!(REJECTED, "service" => service.clone()),
            success: calls("success"),
            failure: calls("failure"),
            throttled: calls("throttled"),
            neutral: calls("neutral"),
            service,
        };
        metrics.state.set(State::Closed.gauge_value());
        metrics
    }

    pub(crate) fn outcome(&self, outcome: Outcome) {
        match outcome {
            Outcome::Success => &self.success,
            Outcome::Failure => &self.failure,
            Outcome::Throttled { .. } => &self.throttled,
            Outcome::Neutral => &self.neutral,
        }
        .increment(1);
    }

    pub(crate) fn rejected(&self) {
        self.rejected.increment(1);
    }

    pub(crate) fn state(&self, state: State) {
        self.state.set(state.gauge_value());
    }

    pub(crate) fn transition(&self, from: State, to: State) {
        metrics::counter!(
            TRANSITIONS,
            "service" => self.service.clone(),
            "from" => from.as_str(),
            "to" => to.as_str()
        )
        .increment(1);
    }
}
