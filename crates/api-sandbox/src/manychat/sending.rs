//! `/fb/sending/sendContent` (with Dynamic Block v2 validation), `sendContentByUserRef` and
//! `/fb/sending/sendFlow`.
//! Accepted messages are recorded as [`Delivery`] values.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::store::{Delivery, DeliveryKind, ManyChatStore};
use super::{coded, error, int_field, invalid, str_field, success};
use crate::reply::Reply;
use crate::state::Shared;

/// Documented limits of a dynamic block response.
pub(crate) const MAX_MESSAGES: usize = 10;
pub(crate) const MAX_QUICK_REPLIES: usize = 11;
pub(crate) const MAX_ACTIONS: usize = 5;
/// Message tags still accepted after Meta's 2020 change.
pub(crate) const MESSAGE_TAGS: &[&str] = &[
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
    "HUMAN_AGENT",
];
const DAY_MS: i64 = 86_400_000;

fn arr<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a [Value], String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(format!("{at}.{key}: must be an array")),
    }
}

fn need_str(v: &Value, key: &str, at: &str) -> Result<(), String> {
    match v.get(key).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(()),
        _ => Err(format!("{at}.{key}: This value should not be blank.")),
    }
}

fn need_https(v: &Value, key: &str, at: &str) -> Result<(), String> {
    need_str(v, key, at)?;
    let u = v.get(key).and_then(Value::as_str).unwrap_or("");
    if u.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("{at}.{key}: only HTTPS URLs are allowed"))
    }
}

fn check_url(v: &Value, key: &str, at: &str) -> Result<(), String> {
    need_str(v, key, at)?;
    let u = v.get(key).and_then(Value::as_str).unwrap_or("");
    if u.starts_with("https://") || u.starts_with("http://") {
        Ok(())
    } else {
        Err(format!("{at}.{key}: \"{u}\" is not a valid URL"))
    }
}

fn check_button(b: &Value, at: &str) -> Result<(), String> {
    let ty = b.get("type").and_then(Value::as_str).unwrap_or("");
    need_str(b, "caption", at)?;
    match ty {
        "url" => {
            check_url(b, "url", at)?;
            if let Some(w) = b.get("webview_size").and_then(Value::as_str)
                && !["full", "medium", "compact"].contains(&w)
            {
                return Err(format!(
                    "{at}.webview_size: must be full, medium or compact"
                ));
            }
        }
        "call" => need_str(b, "phone", at)?,
        "flow" => need_str(b, "target", at)?,
        "node" => {
            return Err(format!(
                "{at}.type: \"node\" buttons are not supported via the Public API"
            ));
        }
        "buy" => {
            let product = b.get("product").filter(|p| p.is_object());
            let cost_ok = product
                .and_then(|p| p.get("cost"))
                .is_some_and(Value::is_u64);
            if product.is_none() || !cost_ok {
                return Err(format!(
                    "{at}.product: label and integer cost (cents) are required"
                ));
            }
        }
        "dynamic_block_callback" => need_https(b, "url", at)?,
        "" => return Err(format!("{at}.type: This value should not be blank.")),
        other => return Err(format!("{at}.type: unknown button type \"{other}\"")),
    }
    if b.get("actions").is_some() && !["url", "flow", "node"].contains(&ty) {
        return Err(format!(
            "{at}.actions: actions are allowed only on url, flow and node buttons"
        ));
    }
    for (i, a) in arr(b, "actions", at)?.iter().enumerate() {
        check_action(a, &format!("{at}.actions[{i}]"))?;
    }
    Ok(())
}

fn check_action(a: &Value, at: &str) -> Result<(), String> {
    match a.get("action").and_then(Value::as_str).unwrap_or("") {
        "add_tag" | "remove_tag" => need_str(a, "tag_name", at),
        "set_field_value" => {
            need_str(a, "field_name", at)?;
            if a.get("value").is_none() {
                return Err(format!("{at}.value: This value should not be blank."));
            }
            Ok(())
        }
        "unset_field_value" => need_str(a, "field_name", at),
        "" => Err(format!("{at}.action: This value should not be blank.")),
        other => Err(format!("{at}.action: unknown action \"{other}\"")),
    }
}

