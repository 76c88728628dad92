//! The aggregate result of a run.

use crate::record::{ItemError, ItemRecord};
use serde::Serialize;
use std::time::Duration;

/// The counts of a finished run: every input item is exactly one of succeeded, failed or
/// cancelled, so `total == succeeded + failed + cancelled` always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BatchStats {
    /// How many items the input held.
    pub total: u64,
    /// Items whose operation returned a value.
    pub succeeded: u64,
    /// Items that failed (operation error, chunk failure, missing result, panic, rate gate).
    pub failed: u64,
    /// Items never started because the run was cancelled (or its output failed).
    pub cancelled: u64,
    /// Wall time of the run, from the first item pulled to the last record emitted (tokio time).
    #[serde(serialize_with = "serialize_secs")]
    pub duration: Duration,
    /// The most operations (items, or chunks in chunk mode) that ran at the same time.
    pub peak_in_flight: usize,
    /// The most items taken from the input whose record had not yet been emitted (stored in the
    /// result, or written to the stream) at the same time. In streaming mode this bounds the
    /// records held in memory: at most `(concurrency + 1) × chunk size`.
    pub peak_pending_records: usize,
    /// Results a chunk call returned beyond the number of items it was given. They match no
    /// input item, so they are counted here (and logged), never attached to a record.
    pub unmatched_results: u64,
}

impl BatchStats {
    /// The share of all items that succeeded, from 0.0 to 1.0 (1.0 for an empty input, where
    /// nothing failed). Cancelled items count against it.
    pub fn success_rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.succeeded as f64 / self.total as f64
        }
    }

    /// Whether every item succeeded (nothing failed, nothing was cancelled).
    pub fn is_complete_success(&self) -> bool {
        self.succeeded == self.total
    }
}

fn serialize_secs<S: serde::Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(duration.as_secs_f64())
}

/// The result of an in-memory run: the counts and one record per input item, in input order.
#[derive(Debug)]
pub struct BatchResult<K, T, E> {
    /// The counts of the run.
    pub stats: BatchStats,
    /// One record per input item, `records[i].index == i`.
    pub records: Vec<ItemRecord<K, T, E>>,
}

impl<K, T, E> BatchResult<K, T, E> {
    /// How many items the input held.
    pub fn total(&self) -> u64 {
        self.stats.total
    }

    /// How many items succeeded.
    pub fn succeeded(&self) -> u64 {
        self.stats.succeeded
    }

    /// How many items failed.
    pub fn failed(&self) -> u64 {
        self.stats.failed
    }

    /// How many items were cancelled before they started.
    pub fn cancelled(&self) -> u64 {
        self.stats.cancelled
    }

    /// The share of items that succeeded (see [`BatchStats::success_rate`]).
    pub fn success_rate(&self) -> f64 {
        self.stats.success_rate()
    }

    /// How long the run took (tokio time).
    pub fn duration(&self) -> std::time::Duration {
        self.stats.duration
    }

    /// The values of the items that succeeded, with their records' index and key.
    pub fn successes(&self) -> impl Iterator<Item = (usize, &K, &T)> {
        self.records
            .iter()
            .filter_map(|r| r.outcome.value().map(|v| (r.index, &r.key, v)))
    }

    /// The errors of the items that failed, with their records' index and key.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &K, &ItemError<E>)> {
        self.records
            .iter()
            .filter_map(|r| r.outcome.error().map(|e| (r.index, &r.key, e)))
    }

    /// The records of the items that were cancelled before they started.
    pub fn cancelled_records(&self) -> impl Iterator<Item = &ItemRecord<K, T, E>> {
        self.records.iter().filter(|r| r.is_cancelled())
    }
}

/// The result of a streaming run: every record went to the writer, so only the counts and the
/// first failures (up to [`failure_sample`](crate::BatchProcessorBuilder::failure_sample),
/// default [`DEFAULT_FAILURE_SAMPLE`](crate::DEFAULT_FAILURE_SAMPLE)) are kept in memory.
#[derive(Debug)]
pub struct StreamedBatch<K, T, E> {
    /// The counts of the run.
    pub stats: BatchStats,
    /// The first failed records, in completion order (their full typed errors).
    pub first_failures: Vec<ItemRecord<K, T, E>>,
    /// How many records were written to the output.
    pub written: u64,
}

impl<K, T, E> StreamedBatch<K, T, E> {
    /// The share of items that succeeded (see [`BatchStats::success_rate`]).
    pub fn success_rate(&self) -> f64 {
        self.stats.success_rate()
    }
}
