//! `client.subscribers()`: lookups, create and update, tags and custom fields.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::endpoints;
use crate::client::ManyChatClient;
use crate::error::{InvalidArgument, ManyChatError};
use crate::models::{
    FieldId, FieldRef, FieldValue, NewSubscriber, Subscriber, SubscriberId, SubscriberUpdate,
    TagRef,
};
use crate::request::Call;

/// The most fields one `setCustomFields` request may set.
pub const MAX_FIELDS_PER_REQUEST: usize = 20;

/// Subscriber operations.
///
/// Reads are never cached by default (a subscriber changes right after a write). Writes (tags,
/// fields, create, update) are never repeated after an ambiguous failure: they come back as
/// [`ManyChatError::OutcomeUnknown`].
#[derive(Debug, Clone)]
pub struct Subscribers {
    client: ManyChatClient,
}

/// `findBySystemField`'s `data`: ManyChat does not document the no-match answer, so `null`, a
/// missing `data`, `{}` and `[]` all mean "no subscriber" (and a one-element list is read too).
struct MaybeSubscriber(Option<Subscriber>);

impl<'de> Deserialize<'de> for MaybeSubscriber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Option::<Value>::deserialize(deserializer)?;
        let one = match value {
            None | Some(Value::Null) => return Ok(Self(None)),
            Some(Value::Array(mut items)) => match items.len() {
                0 => return Ok(Self(None)),
                1 => items.remove(0),
                n => {
                    return Err(D::Error::custom(format!(
                        "expected one subscriber, got a list of {n}"
                    )));
                }
            },
            Some(Value::Object(map)) if map.is_empty() => return Ok(Self(None)),
            Some(other) => other,
        };
        Subscriber::deserialize(one)
            .map(|s| Self(Some(s)))
            .map_err(D::Error::custom)
    }
}

