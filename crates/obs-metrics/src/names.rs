//! The one naming scheme for every metric the workspace emits.
//!
//! Every name is a `pub const` here, so crates, tests and dashboards refer to one spelling.
//! Label values are always drawn from small fixed sets: a `service`, `cache` or `operation` name
//! chosen in code, a status class, a reason. Never an id, a path with ids in it, a token or any
//! other secret.
//!
//! | metric | type | labels | meaning |
//! | --- | --- | --- | --- |
//! | `{prefix}_api_requests_total` | counter | `operation`, `status` | logical client calls, by outcome ([`crate::status`]) |
//! | `{prefix}_api_request_duration_seconds` | histogram | `operation` | duration of a logical client call, retries included |
//! | `{prefix}_api_requests_in_flight` | gauge | `operation` | client calls started and not yet finished or dropped |
//! | `resilience_retry_attempts_total` | counter | `service`, `reason` = `failure` \| `throttled` | retries sent (not first attempts) |
//! | `resilience_retry_give_ups_total` | counter | `service`, `reason` = `attempts` \| `deadline` \| `not_idempotent` \| `not_replayable` | retryable outcomes that were not retried |
//! | `resilience_retry_budget_exhausted_total` | counter | `service` | retries refused because the retry budget was spent |
//! | `resilience_breaker_state` | gauge | `service` | 0 closed, 1 half-open, 2 open, 3 forced open, 4 disabled |
//! | `resilience_breaker_transitions_total` | counter | `service`, `from`, `to` (state names) | state changes |
//! | `resilience_breaker_rejected_total` | counter | `service` | calls refused because the breaker was open |
//! | `resilience_breaker_calls_total` | counter | `service`, `outcome` = `success` \| `failure` \| `throttled` \| `neutral` | calls the breaker recorded |
//! | `resilience_ratelimit_wait_seconds` | histogram | `service`, `key` | time spent waiting for a permit |
//! | `resilience_ratelimit_rejected_total` | counter | `service`, `key` | requests refused because the wait would pass the deadline |
//! | `resilience_ratelimit_limit` | gauge | `service`, `key` | current permits per second, after learning from headers |
//! | `resilience_ratelimit_paused_total` | counter | `service`, `key` | times a key was paused by a 429 or `Retry-After` |
//! | `resilience_ratelimit_store_errors_total` | counter | `service` | shared-store failures (the limiter let the request through) |
//! | `resilience_cache_requests_total` | counter | `cache`, `result` = `hit` \| `miss` \| `stale` | cache lookups |
//! | `resilience_cache_inserts_total` | counter | `cache` | entries stored |
//! | `resilience_cache_evictions_total` | counter | `cache` | entries evicted for capacity |
//! | `resilience_cache_entries` | gauge | `cache` | entries currently held |
//!
//! Rate-limiter `key` values are bounded by construction (an API host or a fixed endpoint class,
//! never a token). Every metric whose name ends in `_seconds` is a histogram rendered with
//! explicit buckets by [`PrometheusConfig`](crate::PrometheusConfig).

use std::borrow::Cow;

/// The label names used across the workspace.
pub mod labels {
    /// The name a resilience layer was given at construction (`"hubspot"`).
    pub const SERVICE: &str = "service";
    /// The logical operation of a client call (`"contacts.get"`).
    pub const OPERATION: &str = "operation";
    /// The outcome class of a client call (`"2xx"`, `"timeout"`, ...).
    pub const STATUS: &str = "status";
    /// Why a retry happened or was given up.
    pub const REASON: &str = "reason";
    /// The state a breaker left.
    pub const FROM: &str = "from";
    /// The state a breaker entered.
    pub const TO: &str = "to";
    /// The outcome a breaker recorded.
    pub const OUTCOME: &str = "outcome";
    /// A rate limiter's bounded key (an API host or endpoint class).
    pub const KEY: &str = "key";
    /// A cache's name.
    pub const CACHE: &str = "cache";
    /// A cache lookup's result.
    pub const RESULT: &str = "result";
}