fn check_message(m: &Value, channel: &str, at: &str) -> Result<(), String> {
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    let allowed_buttons: &[&str] = match ty {
        "text" => {
            need_str(m, "text", at)?;
            &[
                "url",
                "flow",
                "node",
                "call",
                "buy",
                "dynamic_block_callback",
            ]
        }
        "image" => {
            check_url(m, "url", at)?;
            &[
                "url",
                "call",
                "buy",
                "flow",
                "node",
                "dynamic_block_callback",
            ]
        }
        "video" | "audio" | "file" => {
            if channel == "whatsapp" || channel == "instagram" {
                return Err(format!(
                    "{at}.type: {ty} messages are not supported on {channel}"
                ));
            }
            check_url(m, "url", at)?;
            &[
                "url",
                "call",
                "buy",
                "flow",
                "node",
                "dynamic_block_callback",
            ]
        }
        "cards" => {
            if channel == "whatsapp" || channel == "telegram" {
                return Err(format!("{at}.type: cards are not supported on {channel}"));
            }
            let els = arr(m, "elements", at)?;
            if els.is_empty() || els.len() > 10 {
                return Err(format!("{at}.elements: must hold 1 to 10 cards"));
            }
            for (i, e) in els.iter().enumerate() {
                let eat = format!("{at}.elements[{i}]");
                need_str(e, "title", &eat)?;
                for (j, b) in arr(e, "buttons", &eat)?.iter().enumerate() {
                    check_button(b, &format!("{eat}.buttons[{j}]"))?;
                }
            }
            if let Some(r) = m.get("image_aspect_ratio").and_then(Value::as_str)
                && r != "horizontal"
                && r != "square"
            {
                return Err(format!(
                    "{at}.image_aspect_ratio: must be horizontal or square"
                ));
            }
            &[]
        }
        "list" => {
            return Err(format!(
                "{at}.type: \"list\" messages are no longer supported"
            ));
        }
        "" => return Err(format!("{at}.type: This value should not be blank.")),
        other => return Err(format!("{at}.type: unknown message type \"{other}\"")),
    };
    for (i, b) in arr(m, "buttons", at)?.iter().enumerate() {
        let bat = format!("{at}.buttons[{i}]");
        let bt = b.get("type").and_then(Value::as_str).unwrap_or("");
        if !allowed_buttons.is_empty() && !bt.is_empty() && !allowed_buttons.contains(&bt) {
            return Err(format!(
                "{bat}.type: {bt} buttons are not allowed on {ty} messages"
            ));
        }
        check_button(b, &bat)?;
    }
    Ok(())
}

/// Validates a Dynamic Block v2 `data` object as ManyChat documents it.
pub(crate) fn validate_block(data: &Value) -> Result<(), String> {
    if !data.is_object() {
        return Err("data: This value should not be blank.".into());
    }
    match data.get("version").and_then(Value::as_str) {
        Some("v2") => {}
        Some(v) => {
            return Err(format!(
                "data.version: unsupported version \"{v}\", only \"v2\""
            ));
        }
        None => return Err("data.version: This value should not be blank.".into()),
    }
    let Some(content) = data.get("content").filter(|c| c.is_object()) else {
        return Err("data.content: This value should not be blank.".into());
    };
    let channel = match content.get("type").and_then(Value::as_str) {
        None => "facebook",
        Some(c @ ("instagram" | "whatsapp" | "telegram")) => c,
        Some(other) => return Err(format!("data.content.type: unknown channel \"{other}\"")),
    };
    let at = "data.content";
    let messages = arr(content, "messages", at)?;
    let actions = arr(content, "actions", at)?;
    let quick = arr(content, "quick_replies", at)?;
    if messages.len() > MAX_MESSAGES {
        return Err(format!(
            "data.content.messages: at most {MAX_MESSAGES} messages, got {}",
            messages.len()
        ));
    }
    if quick.len() > MAX_QUICK_REPLIES {
        return Err(format!(
            "data.content.quick_replies: at most {MAX_QUICK_REPLIES} quick replies, got {}",
            quick.len()
        ));
    }
    if actions.len() > MAX_ACTIONS {
        return Err(format!(
            "data.content.actions: at most {MAX_ACTIONS} actions, got {}",
            actions.len()
        ));
    }
    if messages.is_empty() && actions.is_empty() {
        return Err("data.content.messages: This value should not be blank.".into());
    }
    for (i, m) in messages.iter().enumerate() {
        check_message(m, channel, &format!("{at}.messages[{i}]"))?;
    }
    for (i, a) in actions.iter().enumerate() {
        check_action(a, &format!("{at}.actions[{i}]"))?;
    }
    if !quick.is_empty() && (channel == "whatsapp" || channel == "telegram") {
        return Err(format!(
            "data.content.quick_replies: not supported on {channel}"
        ));
    }
    for (i, q) in quick.iter().enumerate() {
        let qat = format!("{at}.quick_replies[{i}]");
        match q.get("type").and_then(Value::as_str).unwrap_or("") {
            "flow" => {
                need_str(q, "caption", &qat)?;
                need_str(q, "target", &qat)?;
            }
            "dynamic_block_callback" => {
                need_str(q, "caption", &qat)?;
                need_https(q, "url", &qat)?;
            }
            "node" => {
                return Err(format!(
                    "{qat}.type: \"node\" quick replies are not supported via the Public API"
                ));
            }
            other => return Err(format!("{qat}.type: unknown quick reply type \"{other}\"")),
        }
    }
    Ok(())
}

