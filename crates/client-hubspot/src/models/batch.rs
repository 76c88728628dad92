use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Extra;
use crate::HubSpotError;

/// One input of a batch update: the object's id (or the value of `id_property`) and the
/// properties to set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchUpdateInput {
    /// The object's id, or its value of `id_property`.
    pub id: String,
    /// A unique property `id` refers to (`email`); `None` means `hs_object_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_property: Option<String>,
    /// Property values to set.
    pub properties: HashMap<String, String>,
}

impl BatchUpdateInput {
    /// An update of object `id` with no properties yet.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            id_property: None,
            properties: HashMap::new(),
        }
    }

    /// Names the unique property `id` refers to.
    pub fn id_property(mut self, name: impl Into<String>) -> Self {
        self.id_property = Some(name.into());
        self
    }

    /// Sets property `name` to `value`.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }
}

/// One input of a batch upsert: the value of a unique property, and the properties to set
/// (the object is created when no object has that value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchUpsertInput {
    /// The value of `id_property` that identifies the object.
    pub id: String,
    /// The unique property (`email` for contacts).
    pub id_property: String,
    /// Property values to set.
    pub properties: HashMap<String, String>,
}

impl BatchUpsertInput {
    /// An upsert of the object whose `id_property` is `id`.
    pub fn new(id_property: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            id_property: id_property.into(),
            properties: HashMap::new(),
        }
    }

    /// Sets property `name` to `value`.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }
}

/// A per-item error of a batch response (`StandardError` in a 207).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StandardError {
    /// `error`.
    #[serde(default)]
    pub status: Option<String>,
    /// `OBJECT_NOT_FOUND`, `VALIDATION_ERROR`, `CONFLICT`, ...
    #[serde(default)]
    pub category: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub message: Option<String>,
    /// Names to values: `ids` (the inputs concerned), `objectWriteTraceId`, ...
    #[serde(default)]
    pub context: HashMap<String, Vec<String>>,
    /// A finer category (any JSON: the spec types it as an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_category: Option<serde_json::Value>,
    /// Per-field details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<serde_json::Value>,
    /// Every other field HubSpot sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why one input of a batch operation has no result.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BatchItemError {
    /// HubSpot reported an error for this input (a 207 multi-status response).
    #[error("hubspot rejected the item: {}", .0.message.as_deref().unwrap_or("no message"))]
    Item(Box<StandardError>),
    /// The whole request holding this input failed (shared by every input of that request).
    #[error("the batch request holding the item failed")]
    Request(#[source] Arc<HubSpotError>),
    /// HubSpot answered the request but returned neither a result nor an error for this input.
    #[error("hubspot returned no result for the item")]
    Missing,
}

impl BatchItemError {
    /// HubSpot's error category (`OBJECT_NOT_FOUND`, `VALIDATION_ERROR`, ...), when known.
    pub fn category(&self) -> Option<&str> {
        match self {
            Self::Item(error) => error.category.as_deref(),
            Self::Request(error) => error.category(),
            Self::Missing => None,
        }
    }

    /// `true` when the object does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Item(error) => error.category.as_deref() == Some("OBJECT_NOT_FOUND"),
            Self::Request(error) => error.is_not_found(),
            Self::Missing => false,
        }
    }

    /// `true` when the request holding this input was a write whose outcome is unknown
    /// ([`HubSpotError::OutcomeUnknown`]): the item may or may not have been applied.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::Request(error) if error.is_outcome_unknown())
    }

    /// The error of the whole request, for [`BatchItemError::Request`].
    pub fn request_error(&self) -> Option<&HubSpotError> {
        match self {
            Self::Request(error) => Some(error),
            _ => None,
        }
    }
}

/// The outcome of a batch operation: one result per input, in input order.
///
/// Inputs are sent in requests of at most 100; a 207 is mapped back to the inputs its errors
/// name, a failed request to every input it held, so every input is accounted for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchResponse<T> {
    /// One result per input, in input order.
    pub items: Vec<Result<T, BatchItemError>>,
    /// How many HTTP requests the operation sent.
    pub requests: usize,
}

impl<T> BatchResponse<T> {
    /// How many inputs there were.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// `true` when there were no inputs.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `true` when every input succeeded.
    pub fn is_complete(&self) -> bool {
        self.items.iter().all(Result::is_ok)
    }

    /// The successful results.
    pub fn successes(&self) -> impl Iterator<Item = &T> {
        self.items.iter().filter_map(|item| item.as_ref().ok())
    }

    /// The failed inputs, as (input position, error).
    pub fn failures(&self) -> impl Iterator<Item = (usize, &BatchItemError)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| item.as_ref().err().map(|e| (i, e)))
    }

    /// The results, in input order.
    pub fn into_items(self) -> Vec<Result<T, BatchItemError>> {
        self.items
    }
}

/// The outcome of a batch archive: `Ok(())` per input whose request succeeded.
pub type BatchArchiveOutcome = BatchResponse<()>;

/// The body of a batch response (200, 201 or 207).
#[derive(Debug, Deserialize)]
pub(crate) struct BatchBody<T> {
    #[serde(default = "Vec::new")]
    pub(crate) results: Vec<T>,
    #[serde(default)]
    pub(crate) errors: Vec<StandardError>,
}