/// Suffix of the client request counter: `{prefix}_api_requests_total`.
pub const API_REQUESTS_TOTAL_SUFFIX: &str = "_api_requests_total";
/// Suffix of the client duration histogram: `{prefix}_api_request_duration_seconds`.
pub const API_REQUEST_DURATION_SECONDS_SUFFIX: &str = "_api_request_duration_seconds";
/// Suffix of the client in-flight gauge: `{prefix}_api_requests_in_flight`.
pub const API_REQUESTS_IN_FLIGHT_SUFFIX: &str = "_api_requests_in_flight";

/// The HubSpot client's request counter.
pub const HUBSPOT_API_REQUESTS_TOTAL: &str = "hubspot_api_requests_total";
/// The HubSpot client's duration histogram.
pub const HUBSPOT_API_REQUEST_DURATION_SECONDS: &str = "hubspot_api_request_duration_seconds";
/// The HubSpot client's in-flight gauge.
pub const HUBSPOT_API_REQUESTS_IN_FLIGHT: &str = "hubspot_api_requests_in_flight";
/// The ManyChat client's request counter.
pub const MANYCHAT_API_REQUESTS_TOTAL: &str = "manychat_api_requests_total";
/// The ManyChat client's duration histogram.
pub const MANYCHAT_API_REQUEST_DURATION_SECONDS: &str = "manychat_api_request_duration_seconds";
/// The ManyChat client's in-flight gauge.
pub const MANYCHAT_API_REQUESTS_IN_FLIGHT: &str = "manychat_api_requests_in_flight";

/// Retries sent, by `service` and `reason` (`failure` | `throttled`).
pub const RETRY_ATTEMPTS_TOTAL: &str = "resilience_retry_attempts_total";
/// Retryable outcomes not retried, by `service` and `reason`.
pub const RETRY_GIVE_UPS_TOTAL: &str = "resilience_retry_give_ups_total";
/// Retries refused by the retry budget, by `service`.
pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = "resilience_retry_budget_exhausted_total";

/// Breaker state gauge, by `service` (see [`breaker_state`] for the values).
pub const BREAKER_STATE: &str = "resilience_breaker_state";
/// Breaker state changes, by `service`, `from` and `to`.
pub const BREAKER_TRANSITIONS_TOTAL: &str = "resilience_breaker_transitions_total";
/// Calls refused by an open breaker, by `service`.
pub const BREAKER_REJECTED_TOTAL: &str = "resilience_breaker_rejected_total";
/// Calls recorded by a breaker, by `service` and `outcome`.
pub const BREAKER_CALLS_TOTAL: &str = "resilience_breaker_calls_total";

/// Time spent waiting for a rate-limit permit, by `service` and `key`.
pub const RATELIMIT_WAIT_SECONDS: &str = "resilience_ratelimit_wait_seconds";
/// Requests refused by the rate limiter, by `service` and `key`.
pub const RATELIMIT_REJECTED_TOTAL: &str = "resilience_ratelimit_rejected_total";
/// Current permits per second, by `service` and `key`.
pub const RATELIMIT_LIMIT: &str = "resilience_ratelimit_limit";
/// Pauses of a key after a 429 or `Retry-After`, by `service` and `key`.
pub const RATELIMIT_PAUSED_TOTAL: &str = "resilience_ratelimit_paused_total";
/// Failures of the rate limiter's shared store, by `service`.
pub const RATELIMIT_STORE_ERRORS_TOTAL: &str = "resilience_ratelimit_store_errors_total";

/// Cache lookups, by `cache` and `result` (`hit` | `miss` | `stale`).
pub const CACHE_REQUESTS_TOTAL: &str = "resilience_cache_requests_total";
/// Entries stored, by `cache`.
pub const CACHE_INSERTS_TOTAL: &str = "resilience_cache_inserts_total";
/// Entries evicted for capacity, by `cache`.
pub const CACHE_EVICTIONS_TOTAL: &str = "resilience_cache_evictions_total";
/// Entries currently held, by `cache`.
pub const CACHE_ENTRIES: &str = "resilience_cache_entries";