/// Checks that every tag and field an action names exists, then applies the actions.
fn apply_actions(mc: &mut ManyChatStore, sub_id: u64, actions: &[Value]) -> Result<(), String> {
    let mut plan = Vec::new();
    for a in actions {
        let kind = a.get("action").and_then(Value::as_str).unwrap_or("");
        match kind {
            "add_tag" | "remove_tag" => {
                let name = a.get("tag_name").and_then(Value::as_str).unwrap_or("");
                let tag = mc
                    .tag_by_name(name)
                    .ok_or_else(|| format!("actions: tag \"{name}\" not found"))?;
                plan.push((kind, tag.id, Value::Null));
            }
            _ => {
                let name = a.get("field_name").and_then(Value::as_str).unwrap_or("");
                let f = mc
                    .field_by_name(name)
                    .ok_or_else(|| format!("actions: custom field \"{name}\" not found"))?;
                let value = a.get("value").cloned().unwrap_or(Value::Null);
                if kind == "set_field_value" && !f.ty.accepts(&value) {
                    return Err(format!(
                        "actions: value {value} is not valid for {} field \"{name}\"",
                        f.ty.name()
                    ));
                }
                plan.push((kind, f.id, value));
            }
        }
    }
    let sub = mc
        .subscribers
        .get_mut(&sub_id)
        .ok_or("subscriber_id: Subscriber does not exist")?;
    let mut touched = Vec::new();
    for (kind, id, value) in plan {
        match kind {
            "add_tag" if !sub.tags.contains(&id) => sub.tags.push(id),
            "remove_tag" => sub.tags.retain(|t| *t != id),
            "set_field_value" => {
                sub.fields.insert(id, value);
                touched.push(id);
            }
            "unset_field_value" => {
                sub.fields.remove(&id);
            }
            _ => {}
        }
    }
    for f in touched {
        mc.touch_field(sub_id, f);
    }
    Ok(())
}

fn record(shared: &Shared, mc: &mut ManyChatStore, subscriber_id: u64, kind: DeliveryKind) {
    let seq = mc.deliveries.len() as u64;
    mc.deliveries.push(Delivery {
        seq,
        subscriber_id,
        at: shared.log.since_start(Instant::now()),
        kind,
    });
}

