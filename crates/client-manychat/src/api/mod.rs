//! The typed operations: [`PageApi`] (`client.page()`), [`Subscribers`]
//! (`client.subscribers()`) and the sends on [`ManyChatClient`](crate::ManyChatClient) itself
//! (`send_content`, `send_text`, `send_flow`).

mod page;
mod sending;
mod subscribers;

pub use page::PageApi;
pub use subscribers::{MAX_FIELDS_PER_REQUEST, Subscribers};

/// Every endpoint the client calls, with its bounded operation name (the metrics label and
/// log field). Page reads are cacheable; every `POST` is a write.
pub(crate) mod endpoints {
    use crate::request::Endpoint;

    pub(crate) static HEALTH: Endpoint = Endpoint::get("page.health_check", "/fb/page/getInfo");
    pub(crate) static PAGE_INFO: Endpoint = Endpoint::cached("page.info", "/fb/page/getInfo");
    pub(crate) static TAGS: Endpoint = Endpoint::cached("page.tags", "/fb/page/getTags");
    pub(crate) static CREATE_TAG: Endpoint =
        Endpoint::post("page.create_tag", "/fb/page/createTag");
    pub(crate) static REMOVE_TAG: Endpoint =
        Endpoint::post("page.remove_tag", "/fb/page/removeTag");
    pub(crate) static REMOVE_TAG_BY_NAME: Endpoint =
        Endpoint::post("page.remove_tag", "/fb/page/removeTagByName");
    pub(crate) static CUSTOM_FIELDS: Endpoint =
        Endpoint::cached("page.custom_fields", "/fb/page/getCustomFields");
    pub(crate) static CREATE_CUSTOM_FIELD: Endpoint =
        Endpoint::post("page.create_custom_field", "/fb/page/createCustomField");
    pub(crate) static BOT_FIELDS: Endpoint =
        Endpoint::cached("page.bot_fields", "/fb/page/getBotFields");
    pub(crate) static SET_BOT_FIELD: Endpoint =
        Endpoint::post("page.set_bot_field", "/fb/page/setBotField");
    pub(crate) static SET_BOT_FIELD_BY_NAME: Endpoint =
        Endpoint::post("page.set_bot_field", "/fb/page/setBotFieldByName");
    pub(crate) static FLOWS: Endpoint = Endpoint::cached("page.flows", "/fb/page/getFlows");
    pub(crate) static GROWTH_TOOLS: Endpoint =
        Endpoint::cached("page.growth_tools", "/fb/page/getGrowthTools");

    pub(crate) static SUBSCRIBER_INFO: Endpoint =
        Endpoint::get("subscribers.get", "/fb/subscriber/getInfo");
    pub(crate) static FIND_BY_SYSTEM_FIELD: Endpoint = Endpoint::get(
        "subscribers.find_by_system_field",
        "/fb/subscriber/findBySystemField",
    );
    pub(crate) static FIND_BY_NAME: Endpoint =
        Endpoint::get("subscribers.find_by_name", "/fb/subscriber/findByName");
    pub(crate) static FIND_BY_CUSTOM_FIELD: Endpoint = Endpoint::get(
        "subscribers.find_by_custom_field",
        "/fb/subscriber/findByCustomField",
    );
    pub(crate) static CREATE_SUBSCRIBER: Endpoint =
        Endpoint::post("subscribers.create", "/fb/subscriber/createSubscriber");
    pub(crate) static UPDATE_SUBSCRIBER: Endpoint =
        Endpoint::post("subscribers.update", "/fb/subscriber/updateSubscriber");
    pub(crate) static ADD_TAG: Endpoint =
        Endpoint::post("subscribers.add_tag", "/fb/subscriber/addTag");
    pub(crate) static ADD_TAG_BY_NAME: Endpoint =
        Endpoint::post("subscribers.add_tag", "/fb/subscriber/addTagByName");
    pub(crate) static REMOVE_SUBSCRIBER_TAG: Endpoint =
        Endpoint::post("subscribers.remove_tag", "/fb/subscriber/removeTag");
    pub(crate) static REMOVE_SUBSCRIBER_TAG_BY_NAME: Endpoint =
        Endpoint::post("subscribers.remove_tag", "/fb/subscriber/removeTagByName");
    pub(crate) static SET_CUSTOM_FIELD: Endpoint = Endpoint::post(
        "subscribers.set_custom_field",
        "/fb/subscriber/setCustomField",
    );
    pub(crate) static SET_CUSTOM_FIELD_BY_NAME: Endpoint = Endpoint::post(
        "subscribers.set_custom_field",
        "/fb/subscriber/setCustomFieldByName",
    );
    pub(crate) static SET_CUSTOM_FIELDS: Endpoint = Endpoint::post(
        "subscribers.set_custom_fields",
        "/fb/subscriber/setCustomFields",
    );

    pub(crate) static SEND_CONTENT: Endpoint =
        Endpoint::post("sending.send_content", "/fb/sending/sendContent");
    pub(crate) static SEND_FLOW: Endpoint =
        Endpoint::post("sending.send_flow", "/fb/sending/sendFlow");

    /// Every endpoint above.
    #[cfg(test)]
    pub(crate) static ALL: &[&Endpoint] = &[
        &HEALTH,
        &PAGE_INFO,
        &TAGS,
        &CREATE_TAG,
        &REMOVE_TAG,
        &REMOVE_TAG_BY_NAME,
        &CUSTOM_FIELDS,
        &CREATE_CUSTOM_FIELD,
        &BOT_FIELDS,
        &SET_BOT_FIELD,
        &SET_BOT_FIELD_BY_NAME,
        &FLOWS,
        &GROWTH_TOOLS,
        &SUBSCRIBER_INFO,
        &FIND_BY_SYSTEM_FIELD,
        &FIND_BY_NAME,
        &FIND_BY_CUSTOM_FIELD,
        &CREATE_SUBSCRIBER,
        &UPDATE_SUBSCRIBER,
        &ADD_TAG,
        &ADD_TAG_BY_NAME,
        &REMOVE_SUBSCRIBER_TAG,
        &REMOVE_SUBSCRIBER_TAG_BY_NAME,
        &SET_CUSTOM_FIELD,
        &SET_CUSTOM_FIELD_BY_NAME,
        &SET_CUSTOM_FIELDS,
        &SEND_CONTENT,
        &SEND_FLOW,
    ];
}
