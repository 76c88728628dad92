//! The operations: [`Objects`] for any object type, [`Contacts`] for contacts, their options,
//! and the paging streams.

mod batch;
mod contacts;
mod objects;
mod paging;

pub use contacts::Contacts;
pub use objects::{BatchReadOptions, GetOptions, ListOptions, Objects};
pub use paging::{ObjectStream, SearchStream};

/// How many inputs HubSpot accepts in one batch request.
pub const BATCH_LIMIT: usize = 100;