pub(super) fn send_content(shared: &Shared, body: &Value) -> Reply {
    let id = match int_field(body, "subscriber_id") {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(data) = body.get("data") else {
        return invalid("data: This value should not be blank.");
    };
    if let Err(m) = validate_block(data) {
        return invalid(m);
    }
    let tag = match body.get("message_tag") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if MESSAGE_TAGS.contains(&t.as_str()) => Some(t.clone()),
        Some(_) => return error(400, "Unsupported message tag", &[]),
    };
    let now = shared.clock.now_ms();
    let mut mc = shared.mc.lock();
    let Some(sub) = mc.subscribers.get(&id) else {
        return invalid("subscriber_id: Subscriber does not exist");
    };
    let outside_window = sub.last_interaction_ms.is_none_or(|t| now - t > DAY_MS);
    if outside_window && tag.is_none() {
        return coded(
            "Subscriber's last interaction was more than 24 hours ago: a message tag is required",
            3011,
        );
    }
    let actions = data
        .get("content")
        .and_then(|c| c.get("actions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Err(m) = apply_actions(&mut mc, id, &actions) {
        return invalid(m);
    }
    record(
        shared,
        &mut mc,
        id,
        DeliveryKind::Content {
            data: data.clone(),
            message_tag: tag,
        },
    );
    success(None)
}

/// `sendContentByUserRef`: like `sendContent` addressed by a checkbox-plugin `user_ref`;
/// ManyChat documents that `actions` are not processed, so they are ignored. A ref linked to a
/// subscriber is recorded as a [`Delivery`] to that subscriber; an unlinked one in the
/// user-ref delivery list.
pub(super) fn send_content_by_user_ref(shared: &Shared, body: &Value) -> Reply {
    let user_ref = match int_field(body, "user_ref") {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(data) = body.get("data") else {
        return invalid("data: This value should not be blank.");
    };
    if let Err(m) = validate_block(data) {
        return invalid(m);
    }
    let mut mc = shared.mc.lock();
    match mc.user_refs.get(&user_ref).copied() {
        None => invalid("user_ref: User ref is not registered"),
        Some(Some(id)) if mc.subscribers.contains_key(&id) => {
            record(
                shared,
                &mut mc,
                id,
                DeliveryKind::Content {
                    data: data.clone(),
                    message_tag: None,
                },
            );
            success(None)
        }
        Some(_) => {
            mc.user_ref_deliveries.push((user_ref, data.clone()));
            success(None)
        }
    }
}

pub(super) fn send_flow(shared: &Shared, body: &Value) -> Reply {
    let id = match int_field(body, "subscriber_id") {
        Ok(id) => id,
        Err(r) => return r,
    };
    let ns = match str_field(body, "flow_ns") {
        Ok(ns) => ns.to_owned(),
        Err(r) => return r,
    };
    let mut mc = shared.mc.lock();
    if !mc.subscribers.contains_key(&id) {
        return invalid("subscriber_id: Subscriber does not exist");
    }
    if !mc.flows.iter().any(|f| f.ns == ns) {
        return invalid(format!("flow_ns: Flow \"{ns}\" not found"));
    }
    let now = Instant::now();
    let hour = shared.clock.scaled(Duration::from_secs(3600));
    let sends = mc.flow_sends.entry(id).or_default();
    sends.retain(|t| now.saturating_duration_since(*t) < hour);
    if sends.len() >= 100 {
        return error(
            429,
            "Too many requests",
            &["sendFlow: at most 100 flows per subscriber per hour".to_owned()],
        );
    }
    sends.push(now);
    record(shared, &mut mc, id, DeliveryKind::Flow { flow_ns: ns });
    success(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_documented_block() {
        let data = json!({"version": "v2", "content": {
            "messages": [{"type": "text", "text": "Hi", "buttons": [{"type": "url", "caption": "Open", "url": "https://example.com"}]}],
            "actions": [{"action": "add_tag", "tag_name": "vip"}],
            "quick_replies": [{"type": "flow", "caption": "Go", "target": "content20180221085508_278589"}]
        }});
        assert_eq!(validate_block(&data), Ok(()));
    }

    #[test]
    fn rejects_documented_violations() {
        let eleven: Vec<Value> = (0..11)
            .map(|_| json!({"type": "text", "text": "x"}))
            .collect();
        for bad in [
            json!({"version": "v1", "content": {"messages": [{"type": "text", "text": "x"}]}}),
            json!({"version": "v2", "content": {"messages": eleven}}),
            json!({"version": "v2", "content": {"messages": [{"type": "list"}]}}),
            json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x", "buttons": [{"type": "node", "caption": "n", "target": "t"}]}]}}),
            json!({"version": "v2", "content": {"type": "whatsapp", "messages": [{"type": "video", "url": "https://v"}]}}),
            json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x"}], "actions": [{"action": "explode"}]}}),
        ] {
            assert!(validate_block(&bad).is_err(), "{bad}");
        }
    }
}
