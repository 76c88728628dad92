//! `/fb/page/*`: page info, tags, custom fields, bot fields, flows, growth tools and OTN topics.

use serde_json::{Value, json};

use super::store::{BotField, CustomField, FieldType, ManyChatStore, Tag};
use super::{int_field, invalid, str_field, success};
use crate::reply::Reply;
use crate::state::Shared;

pub(super) fn info(shared: &Shared) -> Reply {
    let c = &shared.config.manychat;
    success(Some(json!({
        "id": c.page_id,
        "name": c.page_name,
        "category": "Coffee Shop",
        "avatar_link": format!("https://manychat.invalid/pages/{}.png", c.page_id),
        "username": "sandboxcoffee",
        "about": "A simulated page served by api-sandbox",
        "description": "Seeded, deterministic test data",
        "is_pro": true,
        "timezone": "UTC+00",
    })))
}

pub(super) fn tags(shared: &Shared) -> Reply {
    let mc = shared.mc.lock();
    success(Some(Value::Array(
        mc.tags.iter().map(ManyChatStore::tag_json).collect(),
    )))
}

pub(super) fn create_tag(shared: &Shared, body: &Value) -> Reply {
    let name = match str_field(body, "name") {
        Ok(n) => n.trim().to_owned(),
        Err(r) => return r,
    };
    let mut mc = shared.mc.lock();
    if mc.tag_by_name(&name).is_some() {
        return invalid(format!("name: Tag with name \"{name}\" already exists"));
    }
    let tag = Tag {
        id: mc.next_tag_id,
        name,
    };
    mc.next_tag_id += 1;
    let j = ManyChatStore::tag_json(&tag);
    mc.tags.push(tag);
    success(Some(json!({ "tag": j })))
}

pub(super) fn remove_tag(shared: &Shared, body: &Value, by_name: bool) -> Reply {
    let mut mc = shared.mc.lock();
    let id = if by_name {
        match str_field(body, "tag_name") {
            Ok(n) => mc.tag_by_name(n).map(|t| t.id),
            Err(r) => return r,
        }
    } else {
        match int_field(body, "tag_id") {
            Ok(id) => mc.tags.iter().find(|t| t.id == id).map(|t| t.id),
            Err(r) => return r,
        }
    };
    let Some(id) = id else {
        return invalid("tag: Tag not found");
    };
    mc.tags.retain(|t| t.id != id);
    for s in mc.subscribers.values_mut() {
        s.tags.retain(|t| *t != id);
    }
    success(None)
}

pub(super) fn custom_fields(shared: &Shared) -> Reply {
    let mc = shared.mc.lock();
    success(Some(Value::Array(
        mc.fields.iter().map(ManyChatStore::field_json).collect(),
    )))
}

pub(super) fn flows(shared: &Shared) -> Reply {
    let mc = shared.mc.lock();
    let flows: Vec<Value> = mc
        .flows
        .iter()
        .map(|f| json!({"ns": f.ns, "name": f.name, "folder_id": f.folder_id}))
        .collect();
    success(Some(json!({
        "flows": flows,
        "folders": [
            {"id": 1, "name": "Onboarding", "parent_id": 0},
            {"id": 2, "name": "Orders", "parent_id": 0},
        ],
    })))
}

/// Growth tools of the page (also served, deprecated, as `getWidgets`).
pub(super) fn growth_tools() -> Reply {
    success(Some(json!([
        {"id": 101, "name": "Website chat widget", "type": "bar"},
        {"id": 102, "name": "Checkout checkbox", "type": "checkbox"},
        {"id": 103, "name": "Spring landing page", "type": "landing"},
        {"id": 104, "name": "Comment autoresponder", "type": "feed_comment"},
    ])))
}

/// One-Time Notification topics of the page.
pub(super) fn otn_topics() -> Reply {
    success(Some(json!([
        {"id": 1, "name": "Channel news", "description": "Updates about the channel"},
        {"id": 2, "name": "Back in stock", "description": "A product is available again"},
    ])))
}

fn field_type(body: &Value) -> Result<FieldType, Reply> {
    let ty = str_field(body, "type")?;
    FieldType::parse(ty).ok_or_else(|| {
        invalid(format!(
            "type: \"{ty}\" is not one of text, number, date, datetime, boolean"
        ))
    })
}

