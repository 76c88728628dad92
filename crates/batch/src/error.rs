//! Configuration and run errors.

use crate::result::BatchStats;
use std::io;

/// A [`BatchProcessor`](crate::BatchProcessor) or [`ItemRate`](crate::ItemRate) setting that
/// cannot work, reported by the builder instead of a panic at run time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The concurrency limit was 0: no item could ever start.
    #[error("batch concurrency must be at least 1")]
    ZeroConcurrency,
    /// The chunk size was 0: no chunk could ever hold an item.
    #[error("batch chunk size must be at least 1")]
    ZeroChunkSize,
    /// The rate was not a finite number of items per second above 0.
    #[error("batch rate must be a finite number of items per second above 0, got {rate}")]
    InvalidRate {
        /// The rejected rate.
        rate: f64,
    },
    /// The gate's emission interval was zero (an infinite rate).
    #[error("rate gate interval must be longer than zero")]
    ZeroInterval,
}

/// A streaming run stopped because its output could not be written.
///
/// The run stops starting new items as soon as a write fails, lets the items already in flight
/// finish (their side effects are not abandoned half way), and reports what it counted. Records
/// that could not be written are counted in `stats` but are not in the output, so the caller
/// knows exactly which part of the output is missing: every index absent from what was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// Writing a JSON Lines record (or flushing the writer) failed.
    #[error("writing batch results failed after {written} records")]
    Write {
        /// The I/O error the writer returned.
        #[source]
        source: io::Error,
        /// How many records were fully handed to the writer before the failure.
        written: u64,
        /// The counts of the run, items not started counted as cancelled.
        stats: Box<BatchStats>,
    },
}
