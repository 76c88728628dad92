//! The breaker's states, its state-change events and its health snapshot.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls pass and their outcomes are recorded.
    Closed,
    /// A bounded number of probe calls pass; the rest fail fast.
    HalfOpen,
    /// Calls fail fast with [`BreakerOpen`](crate::BreakerOpen) until the open duration ends.
    Open,
    /// An operator forced the breaker open: calls fail fast until [`Breaker::reset`](crate::Breaker::reset).
    ForcedOpen,
    /// An operator disabled the breaker: calls pass and nothing is recorded.
    Disabled,
}

impl State {
    /// The value of the `resilience_breaker_state` gauge: 0 closed, 1 half-open, 2 open,
    /// 3 forced open, 4 disabled.
    pub fn gauge_value(self) -> f64 {
        f64::from(self as u8)
    }

    /// A short, stable, lowercase name, fit for a metrics label or a log field.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::HalfOpen => "half_open",
            State::Open => "open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }

    /// `true` when calls are refused outright (open or forced open).
    pub fn is_open(self) -> bool {
        matches!(self, State::Open | State::ForcedOpen)
    }

    pub(crate) fn from_bits(bits: u8) -> State {
        match bits {
            0 => State::Closed,
            1 => State::HalfOpen,
            2 => State::Open,
            3 => State::ForcedOpen,
            _ => State::Disabled,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a breaker changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransitionReason {
    /// The failure rate in the window reached the threshold (closed → open).
    FailureRate,
    /// The slow-call rate in the window reached the threshold (closed → open).
    SlowCallRate,
    /// Too many failures in a row (closed → open).
    ConsecutiveFailures,
    /// The open duration ended and a call arrived (open → half-open).
    OpenElapsed,
    /// A half-open probe failed, or was slow under the slow-call rule (half-open → open).
    ProbeFailed,
    /// A half-open probe stayed unanswered past the probe timeout (half-open → open).
    ProbeTimedOut,
    /// Every half-open probe succeeded (half-open → closed).
    ProbesSucceeded,
    /// An operator called [`Breaker::force_open`](crate::Breaker::force_open).
    ForcedOpen,
    /// An operator called [`Breaker::disable`](crate::Breaker::disable).
    Disabled,
    /// An operator called [`Breaker::reset`](crate::Breaker::reset).
    Reset,
}

impl TransitionReason {
    /// A short, stable, lowercase name, fit for a log field.
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionReason::FailureRate => "failure_rate",
            TransitionReason::SlowCallRate => "slow_call_rate",
            TransitionReason::ConsecutiveFailures => "consecutive_failures",
            TransitionReason::OpenElapsed => "open_elapsed",
            TransitionReason::ProbeFailed => "probe_failed",
            TransitionReason::ProbeTimedOut => "probe_timed_out",
            TransitionReason::ProbesSucceeded => "probes_succeeded",
            TransitionReason::ForcedOpen => "forced_open",
            TransitionReason::Disabled => "disabled",
            TransitionReason::Reset => "reset",
        }
    }
}

impl fmt::Display for TransitionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One state change, as given to the listener set with
/// [`BreakerConfigBuilder::on_state_change`](crate::BreakerConfigBuilder::on_state_change).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StateChange {
    /// The breaker's name.
    pub name: Arc<str>,
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// Why.
    pub reason: TransitionReason,
    /// When (on the tokio clock).
    pub at: Instant,
    /// For a change to open: how long the breaker stays open (jitter included).
    pub open_for: Option<Duration>,
    /// A number that grows with every change, to order events delivered from several threads.
    pub sequence: u64,
}

/// A point-in-time view of a breaker, for health checks and dashboards.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The breaker's name.
    pub name: Arc<str>,
    /// The state (a timed-out half-open probe is applied first, so this never reports a stuck
    /// half-open state).
    pub state: State,
    /// Calls recorded in the sliding window (successes and failures; neutral and throttled
    /// outcomes are not recorded).
    pub calls_in_window: u64,
    /// Failures recorded in the sliding window.
    pub failures_in_window: u64,
    /// Slow calls recorded in the sliding window (0 unless the slow-call rule is on).
    pub slow_calls_in_window: u64,
    /// `failures / calls` in the window, or `None` when the window is empty.
    pub failure_rate: Option<f64>,
    /// `slow / calls` in the window, or `None` when the window is empty.
    pub slow_call_rate: Option<f64>,
    /// Failures in a row so far.
    pub consecutive_failures: u32,
    /// When open: the earliest moment a probe will be admitted.
    pub next_probe_at: Option<Instant>,
    /// When open: how long until then (zero when it has passed).
    pub retry_after: Option<Duration>,
    /// Trips since the last clean close (drives the growth of the open duration).
    pub consecutive_trips: u32,
}
