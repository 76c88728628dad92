//! Page-level models: the page, tags, custom fields, bot fields, flows, growth tools.

use super::field::FieldType;
use super::id::{FieldId, FolderId, GrowthToolId, PageId, TagId};
use serde::Deserialize;
use serde_json::Value;

/// The page (`/fb/page/getInfo`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Page {
    /// The page id (the Facebook page id for Messenger pages).
    pub id: PageId,
    /// The page's name.
    #[serde(default)]
    pub name: String,
    /// Its category.
    #[serde(default)]
    pub category: Option<String>,
    /// Its avatar's URL.
    #[serde(default)]
    pub avatar_link: Option<String>,
    /// Its username.
    #[serde(default)]
    pub username: Option<String>,
    /// Its "about" text.
    #[serde(default)]
    pub about: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the page has ManyChat Pro.
    #[serde(default)]
    pub is_pro: Option<bool>,
    /// Its timezone, e.g. `UTC+00`.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// The tag id.
    pub id: TagId,
    /// The tag's name.
    pub name: String,
}

/// A custom field of the page (its definition, no value).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct CustomField {
    /// The field id.
    pub id: FieldId,
    /// The field's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A bot field (a page-wide variable) with its current value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BotField {
    /// The field id.
    pub id: FieldId,
    /// The field's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its current value (`null` when unset).
    #[serde(default)]
    pub value: Value,
}

/// A flow (what `send_flow` starts).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Flow {
    /// The flow's namespace, e.g. `content20180221085508_278589`.
    pub ns: String,
    /// The flow's name.
    #[serde(default)]
    pub name: String,
    /// The folder holding it (`0` or absent at the top level).
    #[serde(default)]
    pub folder_id: Option<FolderId>,
}

/// A folder of flows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Folder {
    /// The folder id.
    pub id: FolderId,
    /// The folder's name.
    #[serde(default)]
    pub name: String,
    /// The parent folder (`0` or absent at the top level).
    #[serde(default)]
    pub parent_id: Option<FolderId>,
}

/// The page's flows and their folders (`/fb/page/getFlows`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[non_exhaustive]
pub struct Flows {
    /// The flows.
    #[serde(default)]
    pub flows: Vec<Flow>,
    /// The folders.
    #[serde(default)]
    pub folders: Vec<Folder>,
}

/// A growth tool (formerly "widget").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct GrowthTool {
    /// The growth tool id.
    pub id: GrowthToolId,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its type, as ManyChat names it.
    #[serde(rename = "type", default)]
    pub tool_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_reads_the_documented_shape_with_a_numeric_or_string_id() {
        let page: Page = serde_json::from_value(serde_json::json!({
            "id": 1234567, "name": "Coffee", "category": "Shop", "avatar_link": "https://a",
            "username": "coffee", "about": "a", "description": "d", "is_pro": true,
            "timezone": "UTC+00", "unknown_new_field": [1, 2]
        }))
        .expect("page");
        assert_eq!(page.id, PageId(1_234_567));
        assert_eq!(page.is_pro, Some(true));
        let page: Page = serde_json::from_value(serde_json::json!({"id": "1234567", "name": "x"}))
            .expect("page");
        assert_eq!(page.id, PageId(1_234_567));
    }

    #[test]
    fn flows_and_fields_read() {
        let flows: Flows = serde_json::from_value(serde_json::json!({
            "flows": [{"ns": "content1", "name": "Welcome", "folder_id": 1}],
            "folders": [{"id": "1", "name": "Onboarding", "parent_id": 0}]
        }))
        .expect("flows");
        assert_eq!(flows.flows[0].folder_id, Some(FolderId(1)));
        assert_eq!(flows.folders[0].id, FolderId(1));
        let field: BotField = serde_json::from_value(serde_json::json!({
            "id": 7, "name": "count", "type": "number", "description": "", "value": 3
        }))
        .expect("bot field");
        assert_eq!(field.field_type, FieldType::Number);
        assert_eq!(field.value, serde_json::json!(3));
    }
}
