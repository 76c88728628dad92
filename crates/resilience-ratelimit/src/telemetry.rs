//! Metrics and tracing of the limiter's decisions (names from the workspace scheme).

use crate::key::RateKey;
use crate::quota::Quota;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn waited(service: &Arc<str>, key: &RateKey, wait: Duration) {
    tracing::debug!(service = %service, key = %key, wait_ms = wait.as_millis() as u64, "rate limiter: waiting for a permit");
    metrics::histogram!(
        "resilience_ratelimit_wait_seconds",
        "service" => Arc::clone(service),
        "key" => key.label()
    )
    .record(wait.as_secs_f64());
}

pub(crate) fn rejected(service: &Arc<str>, key: &RateKey, wait: Duration) {
    tracing::debug!(service = %service, key = %key, needed_ms = wait.as_millis() as u64, "rate limiter: permit needs a longer wait than allowed, rejecting");
    metrics::counter!(
        "resilience_ratelimit_rejected_total",
        "service" => Arc::clone(service),
        "key" => key.label()
    )
    .increment(1);
}

pub(crate) fn limit(service: &Arc<str>, key: &RateKey, quota: Quota) {
    tracing::debug!(service = %service, key = %key, permits_per_second = quota.permits_per_second(), burst = quota.burst(), "rate limiter: effective limit");
    metrics::gauge!(
        "resilience_ratelimit_limit",
        "service" => Arc::clone(service),
        "key" => key.label()
    )
    .set(quota.permits_per_second());
}

pub(crate) fn paused(service: &Arc<str>, key: &RateKey, for_: Duration, why: &'static str) {
    tracing::info!(service = %service, key = %key, pause_ms = for_.as_millis() as u64, reason = why, "rate limiter: key paused");
    metrics::counter!(
        "resilience_ratelimit_paused_total",
        "service" => Arc::clone(service),
        "key" => key.label()
    )
    .increment(1);
}

pub(crate) fn store_error(service: &Arc<str>, key: &RateKey, error: &dyn std::error::Error) {
    tracing::warn!(service = %service, key = %key, error = %error, "rate limiter: store failed, letting the request through");
    metrics::counter!(
        "resilience_ratelimit_store_errors_total",
        "service" => Arc::clone(service)
    )
    .increment(1);
}