/// The values of the [`BREAKER_STATE`] gauge.
pub mod breaker_state {
    /// Closed: calls flow.
    pub const CLOSED: f64 = 0.0;
    /// Half-open: a few probe calls flow.
    pub const HALF_OPEN: f64 = 1.0;
    /// Open: calls are refused until the open period ends.
    pub const OPEN: f64 = 2.0;
    /// Forced open by an operator: calls are refused.
    pub const FORCED_OPEN: f64 = 3.0;
    /// Disabled: calls flow and nothing is recorded.
    pub const DISABLED: f64 = 4.0;
}

/// The kind of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A monotonically increasing count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A distribution of observations (rendered with explicit buckets).
    Histogram,
}

impl MetricKind {
    /// The Prometheus `# TYPE` name of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One entry of the naming scheme: name, kind, labels and meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDef {
    /// The full metric name.
    pub name: Cow<'static, str>,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The label names, in the order the emitter uses.
    pub labels: &'static [&'static str],
    /// What the metric means (used as the Prometheus `# HELP` text).
    pub help: &'static str,
}

macro_rules! def {
    ($name:expr, $kind:ident, [$($label:expr),*], $help:expr) => {
        MetricDef {
            name: Cow::Borrowed($name),
            kind: MetricKind::$kind,
            labels: &[$($label),*],
            help: $help,
        }
    };
}

/// Every metric the resilience layers emit (the client metrics depend on a prefix: see
/// [`client_metrics`]).
pub const RESILIENCE_METRICS: &[MetricDef] = &[
    def!(
        RETRY_ATTEMPTS_TOTAL,
        Counter,
        [labels::SERVICE, labels::REASON],
        "Retries sent, by reason (failure or throttled)."
    ),
    def!(
        RETRY_GIVE_UPS_TOTAL,
        Counter,
        [labels::SERVICE, labels::REASON],
        "Retryable outcomes that were not retried, by reason (attempts, deadline, not_idempotent, not_replayable)."
    ),
    def!(
        RETRY_BUDGET_EXHAUSTED_TOTAL,
        Counter,
        [labels::SERVICE],
        "Retries refused because the retry budget was spent."
    ),
    def!(
        BREAKER_STATE,
        Gauge,
        [labels::SERVICE],
        "Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 forced open, 4 disabled."
    ),
    def!(
        BREAKER_TRANSITIONS_TOTAL,
        Counter,
        [labels::SERVICE, labels::FROM, labels::TO],
        "Circuit breaker state changes."
    ),
    def!(
        BREAKER_REJECTED_TOTAL,
        Counter,
        [labels::SERVICE],
        "Calls refused because the circuit breaker was open."
    ),
    def!(
        BREAKER_CALLS_TOTAL,
        Counter,
        [labels::SERVICE, labels::OUTCOME],
        "Calls recorded by the circuit breaker, by outcome."
    ),
    def!(
        RATELIMIT_WAIT_SECONDS,
        Histogram,
        [labels::SERVICE, labels::KEY],
        "Time spent waiting for a rate-limit permit, in seconds."
    ),
    def!(
        RATELIMIT_REJECTED_TOTAL,
        Counter,
        [labels::SERVICE, labels::KEY],
        "Requests refused because the rate-limit wait would pass the deadline."
    ),
    def!(
        RATELIMIT_LIMIT,
        Gauge,
        [labels::SERVICE, labels::KEY],
        "Current rate limit in permits per second, after learning from response headers."
    ),
    def!(
        RATELIMIT_PAUSED_TOTAL,
        Counter,
        [labels::SERVICE, labels::KEY],
        "Times a rate-limit key was paused by a 429 or Retry-After."
    ),
    def!(
        RATELIMIT_STORE_ERRORS_TOTAL,
        Counter,
        [labels::SERVICE],
        "Failures of the rate limiter's shared state store."
    ),
    def!(
        CACHE_REQUESTS_TOTAL,
        Counter,
        [labels::CACHE, labels::RESULT],
        "Cache lookups, by result (hit, miss, stale)."
    ),
    def!(
        CACHE_INSERTS_TOTAL,
        Counter,
        [labels::CACHE],
        "Entries stored in the cache."
    ),
    def!(
        CACHE_EVICTIONS_TOTAL,
        Counter,
        [labels::CACHE],
        "Entries evicted from the cache for capacity."
    ),
    def!(
        CACHE_ENTRIES,
        Gauge,
        [labels::CACHE],
        "Entries currently held by the cache."
    ),
];

