//! Bounded-concurrency batch processing over any async operation, accounting for every item.
//!
//! A [`BatchProcessor`] runs an operation (`Fn(Item) -> Future<Output = Result<T, E>>`) over
//! many items and returns a [`BatchResult`]: the counts (total, succeeded, failed, cancelled,
//! [`success_rate`](BatchResult::success_rate), duration) and one [`ItemRecord`] per input, in
//! input order. No input is ever missing: an item that ran has its value or its
//! [`ItemError`], an item that never started because the run was cancelled is
//! [`ItemOutcome::Cancelled`], and a panicking operation is caught and recorded as
//! [`ItemError::Panicked`] for its item.
//!
//! - **Bounded concurrency**: at most [`concurrency`](BatchProcessorBuilder::concurrency) items
//!   in flight (default [`DEFAULT_CONCURRENCY`] = 5). The operations run concurrently on the
//!   caller's task (a `FuturesUnordered`), so they need not be `'static` or `Send`; the run's
//!   future is `Send` when they are, and can be spawned.
//! - **Rate**: [`rate_per_second`](BatchProcessorBuilder::rate_per_second) spaces starts
//!   evenly (an [`ItemRate`] GCRA gate); [`rate_gate`](BatchProcessorBuilder::rate_gate) takes
//!   any [`RateGate`], so several batches (or a batch and other callers) can draw from one
//!   budget; `LimiterGate` (feature `ratelimit`, on by default) draws from a
//!   `resilience-ratelimit` store key shared with the client's `RateLimitLayer`.
//! - **Retry is the client's**: the operation passed in is the client call, whose own tower
//!   stack retries (with backoff, `Retry-After`, budget and idempotency rules). The batch has
//!   no second retry loop, so an item is never attempted more often than the client decides.
//! - **Chunking** for batch endpoints: [`process_chunks`](BatchProcessor::process_chunks)
//!   sends chunks of [`chunk_size`](BatchProcessorBuilder::chunk_size) items (default
//!   [`DEFAULT_CHUNK_SIZE`] = 100) and maps the per-item results back by position; a failed
//!   chunk fails each of its items with the reason, and a wrong number of results fails the
//!   items left without one.
//! - **Progress**: a snapshot ([`Progress`]: done, succeeded, failed, cancelled, in flight,
//!   rate, ETA) after every change, to a callback
//!   ([`on_progress`](BatchProcessorBuilder::on_progress)) and a `Stream`
//!   ([`BatchProcessor::progress`]).
//! - **Cancellation**: a [`CancellationToken`]; items not started are recorded as cancelled,
//!   items in flight finish.
//! - **Streaming**: [`process_to_writer`](BatchProcessor::process_to_writer) writes each record
//!   as a JSON Lines object as soon as it completes and keeps only counts and the first
//!   failures, so memory is bounded by the concurrency, not by the input.
//!
//! # Example
//!
//! ```
//! use batch::{BatchProcessor, ItemOutcome};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Stands in for a client call such as `hubspot.contacts().get(id)`.
//! async fn fetch(id: u32) -> Result<String, String> {
//!     tokio::time::sleep(Duration::from_millis(10)).await;
//!     if id == 3 { Err(format!("contact {id} not found")) } else { Ok(format!("contact {id}")) }
//! }
//!
//! let processor = BatchProcessor::builder()
//!     .concurrency(2)
//!     .rate_per_second(50.0)
//!     .build()?;
//! let result = processor.process_keyed(1..=4, |id| *id, fetch).await;
//!
//! assert_eq!((result.total(), result.succeeded(), result.failed()), (4, 3, 1));
//! assert_eq!(result.success_rate(), 0.75);
//! assert_eq!(result.records[2].key, 3);
//! assert!(matches!(&result.records[2].outcome, ItemOutcome::Failed(e) if e.to_string() == "contact 3 not found"));
//!
//! // The same run, streamed as JSON Lines (completion order, each line has its index).
//! let mut out = Vec::new();
//! let summary = processor.process_to_writer(1..=4, |id| *id, fetch, &mut out).await?;
//! assert_eq!(summary.written, 4);
//! assert_eq!(String::from_utf8(out)?.lines().count(), 4);
//! # Ok(())
//! # }
//! ```

mod engine;
mod error;
mod gate;
#[cfg(feature = "ratelimit")]
mod limiter;
mod processor;
mod progress;
mod record;
mod result;

pub use error::{BatchError, ConfigError};
pub use gate::{ChunkPermits, GateFuture, ItemRate, RateGate};
#[cfg(feature = "ratelimit")]
pub use limiter::{DEFAULT_LIMITER_MAX_WAIT, LimiterGate};
pub use processor::{
    BatchProcessor, BatchProcessorBuilder, DEFAULT_CHUNK_SIZE, DEFAULT_CONCURRENCY,
    DEFAULT_FAILURE_SAMPLE,
};
pub use progress::{Progress, ProgressStream};
pub use record::{ItemError, ItemOutcome, ItemRecord};
pub use result::{BatchResult, BatchStats, StreamedBatch};
pub use tokio_util::sync::CancellationToken;

// The README's example is compiled too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
