//! [`HealthChecker`]: runs every check concurrently, each under its timeout, and caches the report.

use crate::check::{HealthCheck, Observation, Status};
use crate::report::{CheckEntry, CheckResult, HealthReport, HealthResponse, ServiceInfo};
use crate::time::rfc3339;
use futures_util::FutureExt;
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How long a report is reused before the checks run again.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(2);

/// Runs health checks and aggregates them into a [`HealthReport`] (cheap to clone).
///
/// [`report`](Self::report) reuses the last report for the cache time (default
/// [`DEFAULT_CACHE_TTL`]), and when it is stale, concurrent callers share one run: a scrape storm
/// costs the dependencies one round of checks. Time is read from `tokio::time`, so tests with a
/// paused clock are exact.
#[derive(Clone)]
pub struct HealthChecker {
    inner: Arc<Inner>,
}

struct Inner {
    checks: Vec<Arc<dyn HealthCheck>>,
    cache_ttl: Duration,
    info: ServiceInfo,
    wall_clock: fn() -> SystemTime,
    started: Instant,
    cached: parking_lot::Mutex<Option<(Instant, Arc<HealthReport>)>>,
    refresh: tokio::sync::Mutex<()>,
}

impl fmt::Debug for HealthChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.inner.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("HealthChecker")
            .field("checks", &names)
            .field("cache_ttl", &self.inner.cache_ttl)
            .field("info", &self.inner.info)
            .finish_non_exhaustive()
    }
}

/// Builds a [`HealthChecker`].
pub struct HealthCheckerBuilder {
    checks: Vec<Arc<dyn HealthCheck>>,
    cache_ttl: Duration,
    info: ServiceInfo,
    wall_clock: fn() -> SystemTime,
}

impl fmt::Debug for HealthCheckerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("HealthCheckerBuilder")
            .field("checks", &names)
            .field("cache_ttl", &self.cache_ttl)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Default for HealthCheckerBuilder {
    fn default() -> Self {
        Self {
            checks: Vec::new(),
            cache_ttl: DEFAULT_CACHE_TTL,
            info: ServiceInfo::default(),
            wall_clock: SystemTime::now,
        }
    }
}

impl HealthCheckerBuilder {
    /// Adds a check.
    pub fn check(mut self, check: impl HealthCheck + 'static) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Adds a shared check.
    pub fn check_arc(mut self, check: Arc<dyn HealthCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// How long a report is reused (default 2 s; zero runs the checks on every call, still
    /// sharing one run among concurrent callers).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The service's public version, shown as `version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info.version = Some(version.into());
        self
    }

    /// The implementation's release, shown as `releaseId`.
    pub fn release_id(mut self, release_id: impl Into<String>) -> Self {
        self.info.release_id = Some(release_id.into());
        self
    }

    /// The service's identifier, shown as `serviceId`.
    pub fn service_id(mut self, service_id: impl Into<String>) -> Self {
        self.info.service_id = Some(service_id.into());
        self
    }

    /// The service's description, shown as `description`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.info.description = Some(description.into());
        self
    }

    /// The wall clock used for the `time` fields (default `SystemTime::now`).
    pub fn wall_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.wall_clock = clock;
        self
    }

    /// Builds the checker. Needs no runtime; runs checks only when asked.
    pub fn build(self) -> HealthChecker {
        HealthChecker {
            inner: Arc::new(Inner {
                checks: self.checks,
                cache_ttl: self.cache_ttl,
                info: self.info,
                wall_clock: self.wall_clock,
                started: Instant::now(),
                cached: parking_lot::Mutex::new(None),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

impl HealthChecker {
    /// A builder with no checks and the defaults.
    pub fn builder() -> HealthCheckerBuilder {
        HealthCheckerBuilder::default()
    }

    /// The service metadata.
    pub fn info(&self) -> &ServiceInfo {
        &self.inner.info
    }

    /// The number of registered checks.
    pub fn len(&self) -> usize {
        self.inner.checks.len()
    }

    /// `true` when no check is registered (the service is then always healthy).
    pub fn is_empty(&self) -> bool {
        self.inner.checks.is_empty()
    }

    /// The last report if it is younger than the cache time; otherwise runs the checks (one
    /// run shared by concurrent callers) and caches the result.
    pub async fn report(&self) -> Arc<HealthReport> {
        if let Some(report) = self.fresh() {
            return report;
        }
        // If the caller holding the lock is cancelled, the lock is released and the next
        // waiter runs the checks instead.
        let _refreshing = self.inner.refresh.lock().await;
        if let Some(report) = self.fresh() {
            return report;
        }
        let report = Arc::new(self.run().await);
        *self.inner.cached.lock() = Some((Instant::now(), Arc::clone(&report)));
        report
    }

    fn fresh(&self) -> Option<Arc<HealthReport>> {
        let cached = self.inner.cached.lock();
        match &*cached {
            Some((at, report)) if at.elapsed() < self.inner.cache_ttl => Some(Arc::clone(report)),
            _ => None,
        }
    }

    /// Runs every check now, concurrently, each under its own timeout, bypassing the cache.
    pub async fn run(&self) -> HealthReport {
        let start = Instant::now();
        let time = (self.inner.wall_clock)();
        let runs = self
            .inner
            .checks
            .iter()
            .map(|check| run_one(check.as_ref(), self.inner.wall_clock));
        let results = join_all(runs).await;
        HealthReport::from_results(results, time, start.elapsed())
    }

    /// [`report`](Self::report) in the IETF format, with the service metadata.
    pub async fn response(&self) -> HealthResponse {
        self.report().await.to_response(&self.inner.info)
    }

    /// The liveness answer: the process is up. Calls no dependency; reports the uptime.
    pub fn liveness(&self) -> HealthResponse {
        let info = &self.inner.info;
        let time = Some(rfc3339((self.inner.wall_clock)()));
        let uptime = self.inner.started.elapsed().as_secs_f64();
        let mut checks = BTreeMap::new();
        checks.insert(
            "uptime".to_owned(),
            vec![CheckEntry {
                status: Status::Pass,
                component_type: Some("system".to_owned()),
                observed_value: Some(serde_json::json!((uptime * 1000.0).round() / 1000.0)),
                observed_unit: Some("s".to_owned()),
                time: time.clone(),
                output: None,
                optional: false,
            }],
        );
        HealthResponse {
            status: Status::Pass,
            version: info.version.clone(),
            release_id: info.release_id.clone(),
            service_id: info.service_id.clone(),
            description: info.description.clone(),
            output: None,
            time,
            checks,
        }
    }
}

async fn run_one(check: &dyn HealthCheck, wall_clock: fn() -> SystemTime) -> CheckResult {
    let start = Instant::now();
    let time = wall_clock();
    let timeout = check.timeout();
    let outcome =
        tokio::time::timeout(timeout, AssertUnwindSafe(check.check()).catch_unwind()).await;
    let duration = start.elapsed();
    let (observation, timed_out) = match outcome {
        Ok(Ok(Ok(observation))) => (observation, false),
        Ok(Ok(Err(error))) => (Observation::fail(error_chain(&*error)), false),
        Ok(Err(_panic)) => (Observation::fail("check panicked"), false),
        Err(_elapsed) => (
            Observation::fail(format!("timed out after {} ms", timeout.as_millis())),
            true,
        ),
    };
    CheckResult {
        name: check.name().to_owned(),
        status: observation.status,
        optional: check.optional(),
        component_type: check.component_type().map(str::to_owned),
        duration,
        output: observation.output,
        timed_out,
        measurement: observation.measurement,
        time,
    }
}

/// `outer: cause: root cause`.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