fn description(body: &Value) -> String {
    body.get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub(super) fn create_custom_field(shared: &Shared, body: &Value) -> Reply {
    let name = match str_field(body, "caption") {
        Ok(n) => n.trim().to_owned(),
        Err(r) => return r,
    };
    let ty = match field_type(body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut mc = shared.mc.lock();
    if mc.field_by_name(&name).is_some() {
        return invalid(format!("caption: Custom field \"{name}\" already exists"));
    }
    let field = CustomField {
        id: mc.fields.iter().map(|f| f.id).max().unwrap_or(0) + 1,
        name,
        ty,
        description: description(body),
    };
    let j = ManyChatStore::field_json(&field);
    mc.fields.push(field);
    success(Some(json!({ "field": j })))
}

pub(super) fn bot_fields(shared: &Shared) -> Reply {
    let mc = shared.mc.lock();
    success(Some(Value::Array(
        mc.bot_fields
            .iter()
            .map(ManyChatStore::bot_field_json)
            .collect(),
    )))
}

fn check_value(ty: FieldType, name: &str, value: &Value) -> Result<(), Reply> {
    if value.is_null() || ty.accepts(value) {
        Ok(())
    } else {
        Err(invalid(format!(
            "field_value: Value {value} is not valid for {} field \"{name}\"",
            ty.name()
        )))
    }
}

pub(super) fn create_bot_field(shared: &Shared, body: &Value) -> Reply {
    let name = match str_field(body, "name") {
        Ok(n) => n.trim().to_owned(),
        Err(r) => return r,
    };
    let ty = match field_type(body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if let Err(r) = check_value(ty, &name, &value) {
        return r;
    }
    let mut mc = shared.mc.lock();
    if mc.bot_field_by_name(&name).is_some() {
        return invalid(format!("name: Bot field \"{name}\" already exists"));
    }
    let field = BotField {
        id: mc.bot_fields.iter().map(|f| f.id).max().unwrap_or(0) + 1,
        name,
        ty,
        description: description(body),
        value,
    };
    let j = ManyChatStore::bot_field_json(&field);
    mc.bot_fields.push(field);
    success(Some(json!({ "field": j })))
}

/// Index of the bot field named by `key` (an id number or a name string).
fn bot_field_index(mc: &ManyChatStore, key: &Value) -> Result<usize, Reply> {
    match key {
        Value::Number(n) => n
            .as_u64()
            .and_then(|id| mc.bot_fields.iter().position(|f| f.id == id)),
        Value::String(name) => mc
            .bot_fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name)),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("field: Bot field {key} not found")))
}

pub(super) fn set_bot_field(shared: &Shared, body: &Value, by_name: bool) -> Reply {
    let key = if by_name {
        match str_field(body, "field_name") {
            Ok(n) => json!(n),
            Err(r) => return r,
        }
    } else {
        match int_field(body, "field_id") {
            Ok(id) => json!(id),
            Err(r) => return r,
        }
    };
    let Some(value) = body.get("field_value") else {
        return invalid("field_value: This value should not be blank.");
    };
    let mut mc = shared.mc.lock();
    let i = match bot_field_index(&mc, &key) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let f = &mut mc.bot_fields[i];
    if let Err(r) = check_value(f.ty, &f.name, value) {
        return r;
    }
    f.value = value.clone();
    success(None)
}

pub(super) fn set_bot_fields(shared: &Shared, body: &Value) -> Reply {
    let Some(fields) = body.get("fields").and_then(Value::as_array) else {
        return invalid("fields: This value should not be blank.");
    };
    if fields.is_empty() || fields.len() > 20 {
        return invalid(format!(
            "fields: must hold 1 to 20 items, got {}",
            fields.len()
        ));
    }
    let mut mc = shared.mc.lock();
    // validate everything first so a bad item changes nothing
    let mut plan = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let key = f
            .get("field_id")
            .filter(|v| v.is_number())
            .or_else(|| f.get("field_name").filter(|v| v.is_string()));
        let (Some(key), Some(value)) = (key, f.get("field_value")) else {
            return invalid(format!(
                "fields[{i}]: field_id or field_name and field_value are required"
            ));
        };
        let idx = match bot_field_index(&mc, key) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let bf = &mc.bot_fields[idx];
        if let Err(r) = check_value(bf.ty, &bf.name, value) {
            return r;
        }
        plan.push((idx, value.clone()));
    }
    for (idx, value) in plan {
        mc.bot_fields[idx].value = value;
    }
    success(None)
}
