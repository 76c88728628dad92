//! Health checks for services that call APIs: per-check timeouts, a cached aggregate that tells
//! *degraded* from *unhealthy*, the IETF `application/health+json` format, and a tower service
//! that serves readiness and liveness.
//!
//! - [`HealthCheck`]: an async, named check with a timeout (default 5 s) and an optional flag;
//!   [`HealthCheckExt`] overrides both on any check.
//! - Ready-made checks: [`check_fn`] (an async closure), [`HttpProbe`] (`GET` through any tower
//!   service, 2xx passes) and [`breaker_check`] (a circuit breaker's state through the
//!   [`BreakerStateSource`] trait; open on an optional dependency degrades, half-open warns).
//! - [`HealthChecker`]: runs all checks concurrently, each under its timeout, and aggregates:
//!   all pass → healthy (`pass`); a warning or a failing optional check → degraded (`warn`); a
//!   failing or timed-out required check → unhealthy (`fail`). Reports are cached (default 2 s)
//!   and one run is shared by concurrent callers.
//! - [`HealthReport`] (typed, with each check's duration and error) and [`HealthResponse`] (the
//!   IETF format).
//! - [`HealthService`]: `GET /health` (readiness, 200 or 503) and `GET /health/live`
//!   (liveness, never calls a dependency).
//!
//! # Example
//!
//! ```
//! use obs_health::{
//!     BreakerState, Health, HealthCheckExt, HealthChecker, HealthService, breaker_check,
//!     check_fn,
//! };
//! use std::time::Duration;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let checker = HealthChecker::builder()
//!     .check(check_fn("database", || async { Ok(()) }).with_timeout(Duration::from_secs(1)))
//!     .check(breaker_check("manychat", || BreakerState::Open)) // optional by default
//!     .version("1")
//!     .build();
//!
//! let report = checker.report().await;
//! assert_eq!(report.health(), Health::Degraded);
//!
//! let response = HealthService::new(checker)
//!     .oneshot(http::Request::get("/health").body(()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/health+json");
//! # }
//! ```

mod check;
mod checker;
mod checks;
mod report;
mod service;
mod time;

pub use check::{
    CheckFuture, Configured, DEFAULT_CHECK_TIMEOUT, HealthCheck, HealthCheckExt, Measurement,
    Observation, Status,
};
pub use checker::{DEFAULT_CACHE_TTL, HealthChecker, HealthCheckerBuilder};
pub use checks::breaker::{BreakerCheck, BreakerState, BreakerStateSource, breaker_check};
pub use checks::func::{FnCheck, check_fn};
pub use checks::http::HttpProbe;
pub use report::{
    CheckEntry, CheckResult, HEALTH_JSON_CONTENT_TYPE, Health, HealthReport, HealthResponse,
    ServiceInfo,
};
pub use service::{HealthService, LIVE_PATH, READY_PATH};
