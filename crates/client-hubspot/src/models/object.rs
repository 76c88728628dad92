use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Extra;

/// A CRM object (`SimplePublicObject`, with associations and history when asked for).
///
/// Every property value is a string or `null`, as HubSpot sends them (numbers, dates and booleans
/// included); [`CrmObject::property`] reads one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CrmObject {
    /// The object's id (`hs_object_id`).
    pub id: String,
    /// Property values by name.
    #[serde(default)]
    pub properties: HashMap<String, Option<String>>,
    /// Past values of the properties asked for with `propertiesWithHistory`, newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties_with_history: Option<HashMap<String, Vec<PropertyValue>>>,
    /// Associated objects by object type, when asked for with `associations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associations: Option<HashMap<String, AssociationPage>>,
    /// When the object was created (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the object was last updated (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Whether the object is archived (in the recycle bin).
    #[serde(default)]
    pub archived: bool,
    /// When the object was archived (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Every other field HubSpot sent (`url`, `objectWriteTraceId`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl CrmObject {
    /// The value of property `name`, if it is present and not `null`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)?.as_deref()
    }
}

/// A batch upsert result: the object plus whether it was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpsertedObject {
    /// `true` when the upsert created the object, `false` when it updated one.
    #[serde(rename = "new", default)]
    pub created: bool,
    /// The object.
    #[serde(flatten)]
    pub object: CrmObject,
}

/// One past value of a property (`ValueWithTimestamp`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PropertyValue {
    /// The value, as a string.
    #[serde(default)]
    pub value: Option<String>,
    /// When it was set (ISO 8601).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// What set it (`CRM_UI`, `API`, `IMPORT`, ...).
    #[serde(default)]
    pub source_type: Option<String>,
    /// Every other field HubSpot sent (`sourceId`, `sourceLabel`, `updatedByUserId`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The objects of one type associated with an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AssociationPage {
    /// The associated ids.
    #[serde(default)]
    pub results: Vec<AssociatedId>,
    /// The next page of associations, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// One associated object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AssociatedId {
    /// The associated object's id.
    pub id: String,
    /// The association type (`contact_to_company`, ...).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A page of a list (`CollectionResponse...ForwardPaging`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub results: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

impl<T> Page<T> {
    /// The cursor of the next page, `None` on the last page.
    pub fn next_after(&self) -> Option<&str> {
        Some(self.paging.as_ref()?.next.as_ref()?.after.as_str())
    }
}

/// The paging block of a list or search response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Paging {
    /// The next page, absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextPage>,
}

/// The cursor of the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NextPage {
    /// The opaque cursor, passed back verbatim as `after`.
    pub after: String,
    /// A relative link to the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The body of a create or update: property values and, for a create, associations.
///
/// ```
/// use client_hubspot::ObjectInput;
///
/// let input = ObjectInput::new()
///     .property("email", "ada@example.com")
///     .property("firstname", "Ada");
/// assert_eq!(input.properties["firstname"], "Ada");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInput {
    /// Property values by name; an empty string clears a property.
    pub properties: HashMap<String, String>,
    /// Associations to create with the object (create only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub associations: Vec<AssociationInput>,
    /// A trace id HubSpot echoes in batch results and errors. Batch create sets one per input
    /// (the input's position) when it is `None`, to map partial failures back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_write_trace_id: Option<String>,
}

impl ObjectInput {
    /// An input with no properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets property `name` to `value`.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Adds an association to create with the object.
    pub fn association(mut self, association: AssociationInput) -> Self {
        self.associations.push(association);
        self
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ObjectInput {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            properties: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            ..Self::default()
        }
    }
}

/// An association to create with an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssociationInput {
    /// The object to associate with.
    pub to: AssociatedTarget,
    /// The association types.
    pub types: Vec<AssociationSpec>,
}

impl AssociationInput {
    /// An association to object `to_id` with a HubSpot-defined type id
    /// (e.g. 279 = contact to company).
    pub fn hubspot_defined(to_id: impl Into<String>, type_id: u32) -> Self {
        Self {
            to: AssociatedTarget { id: to_id.into() },
            types: vec![AssociationSpec {
                association_category: "HUBSPOT_DEFINED".to_owned(),
                association_type_id: type_id,
            }],
        }
    }
}

/// The target of an [`AssociationInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssociatedTarget {
    /// The target object's id.
    pub id: String,
}

/// An association type: category and id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationSpec {
    /// `HUBSPOT_DEFINED`, `USER_DEFINED` or `INTEGRATOR_DEFINED`.
    pub association_category: String,
    /// The association type id.
    pub association_type_id: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_null_and_unknown_fields() {
        let json = r#"{"id":"7","properties":{"email":"a@b.c","phone":null},
            "createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-02T00:00:00Z",
            "archived":false,"url":"https://app.hubspot.com/x","objectWriteTraceId":"3"}"#;
        let object: CrmObject = serde_json::from_str(json).unwrap();
        assert_eq!(object.property("email"), Some("a@b.c"));
        assert_eq!(object.property("phone"), None);
        assert!(object.properties.contains_key("phone"));
        assert_eq!(object.extra["url"], "https://app.hubspot.com/x");
        assert_eq!(object.extra["objectWriteTraceId"], "3");
        // Round trip keeps the unknown fields.
        let back = serde_json::to_value(&object).unwrap();
        assert_eq!(back["url"], "https://app.hubspot.com/x");
        assert_eq!(back["createdAt"], "2024-01-01T00:00:00Z");
    }

    #[test]
    fn upserted_objects_say_whether_they_are_new() {
        let json = r#"{"id":"9","properties":{},"new":true,"archived":false}"#;
        let upserted: UpsertedObject = serde_json::from_str(json).unwrap();
        assert!(upserted.created);
        assert_eq!(upserted.object.id, "9");
        assert!(!upserted.object.extra.contains_key("new"));
    }

    #[test]
    fn pages_expose_the_next_cursor() {
        let page: Page<CrmObject> = serde_json::from_str(
            r#"{"results":[],"paging":{"next":{"after":"NTI1Cg%3D%3D","link":"?after=x"}}}"#,
        )
        .unwrap();
        assert_eq!(page.next_after(), Some("NTI1Cg%3D%3D"));
        let last: Page<CrmObject> = serde_json::from_str(r#"{"results":[]}"#).unwrap();
        assert_eq!(last.next_after(), None);
    }

    #[test]
    fn inputs_serialize_as_hubspot_expects() {
        let input = ObjectInput::new()
            .property("email", "a@b.c")
            .association(AssociationInput::hubspot_defined("42", 279));
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json["properties"]["email"], "a@b.c");
        assert_eq!(json["associations"][0]["to"]["id"], "42");
        assert_eq!(
            json["associations"][0]["types"][0]["associationTypeId"],
            279
        );
        assert!(json.get("objectWriteTraceId").is_none());
        let collected: ObjectInput = [("a", "1")].into_iter().collect();
        assert_eq!(collected.properties["a"], "1");
    }
}