fn non_empty(value: &str, field: &'static str) -> Result<(), InvalidArgument> {
    if value.trim().is_empty() {
        Err(InvalidArgument::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

/// One item of a `setCustomFields` body.
#[derive(Serialize)]
struct FieldItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    field_id: Option<FieldId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field_name: Option<String>,
    field_value: FieldValue,
}

impl Subscribers {
    pub(crate) fn new(client: ManyChatClient) -> Self {
        Self { client }
    }

    /// A subscriber by id: `GET /fb/subscriber/getInfo`.
    ///
    /// # Errors
    ///
    /// The API's error for an unknown subscriber, or the [`ManyChatError`] of the call.
    pub async fn get(&self, id: impl Into<SubscriberId>) -> Result<Subscriber, ManyChatError> {
        let call =
            Call::new(&endpoints::SUBSCRIBER_INFO).query("subscriber_id", &id.into().to_string());
        self.client.call(call).await
    }

    /// The subscriber with this email, or `None`: `GET /fb/subscriber/findBySystemField`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty email, or the [`ManyChatError`] of the
    /// call.
    pub async fn find_by_email(&self, email: &str) -> Result<Option<Subscriber>, ManyChatError> {
        non_empty(email, "email")?;
        self.find_by_system_field("email", email.trim()).await
    }

    /// The subscriber with this phone (E.164, `+15400000000`), or `None`:
    /// `GET /fb/subscriber/findBySystemField`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty phone, or the [`ManyChatError`] of the
    /// call.
    pub async fn find_by_phone(&self, phone: &str) -> Result<Option<Subscriber>, ManyChatError> {
        non_empty(phone, "phone")?;
        self.find_by_system_field("phone", phone.trim()).await
    }

    async fn find_by_system_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Option<Subscriber>, ManyChatError> {
        let call = Call::new(&endpoints::FIND_BY_SYSTEM_FIELD).query(field, value);
        let found: MaybeSubscriber = self.client.call(call).await?;
        Ok(found.0)
    }

    /// Subscribers by full name (at most 100; ManyChat has no paging):
    /// `GET /fb/subscriber/findByName`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty name, or the [`ManyChatError`] of the
    /// call.
    pub async fn find_by_name(&self, name: &str) -> Result<Vec<Subscriber>, ManyChatError> {
        non_empty(name, "name")?;
        let call = Call::new(&endpoints::FIND_BY_NAME).query("name", name.trim());
        self.client.call(call).await
    }

    /// Subscribers whose text or number field `field_id` holds `value` (at most 100, the most
    /// recently updated first): `GET /fb/subscriber/findByCustomField`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for a value that is not text or a number (ManyChat
    /// searches only those), or the [`ManyChatError`] of the call.
    pub async fn find_by_custom_field(
        &self,
        field_id: impl Into<FieldId>,
        value: impl Into<FieldValue>,
    ) -> Result<Vec<Subscriber>, ManyChatError> {
        let value = match value.into() {
            FieldValue::Text(text) => text,
            FieldValue::Number(number) => number.to_string(),
            _ => {
                return Err(InvalidArgument::new(
                    "field_value",
                    "only text and number fields can be searched",
                )
                .into());
            }
        };
        let call = Call::new(&endpoints::FIND_BY_CUSTOM_FIELD)
            .query("field_id", &field_id.into().to_string())
            .query("field_value", &value);
        self.client.call(call).await
    }

    /// Creates a subscriber: `POST /fb/subscriber/createSubscriber`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] when [`NewSubscriber::check`] fails; the API's error
    /// (e.g. the email exists); [`ManyChatError::OutcomeUnknown`] when the answer was lost.
    pub async fn create(&self, subscriber: &NewSubscriber) -> Result<Subscriber, ManyChatError> {
        subscriber.check()?;
        let call = Call::new(&endpoints::CREATE_SUBSCRIBER).json(subscriber)?;
        self.client.call(call).await
    }

    /// Updates a subscriber's fields: `POST /fb/subscriber/updateSubscriber`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] when [`SubscriberUpdate::check`] fails; the API's
    /// error; [`ManyChatError::OutcomeUnknown`] when the answer was lost.
    pub async fn update(
        &self,
        id: impl Into<SubscriberId>,
        update: &SubscriberUpdate,
    ) -> Result<Subscriber, ManyChatError> {
        update.check()?;
        let mut body = serde_json::to_value(update)
            .map_err(|_| InvalidArgument::new("update", "does not serialise to JSON"))?;
        body["subscriber_id"] = json!(id.into());
        let call = Call::new(&endpoints::UPDATE_SUBSCRIBER).json(&body)?;
        self.client.call(call).await
    }

    /// Adds a tag (by id or name) to a subscriber: `POST /fb/subscriber/addTag` or
    /// `addTagByName`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty name; the API's error for an unknown tag
    /// or subscriber; [`ManyChatError::OutcomeUnknown`] when the answer was lost.
    pub async fn add_tag(
        &self,
        id: impl Into<SubscriberId>,
        tag: impl Into<TagRef>,
    ) -> Result<(), ManyChatError> {
        let call = tag_call(
            id.into(),
            tag.into(),
            &endpoints::ADD_TAG,
            &endpoints::ADD_TAG_BY_NAME,
        )?;
        self.client.call_unit(call).await
    }

    /// Removes a tag (by id or name) from a subscriber: `POST /fb/subscriber/removeTag` or
    /// `removeTagByName`.
    ///
    /// # Errors
    ///
    /// As [`add_tag`](Self::add_tag).
    pub async fn remove_tag(
        &self,
        id: impl Into<SubscriberId>,
        tag: impl Into<TagRef>,
    ) -> Result<(), ManyChatError> {
        let call = tag_call(
            id.into(),
            tag.into(),
            &endpoints::REMOVE_SUBSCRIBER_TAG,
            &endpoints::REMOVE_SUBSCRIBER_TAG_BY_NAME,
        )?;
        self.client.call_unit(call).await
    }

    /// Sets one custom field (by id or name, names not case-sensitive) to a typed value:
    /// `POST /fb/subscriber/setCustomField` or `setCustomFieldByName`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty name; the API's error for an unknown
    /// field or a value of the wrong type; [`ManyChatError::OutcomeUnknown`] when the answer
    /// was lost.
    pub async fn set_custom_field(
        &self,
        id: impl Into<SubscriberId>,
        field: impl Into<FieldRef>,
        value: impl Into<FieldValue>,
    ) -> Result<(), ManyChatError> {
        let id = id.into();
        let value = value.into();
        let call = match field.into() {
            FieldRef::Id(field_id) => Call::new(&endpoints::SET_CUSTOM_FIELD).json(
                &json!({ "subscriber_id": id, "field_id": field_id, "field_value": value }),
            )?,
            FieldRef::Name(name) => {
                non_empty(&name, "field_name")?;
                Call::new(&endpoints::SET_CUSTOM_FIELD_BY_NAME).json(
                    &json!({ "subscriber_id": id, "field_name": name, "field_value": value }),
                )?
            }
        };
        self.client.call_unit(call).await
    }

    /// Sets up to [`MAX_FIELDS_PER_REQUEST`] custom fields in one request (all or nothing, as
    /// ManyChat applies them): `POST /fb/subscriber/setCustomFields`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for no fields, more than 20, or an empty name; the
    /// API's error; [`ManyChatError::OutcomeUnknown`] when the answer was lost.
    pub async fn set_custom_fields<F, V>(
        &self,
        id: impl Into<SubscriberId>,
        fields: impl IntoIterator<Item = (F, V)>,
    ) -> Result<(), ManyChatError>
    where
        F: Into<FieldRef>,
        V: Into<FieldValue>,
    {
        let mut items = Vec::new();
        for (field, value) in fields {
            let (field_id, field_name) = match field.into() {
                FieldRef::Id(id) => (Some(id), None),
                FieldRef::Name(name) => {
                    non_empty(&name, "field_name")?;
                    (None, Some(name))
                }
            };
            items.push(FieldItem {
                field_id,
                field_name,
                field_value: value.into(),
            });
        }
        if items.is_empty() {
            return Err(InvalidArgument::new("fields", "must hold at least one field").into());
        }
        if items.len() > MAX_FIELDS_PER_REQUEST {
            return Err(InvalidArgument::new("fields", "must hold at most 20 fields").into());
        }
        let call = Call::new(&endpoints::SET_CUSTOM_FIELDS)
            .json(&json!({ "subscriber_id": id.into(), "fields": items }))?;
        self.client.call_unit(call).await
    }
}

fn tag_call(
    id: SubscriberId,
    tag: TagRef,
    by_id: &'static crate::request::Endpoint,
    by_name: &'static crate::request::Endpoint,
) -> Result<Call, ManyChatError> {
    match tag {
        TagRef::Id(tag_id) => {
            Call::new(by_id).json(&json!({ "subscriber_id": id, "tag_id": tag_id }))
        }
        TagRef::Name(name) => {
            non_empty(&name, "tag_name")?;
            Call::new(by_name).json(&json!({ "subscriber_id": id, "tag_name": name }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_match_shapes_are_none() {
        for body in ["null", "[]", "{}"] {
            let found: MaybeSubscriber = serde_json::from_str(body).expect(body);
            assert!(found.0.is_none(), "{body}");
        }
        let one: MaybeSubscriber =
            serde_json::from_str(r#"[{"id":"5"}]"#).expect("one-element list");
        assert_eq!(one.0.map(|s| s.id), Some(SubscriberId(5)));
        assert!(serde_json::from_str::<MaybeSubscriber>(r#"[{"id":"5"},{"id":"6"}]"#).is_err());
    }
}
