//! One record per input item: its index, key and outcome.

use resilience_core::BoxError;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// What happened to one input item.
#[derive(Debug)]
pub struct ItemRecord<K, T, E> {
    /// The item's position in the input (0-based).
    pub index: usize,
    /// The key the caller derived from the item (`()` when the run was not keyed).
    pub key: K,
    /// The item's result.
    pub outcome: ItemOutcome<T, E>,
}

impl<K, T, E> ItemRecord<K, T, E> {
    /// Whether the item succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self.outcome, ItemOutcome::Succeeded(_))
    }

    /// Whether the item failed.
    pub fn is_failure(&self) -> bool {
        matches!(self.outcome, ItemOutcome::Failed(_))
    }

    /// Whether the item was never started because the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.outcome, ItemOutcome::Cancelled)
    }
}

/// The result of one item: a value, an error, or "never started".
#[derive(Debug)]
pub enum ItemOutcome<T, E> {
    /// The operation returned this value for the item.
    Succeeded(T),
    /// The item failed; the error says how (the operation's own error, a failed chunk, a missing
    /// chunk result, a panic, or a refusing rate gate).
    Failed(ItemError<E>),
    /// The run was cancelled before the item started: the operation never saw it.
    Cancelled,
}

impl<T, E> ItemOutcome<T, E> {
    /// The value, if the item succeeded.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Succeeded(value) => Some(value),
            _ => None,
        }
    }

    /// The error, if the item failed.
    pub fn error(&self) -> Option<&ItemError<E>> {
        match self {
            Self::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The short status name used in JSON Lines output: `succeeded`, `failed` or `cancelled`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Succeeded(_) => "succeeded",
            Self::Failed(_) => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Why an item failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ItemError<E> {
    /// The operation returned this error for the item (for a chunk, the per-item error it
    /// returned in that item's position).
    Operation(E),
    /// The whole chunk call failed; every item of the chunk carries the same error.
    Chunk {
        /// The chunk's number (0-based, in input order).
        chunk: usize,
        /// The error the chunk call returned, shared by the chunk's items.
        error: Arc<E>,
    },
    /// The chunk call returned fewer results than it was given items, and none for this one.
    MissingResult {
        /// The chunk's number (0-based, in input order).
        chunk: usize,
        /// How many items the chunk held.
        expected: usize,
        /// How many results the call returned.
        returned: usize,
    },
    /// The operation panicked; the panic was caught and recorded for this item (for a chunk,
    /// for every item of the chunk).
    Panicked {
        /// The panic message, when it was a string.
        message: String,
    },
    /// The rate gate refused to admit the item (for example a shared limiter whose wait
    /// exceeded its bound); the operation never saw it.
    RateGate {
        /// The gate's error.
        error: Arc<dyn Error + Send + Sync + 'static>,
    },
}

impl<E> ItemError<E> {
    /// A short, stable name for the kind of failure, used as `error_kind` in JSON Lines output:
    /// `operation`, `chunk`, `missing_result`, `panic` or `rate_gate`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Operation(_) => "operation",
            Self::Chunk { .. } => "chunk",
            Self::MissingResult { .. } => "missing_result",
            Self::Panicked { .. } => "panic",
            Self::RateGate { .. } => "rate_gate",
        }
    }

    /// The operation's own error, when the failure was the operation's answer for this item.
    pub fn operation_error(&self) -> Option<&E> {
        match self {
            Self::Operation(error) => Some(error),
            Self::Chunk { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn rate_gate(error: BoxError) -> Arc<dyn Error + Send + Sync + 'static> {
        Arc::from(error)
    }
}

impl<E: fmt::Display> fmt::Display for ItemError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Operation(error) => error.fmt(f),
            Self::Chunk { chunk, error } => write!(f, "chunk {chunk} failed: {error}"),
            Self::MissingResult {
                chunk,
                expected,
                returned,
            } => write!(
                f,
                "chunk {chunk} returned {returned} results for {expected} items; none for this item"
            ),
            Self::Panicked { message } => write!(f, "operation panicked: {message}"),
            Self::RateGate { error } => write!(f, "rate gate refused the item: {error}"),
        }
    }
}

impl<E: Error + 'static> Error for ItemError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            // Transparent: the operation's error is this error's message already.
            Self::Operation(error) => error.source(),
            Self::Chunk { error, .. } => Some(&**error),
            Self::RateGate { error } => Some(&**error as &(dyn Error + 'static)),
            Self::MissingResult { .. } | Self::Panicked { .. } => None,
        }
    }
}

/// One JSON object per record, as written to JSON Lines output:
///
/// - `{"index":0,"key":…,"status":"succeeded","value":…}`
/// - `{"index":1,"key":…,"status":"failed","error_kind":"operation","error":"…"}`
/// - `{"index":2,"key":…,"status":"cancelled"}`
///
/// `key` is left out when the key type has no data (`()`, an unkeyed run). Errors are written
/// with their `Display` text, since error types rarely implement `Serialize`.
impl<K, T, E> Serialize for ItemRecord<K, T, E>
where
    K: Serialize,
    T: Serialize,
    E: fmt::Display,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("index", &self.index)?;
        if size_of::<K>() != 0 {
            map.serialize_entry("key", &self.key)?;
        }
        map.serialize_entry("status", self.outcome.status())?;
        match &self.outcome {
            ItemOutcome::Succeeded(value) => map.serialize_entry("value", value)?,
            ItemOutcome::Failed(error) => {
                map.serialize_entry("error_kind", error.kind())?;
                map.serialize_entry("error", &error.to_string())?;
            }
            ItemOutcome::Cancelled => {}
        }
        map.end()
    }
}