/// Help text of the client request counter.
pub const API_REQUESTS_TOTAL_HELP: &str = "Logical API calls, by operation and status (2xx, 3xx, 4xx, 5xx, error, timeout, breaker_open, rate_limited, rejected, cancelled).";
/// Help text of the client duration histogram.
pub const API_REQUEST_DURATION_SECONDS_HELP: &str =
    "Duration of logical API calls in seconds, retries and waits included.";
/// Help text of the client in-flight gauge.
pub const API_REQUESTS_IN_FLIGHT_HELP: &str = "API calls started and not yet finished.";

/// `{prefix}_api_requests_total`.
pub fn api_requests_total(prefix: &str) -> String {
    format!("{prefix}{API_REQUESTS_TOTAL_SUFFIX}")
}

/// `{prefix}_api_request_duration_seconds`.
pub fn api_request_duration_seconds(prefix: &str) -> String {
    format!("{prefix}{API_REQUEST_DURATION_SECONDS_SUFFIX}")
}

/// `{prefix}_api_requests_in_flight`.
pub fn api_requests_in_flight(prefix: &str) -> String {
    format!("{prefix}{API_REQUESTS_IN_FLIGHT_SUFFIX}")
}

/// The three client metrics for a validated prefix.
pub fn client_metrics(prefix: &crate::Prefix) -> [MetricDef; 3] {
    let p = prefix.as_str();
    [
        MetricDef {
            name: Cow::Owned(api_requests_total(p)),
            kind: MetricKind::Counter,
            labels: &[labels::OPERATION, labels::STATUS],
            help: API_REQUESTS_TOTAL_HELP,
        },
        MetricDef {
            name: Cow::Owned(api_request_duration_seconds(p)),
            kind: MetricKind::Histogram,
            labels: &[labels::OPERATION],
            help: API_REQUEST_DURATION_SECONDS_HELP,
        },
        MetricDef {
            name: Cow::Owned(api_requests_in_flight(p)),
            kind: MetricKind::Gauge,
            labels: &[labels::OPERATION],
            help: API_REQUESTS_IN_FLIGHT_HELP,
        },
    ]
}

/// Registers the `# HELP` text (and the unit of the `_seconds` histograms) of `defs` with the
/// current recorder (the global one, or the local one inside `metrics::with_local_recorder`).
pub fn describe(defs: &[MetricDef]) {
    for def in defs {
        let name = def.name.clone().into_owned();
        match def.kind {
            MetricKind::Counter => metrics::describe_counter!(name, def.help),
            MetricKind::Gauge => metrics::describe_gauge!(name, def.help),
            MetricKind::Histogram if def.name.ends_with("_seconds") => {
                metrics::describe_histogram!(name, metrics::Unit::Seconds, def.help)
            }
            MetricKind::Histogram => metrics::describe_histogram!(name, def.help),
        }
    }
}

/// Registers the `# HELP` text of every resilience-layer metric with the current recorder.
pub fn describe_resilience_metrics() {
    describe(RESILIENCE_METRICS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_scheme() {
        for def in RESILIENCE_METRICS {
            assert!(def.name.starts_with("resilience_"), "{}", def.name);
            match def.kind {
                MetricKind::Counter => assert!(def.name.ends_with("_total"), "{}", def.name),
                MetricKind::Histogram => assert!(def.name.ends_with("_seconds"), "{}", def.name),
                MetricKind::Gauge => assert!(!def.name.ends_with("_total"), "{}", def.name),
            }
            assert!(!def.labels.is_empty());
        }
        assert_eq!(api_requests_total("hubspot"), HUBSPOT_API_REQUESTS_TOTAL);
        assert_eq!(
            api_request_duration_seconds("manychat"),
            MANYCHAT_API_REQUEST_DURATION_SECONDS
        );
        assert_eq!(
            api_requests_in_flight("hubspot"),
            HUBSPOT_API_REQUESTS_IN_FLIGHT
        );
    }
}
