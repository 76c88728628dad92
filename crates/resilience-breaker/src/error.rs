//! Error types.

use crate::state::State;
use resilience_core::Rejected;
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The breaker refused the call: it is open, forced open, or half-open with every probe slot
/// taken. The inner service was not called.
///
/// Callers downcast the `BoxError` to it. Its [`source`](Error::source) is a
/// [`resilience_core::Rejected`] for layer `"circuit_breaker"`, so the shared classifiers treat
/// it as neutral and retry policies never repeat it.
#[derive(Debug, Clone)]
pub struct BreakerOpen {
    name: Arc<str>,
    state: State,
    retry_after: Option<Duration>,
    rejected: Rejected,
}

impl BreakerOpen {
    pub(crate) fn new(name: Arc<str>, state: State, retry_after: Option<Duration>) -> Self {
        Self {
            name,
            state,
            retry_after,
            rejected: Rejected::new("circuit_breaker", retry_after),
        }
    }

    /// How long until the breaker will next admit a probe: the rest of the open duration, or,
    /// in half-open with every slot taken, the time until the oldest probe times out. `None`
    /// when an operator forced the breaker open (no automatic end).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The name of the breaker that refused the call.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state the breaker was in when it refused the call.
    pub fn state(&self) -> State {
        self.state
    }
}

impl fmt::Display for BreakerOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state {
            State::ForcedOpen => write!(f, "circuit breaker '{}' is forced open", self.name),
            State::HalfOpen => write!(
                f,
                "circuit breaker '{}' is half-open and all probe slots are taken",
                self.name
            ),
            _ => write!(f, "circuit breaker '{}' is open", self.name),
        }
    }
}

impl Error for BreakerOpen {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.rejected)
    }
}

/// The registry holds its maximum number of breakers and every one of them is still in use, so
/// none could be evicted to make room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryFull {
    pub(crate) capacity: usize,
}

impl RegistryFull {
    /// The registry's capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl fmt::Display for RegistryFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit breaker registry is full ({} breakers, all in use)",
            self.capacity
        )
    }
}

impl Error for RegistryFull {}
