//! `/fb/page/*`: page info, tags, custom fields and flows.

use serde_json::{Value, json};

use super::store::{ManyChatStore, Tag};
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
