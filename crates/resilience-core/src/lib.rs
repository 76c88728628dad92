//! The shared vocabulary of the resilience layers.
//!
//! Every stateful layer in this workspace (retry, circuit breaker, rate limiter, metrics) asks
//! the same question of a finished attempt: was it a success, a failure, throttling, or neutral?
//! This crate answers it once:
//!
//! - [`Outcome`]: the four verdicts, where throttling may carry the server's requested wait.
//! - [`Classify`]: the trait that turns a `Result<Response, Error>` into an [`Outcome`]. Closures
//!   implement it, so any service (not only HTTP) can bring its own rules.
//! - [`HttpClassifier`]: the default rules for HTTP responses (see its docs for the table).
//! - [`retry_after`]: `Retry-After` parsing in both standard forms (delta-seconds, HTTP-date).
//! - [`extensions`]: request extensions that mark an operation's name, idempotency and
//!   cacheability, so layers can agree on them without depending on each other.
//!
//! The crate depends on `http` and `httpdate` only, so depending on one layer stays cheap.
//!
//! # Example
//!
//! ```
//! use http::{Response, StatusCode};
//! use resilience_core::{BoxError, Classify, HttpClassifier, Outcome};
//! use std::time::Duration;
//!
//! let classifier = HttpClassifier::new();
//! let throttled: Result<Response<()>, BoxError> = Ok(Response::builder()
//!     .status(StatusCode::TOO_MANY_REQUESTS)
//!     .header("retry-after", "2")
//!     .body(())
//!     .unwrap());
//! assert_eq!(
//!     classifier.classify(&throttled),
//!     Outcome::Throttled { retry_after: Some(Duration::from_secs(2)) }
//! );
//!
//! // Any closure is a classifier too: here, for a service whose response is a `bool`.
//! let custom = |result: &Result<bool, BoxError>| match result {
//!     Ok(true) => Outcome::Success,
//!     Ok(false) | Err(_) => Outcome::Failure,
//! };
//! assert_eq!(custom.classify(&Ok(false)), Outcome::Failure);
//! ```

mod classify;
pub mod error;
pub mod extensions;
mod http_rules;
mod outcome;
pub mod retry_after;

pub use classify::{AsDynError, Classify};
pub use error::{Cancelled, NotSent, Rejected, TimedOut, find_in_chain};
pub use http_rules::{HttpClassifier, LOCKED_RETRY_AFTER, TRANSIENT_STATUS_CODES};
pub use outcome::Outcome;

/// The boxed error type tower middleware uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
