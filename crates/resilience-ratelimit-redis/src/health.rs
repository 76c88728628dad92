//! Shared or fallback: which limiter answers, when to try Redis again, and how to say so.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The gauge: 1 while the store uses its local fallback, 0 while Redis is shared.
pub const FALLBACK_GAUGE: &str = "resilience_ratelimit_fallback";
/// The counter of switches between shared and fallback mode (label `to` = `fallback|shared`).
pub const TRANSITIONS_COUNTER: &str = "resilience_ratelimit_fallback_transitions_total";
/// The counter of failed Redis calls (label `kind` = `timeout|error`).
pub const REDIS_ERRORS_COUNTER: &str = "resilience_ratelimit_redis_errors_total";

pub(crate) struct Health {
    service: Arc<str>,
    redacted_url: Arc<str>,
    fallback: AtomicBool,
    probing: AtomicBool,
    next_probe_ns: AtomicU64,
    /// While shared again after a fallback: until when (elapsed ns) to draw at the fallback
    /// share, so that workers still in fallback and this one never add up past the budget.
    warm_until_ns: AtomicU64,
    generation: AtomicU64,
    transitions: AtomicU64,
    start: Instant,
    probe_interval: Duration,
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Health")
            .field("fallback", &self.fallback.load(Ordering::Relaxed))
            .field("transitions", &self.transitions.load(Ordering::Relaxed))
            .finish()
    }
}

/// Permission to call Redis; as a probe (in fallback mode) it frees the probe slot when
/// dropped, also when the caller is cancelled mid-call.
pub(crate) struct Attempt<'a> {
    health: &'a Health,
    probe: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.health.probing.store(false, Ordering::Release);
        }
    }
}

impl Attempt<'_> {
    /// Only a probe switches back to shared mode: a call that started before Redis failed
    /// and finished after must not undo the fallback.
    pub(crate) fn succeeded(self) {
        if self.probe {
            self.health.succeeded();
        }
    }

    pub(crate) fn failed(self, error: &crate::RedisStoreError) {
        self.health.failed(error);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Health {
    pub(crate) fn new(service: Arc<str>, redacted_url: Arc<str>, probe_interval: Duration) -> Self {
        metrics::gauge!(FALLBACK_GAUGE, "service" => service.to_string()).set(0.0);
        Health {
            service,
            redacted_url,
            fallback: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            next_probe_ns: AtomicU64::new(0),
            warm_until_ns: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            transitions: AtomicU64::new(0),
            start: Instant::now(),
            probe_interval,
        }
    }

    fn elapsed_ns(&self) -> u64 {
        nanos(Instant::now().saturating_duration_since(self.start))
    }

    /// `Some` when this call should go to Redis: always while shared; in fallback mode only
    /// for one caller at a time, once per probe interval.
    pub(crate) fn attempt(&self) -> Option<Attempt<'_>> {
        if !self.fallback.load(Ordering::Acquire) {
            return Some(Attempt {
                health: self,
                probe: false,
            });
        }
        if self.elapsed_ns() < self.next_probe_ns.load(Ordering::Acquire) {
            return None;
        }
        self.probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Attempt {
                health: self,
                probe: true,
            })
    }

    pub(crate) fn is_fallback(&self) -> bool {
        self.fallback.load(Ordering::Acquire)
    }

    /// `true` for two probe intervals after sharing resumed (see `warm_until_ns`).
    pub(crate) fn warming_up(&self) -> bool {
        self.elapsed_ns() < self.warm_until_ns.load(Ordering::Acquire)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn transitions(&self) -> u64 {
        self.transitions.load(Ordering::Acquire)
    }

    fn succeeded(&self) {
        if self.fallback.swap(false, Ordering::AcqRel) {
            // Every other worker in fallback probes within one interval of Redis coming back.
            self.warm_until_ns.store(
                self.elapsed_ns()
                    .saturating_add(nanos(self.probe_interval).saturating_mul(2)),
                Ordering::Release,
            );
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.transitions.fetch_add(1, Ordering::AcqRel);
            metrics::gauge!(FALLBACK_GAUGE, "service" => self.service.to_string()).set(0.0);
            metrics::counter!(TRANSITIONS_COUNTER, "service" => self.service.to_string(), "to" => "shared")
                .increment(1);
            tracing::warn!(
                service = %self.service,
                redis = %self.redacted_url,
                "redis reachable again: the rate budget is shared across workers again"
            );
        }
    }

    fn failed(&self, error: &crate::RedisStoreError) {
        let kind = match error {
            crate::RedisStoreError::Timeout(_) => "timeout",
            _ => "error",
        };
        metrics::counter!(REDIS_ERRORS_COUNTER, "service" => self.service.to_string(), "kind" => kind)
            .increment(1);
        self.next_probe_ns.store(
            self.elapsed_ns().saturating_add(nanos(self.probe_interval)),
            Ordering::Release,
        );
        if !self.fallback.swap(true, Ordering::AcqRel) {
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.transitions.fetch_add(1, Ordering::AcqRel);
            metrics::gauge!(FALLBACK_GAUGE, "service" => self.service.to_string()).set(1.0);
            metrics::counter!(TRANSITIONS_COUNTER, "service" => self.service.to_string(), "to" => "fallback")
                .increment(1);
            tracing::warn!(
                service = %self.service,
                redis = %self.redacted_url,
                error = %crate::store::chain(error),
                "redis unreachable: falling back to a local rate limiter at a share of the budget"
            );
        } else {
            tracing::debug!(service = %self.service, error = %crate::store::chain(error), "redis probe failed");
        }
    }
}
