//! `client.page()`: page info, tags, custom fields, bot fields, flows, growth tools.

use serde::Deserialize;
use serde_json::json;

use super::endpoints;
use crate::client::ManyChatClient;
use crate::error::{InvalidArgument, ManyChatError};
use crate::models::{
    BotField, CustomField, FieldRef, FieldType, FieldValue, Flows, GrowthTool, Page, Tag, TagRef,
};
use crate::request::Call;

/// Page-level operations. Reads are marked `Cacheable` (the cache layer keeps them when the
/// cache is on); writes here drop the cached page reads.
#[derive(Debug, Clone)]
pub struct PageApi {
    client: ManyChatClient,
}

#[derive(Deserialize)]
struct TagData {
    tag: Tag,
}

#[derive(Deserialize)]
struct FieldData<T> {
    field: T,
}

fn non_empty(value: &str, field: &'static str) -> Result<(), InvalidArgument> {
    if value.trim().is_empty() {
        Err(InvalidArgument::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

impl PageApi {
    pub(crate) fn new(client: ManyChatClient) -> Self {
        Self { client }
    }

    /// The page: `GET /fb/page/getInfo`.
    ///
    /// # Errors
    ///
    /// The [`ManyChatError`] of the call.
    pub async fn info(&self) -> Result<Page, ManyChatError> {
        self.client.call(Call::new(&endpoints::PAGE_INFO)).await
    }

    /// Every tag of the page: `GET /fb/page/getTags`.
    ///
    /// # Errors
    ///
    /// The [`ManyChatError`] of the call.
    pub async fn tags(&self) -> Result<Vec<Tag>, ManyChatError> {
        self.client.call(Call::new(&endpoints::TAGS)).await
    }

    /// Creates a tag: `POST /fb/page/createTag`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty name; the API's error when the tag
    /// exists; [`ManyChatError::OutcomeUnknown`] when the answer was lost.
    pub async fn create_tag(&self, name: &str) -> Result<Tag, ManyChatError> {
        non_empty(name, "name")?;
        let call = Call::new(&endpoints::CREATE_TAG).json(&json!({ "name": name }))?;
        let result = self.client.call::<TagData>(call).await;
        self.client.invalidate_page();
        Ok(result?.tag)
    }

    /// Deletes a tag from the page **and from every subscriber** (cannot be undone):
    /// `POST /fb/page/removeTag` or `removeTagByName`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty name; the API's error for an unknown tag.
    pub async fn remove_tag(&self, tag: impl Into<TagRef>) -> Result<(), ManyChatError> {
        let call = match tag.into() {
            TagRef::Id(id) => Call::new(&endpoints::REMOVE_TAG).json(&json!({ "tag_id": id }))?,
            TagRef::Name(name) => {
                non_empty(&name, "tag_name")?;
                Call::new(&endpoints::REMOVE_TAG_BY_NAME).json(&json!({ "tag_name": name }))?
            }
        };
        let result = self.client.call_unit(call).await;
        self.client.invalidate_page();
        result
    }

    /// Every custom field of the page: `GET /fb/page/getCustomFields`.
    ///
    /// # Errors
    ///
    /// The [`ManyChatError`] of the call.
    pub async fn custom_fields(&self) -> Result<Vec<CustomField>, ManyChatError> {
        self.client.call(Call::new(&endpoints::CUSTOM_FIELDS)).await
    }

    /// Creates a custom field: `POST /fb/page/createCustomField`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty caption or a type ManyChat cannot create
    /// ([`FieldType::Other`]); the API's error otherwise.
    pub async fn create_custom_field(
        &self,
        caption: &str,
        field_type: FieldType,
        description: Option<&str>,
    ) -> Result<CustomField, ManyChatError> {
        non_empty(caption, "caption")?;
        if matches!(field_type, FieldType::Other(_)) {
            return Err(InvalidArgument::new(
                "type",
                "must be text, number, date, datetime or boolean",
            )
            .into());
        }
        let mut body = json!({ "caption": caption, "type": field_type });
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        let call = Call::new(&endpoints::CREATE_CUSTOM_FIELD).json(&body)?;
        let result = self.client.call::<FieldData<CustomField>>(call).await;
        self.client.invalidate_page();
        Ok(result?.field)
    }

    /// Every bot field of the page with its value: `GET /fb/page/getBotFields`.
    ///
    /// # Errors
    ///
    /// The [`ManyChatError`] of the call.
    pub async fn bot_fields(&self) -> Result<Vec<BotField>, ManyChatError> {
        self.client.call(Call::new(&endpoints::BOT_FIELDS)).await
    }

    /// Sets a bot field by id or name: `POST /fb/page/setBotField` or `setBotFieldByName`.
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty name; the API's error otherwise.
    pub async fn set_bot_field(
        &self,
        field: impl Into<FieldRef>,
        value: impl Into<FieldValue>,
    ) -> Result<(), ManyChatError> {
        let value = value.into();
        let call = match field.into() {
            FieldRef::Id(id) => Call::new(&endpoints::SET_BOT_FIELD)
                .json(&json!({ "field_id": id, "field_value": value }))?,
            FieldRef::Name(name) => {
                non_empty(&name, "field_name")?;
                Call::new(&endpoints::SET_BOT_FIELD_BY_NAME)
                    .json(&json!({ "field_name": name, "field_value": value }))?
            }
        };
        let result = self.client.call_unit(call).await;
        self.client.invalidate_page();
        result
    }

    /// The page's flows and folders: `GET /fb/page/getFlows`.
    ///
    /// # Errors
    ///
    /// The [`ManyChatError`] of the call.
    pub async fn flows(&self) -> Result<Flows, ManyChatError> {
        self.client.call(Call::new(&endpoints::FLOWS)).await
    }

    /// The page's growth tools: `GET /fb/page/getGrowthTools`.
    ///
    /// # Errors
    ///
    /// The [`ManyChatError`] of the call.
    pub async fn growth_tools(&self) -> Result<Vec<GrowthTool>, ManyChatError> {
        self.client.call(Call::new(&endpoints::GROWTH_TOOLS)).await
    }
}
