//! Serde models of the CRM v3 objects API.
//!
//! Response models keep what they do not know: property maps hold every property HubSpot sent
//! (values are `Option<String>`, since HubSpot sends `null` for empty properties), and each model
//! has an `extra` map of the fields this crate does not name.

mod account;
mod batch;
mod object;
mod search;

pub use account::AccountDetails;
pub(crate) use batch::BatchBody;
pub use batch::{
    BatchArchiveOutcome, BatchItemError, BatchResponse, BatchUpdateInput, BatchUpsertInput,
    StandardError,
};
pub use object::{
    AssociatedId, AssociatedTarget, AssociationInput, AssociationPage, AssociationSpec, CrmObject,
    NextPage, ObjectInput, Page, Paging, PropertyValue, UpsertedObject,
};
pub use search::{Filter, FilterGroup, Operator, SearchPage, SearchRequest, Sort, SortDirection};

/// Unknown fields of a model, kept as JSON.
pub type Extra = serde_json::Map<String, serde_json::Value>;
