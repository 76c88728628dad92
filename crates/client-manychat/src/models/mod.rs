//! Serde models of ManyChat's requests and answers. Ids deserialise from numbers or strings;
//! unknown fields are ignored and most fields are optional, so a new or missing field never
//! fails a whole answer.

mod field;
mod id;
mod page;
mod subscriber;

pub use field::{FieldType, FieldValue, FieldValueError};
pub use id::{FieldId, FolderId, GrowthToolId, PageId, SubscriberId, TagId};
pub use page::{BotField, CustomField, Flow, Flows, Folder, GrowthTool, Page, Tag};
pub use subscriber::{NewSubscriber, Subscriber, SubscriberField, SubscriberTag, SubscriberUpdate};

/// A tag named by id or by name (`TagId(5)`, or `"vip"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagRef {
    /// By id.
    Id(TagId),
    /// By name.
    Name(String),
}

impl From<TagId> for TagRef {
    fn from(id: TagId) -> Self {
        Self::Id(id)
    }
}

impl From<&str> for TagRef {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for TagRef {
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

impl From<&Tag> for TagRef {
    fn from(tag: &Tag) -> Self {
        Self::Id(tag.id)
    }
}

/// A custom field named by id or by name (`FieldId(7)`, or `"score"`; names are not
/// case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// By id.
    Id(FieldId),
    /// By name.
    Name(String),
}

impl From<FieldId> for FieldRef {
    fn from(id: FieldId) -> Self {
        Self::Id(id)
    }
}

impl From<&str> for FieldRef {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for FieldRef {
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

impl From<&CustomField> for FieldRef {
    fn from(field: &CustomField) -> Self {
        Self::Id(field.id)
    }
}
