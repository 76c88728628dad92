//! The ManyChat surface: `/fb/page/*`, `/fb/subscriber/*` and `/fb/sending/*` with the
//! `{"status":"success","data":…}` envelope, ManyChat's error bodies and per-operation limits.

mod page;
mod sending;
pub(crate) mod store;
mod subscriber;

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::reply::Reply;
use crate::state::{Shared, bearer};
use crate::util::parse_query;

/// `(method, path, queries per second)` for every served operation, as the Swagger states
/// (`0`: no limit stated, none enforced).
pub(crate) const ROUTES: &[(&str, &str, u32)] = &[
    ("GET", "/fb/page/getInfo", 100),
    ("GET", "/fb/page/getTags", 100),
    ("POST", "/fb/page/createTag", 10),
    ("POST", "/fb/page/removeTag", 10),
    ("POST", "/fb/page/removeTagByName", 10),
    ("GET", "/fb/page/getCustomFields", 100),
    ("GET", "/fb/page/getFlows", 10),
    ("GET", "/fb/page/getWidgets", 100),
    ("GET", "/fb/page/getGrowthTools", 100),
    ("POST", "/fb/page/createCustomField", 10),
    ("GET", "/fb/page/getOtnTopics", 100),
    ("GET", "/fb/page/getBotFields", 100),
    ("POST", "/fb/page/createBotField", 10),
    ("POST", "/fb/page/setBotField", 10),
    ("POST", "/fb/page/setBotFieldByName", 10),
    ("POST", "/fb/page/setBotFields", 10),
    ("GET", "/fb/subscriber/getInfo", 10),
    ("GET", "/fb/subscriber/findByName", 10),
    ("GET", "/fb/subscriber/findBySystemField", 50),
    ("GET", "/fb/subscriber/findByCustomField", 10),
    // no limit is stated for getInfoByUserRef: 0 means none is enforced
    ("GET", "/fb/subscriber/getInfoByUserRef", 0),
    ("POST", "/fb/subscriber/verifyBySignedRequest", 10),
    ("POST", "/fb/subscriber/createSubscriber", 10),
    ("POST", "/fb/subscriber/updateSubscriber", 10),
    ("POST", "/fb/subscriber/addTag", 10),
    ("POST", "/fb/subscriber/addTagByName", 10),
    ("POST", "/fb/subscriber/removeTag", 10),
    ("POST", "/fb/subscriber/removeTagByName", 10),
    ("POST", "/fb/subscriber/setCustomField", 10),
    ("POST", "/fb/subscriber/setCustomFieldByName", 10),
    ("POST", "/fb/subscriber/setCustomFields", 10),
    ("POST", "/fb/sending/sendContent", 25),
    ("POST", "/fb/sending/sendContentByUserRef", 25),
    ("POST", "/fb/sending/sendFlow", 20),
];

/// `{"status":"success"}` with optional `data`.
pub(crate) fn success(data: Option<Value>) -> Reply {
    match data {
        Some(d) => Reply::json(200, &json!({"status": "success", "data": d})),
        None => Reply::json(200, &json!({"status": "success"})),
    }
}

/// ManyChat's `Response_Error`: `message` plus `details.messages[]`.
pub(crate) fn error(status: u16, message: &str, details: &[String]) -> Reply {
    let mut body = json!({"status": "error", "message": message});
    if !details.is_empty() {
        let msgs: Vec<Value> = details.iter().map(|m| json!({"message": m})).collect();
        body["details"] = json!({"messages": msgs});
    }
    Reply::json(status, &body)
}

/// A validation failure (HTTP 400, `"message": "Validation error"`).
pub(crate) fn invalid(detail: impl Into<String>) -> Reply {
    error(400, "Validation error", &[detail.into()])
}

/// ManyChat's `Response_Error_With_Code` (sendContent).
pub(crate) fn coded(message: &str, code: u32) -> Reply {
    Reply::json(
        400,
        &json!({"status": "error", "message": message, "code": code}),
    )
}

/// The JSON body of a scripted status fault on a ManyChat route.
pub(crate) fn fault_body(status: u16) -> Reply {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("Error");
    error(status, reason, &[])
}

/// An integer id given as a number or a numeric string.
pub(crate) fn int_field(v: &Value, name: &str) -> Result<u64, Reply> {
    match v.get(name) {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| invalid(format!("{name}: must be a positive integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| invalid(format!("{name}: must be an integer"))),
        _ => Err(invalid(format!("{name}: This value should not be blank."))),
    }
}

pub(crate) fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, Reply> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid(format!("{name}: This value should not be blank.")))
}

/// Handles one ManyChat request (after faults).
pub(crate) fn handle(shared: &Shared, parts: &http::request::Parts, body: &Bytes) -> Reply {
    let cfg = &shared.config.manychat;
    let expected = cfg.token();
    if bearer(&parts.headers) != Some(expected.as_str()) {
        return error(401, "Invalid access token", &[]);
    }
    let path = parts.uri.path().trim_end_matches('/');
    let Some(&(method, route, qps)) = ROUTES.iter().find(|(_, p, _)| *p == path) else {
        return error(404, "Not found", &[format!("No route for {path}")]);
    };
    if parts.method.as_str() != method {
        return error(
            405,
            "Method not allowed",
            &[format!("{path} accepts {method} only")],
        );
    }
    if cfg.rate_limits && qps > 0 {
        let d = shared.limits.lock().rolling(
            &format!("mc:{route}"),
            qps,
            shared.clock.scaled(Duration::from_secs(1)),
            Instant::now(),
        );
        if !d.allowed {
            return error(
                429,
                "Too many requests",
                &[format!(
                    "Rate limit of {qps} queries per second exceeded for {route}"
                )],
            );
        }
    }
    let query = parse_query(parts.uri.query());
    let body: Value = if parts.method == Method::POST {
        if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return invalid(format!("Request body is not valid JSON: {e}")),
            }
        }
    } else {
        Value::Null
    };
    if parts.method == Method::POST && !body.is_object() {
        return invalid("Request body must be a JSON object");
    }
    let q = |k: &str| query.get(k).and_then(|v| v.first()).map(String::as_str);
    match route {
        "/fb/page/getInfo" => page::info(shared),
        "/fb/page/getTags" => page::tags(shared),
        "/fb/page/createTag" => page::create_tag(shared, &body),
        "/fb/page/removeTag" => page::remove_tag(shared, &body, false),
        "/fb/page/removeTagByName" => page::remove_tag(shared, &body, true),
        "/fb/page/getCustomFields" => page::custom_fields(shared),
        "/fb/page/getFlows" => page::flows(shared),
        "/fb/page/getWidgets" | "/fb/page/getGrowthTools" => page::growth_tools(),
        "/fb/page/createCustomField" => page::create_custom_field(shared, &body),
        "/fb/page/getOtnTopics" => page::otn_topics(),
        "/fb/page/getBotFields" => page::bot_fields(shared),
        "/fb/page/createBotField" => page::create_bot_field(shared, &body),
        "/fb/page/setBotField" => page::set_bot_field(shared, &body, false),
        "/fb/page/setBotFieldByName" => page::set_bot_field(shared, &body, true),
        "/fb/page/setBotFields" => page::set_bot_fields(shared, &body),
        "/fb/subscriber/getInfo" => subscriber::get_info(shared, q("subscriber_id")),
        "/fb/subscriber/findByName" => subscriber::find_by_name(shared, q("name")),
        "/fb/subscriber/findBySystemField" => {
            subscriber::find_by_system_field(shared, q("email"), q("phone"))
        }
        "/fb/subscriber/findByCustomField" => {
            subscriber::find_by_custom_field(shared, q("field_id"), q("field_value"))
        }
        "/fb/subscriber/getInfoByUserRef" => {
            subscriber::get_info_by_user_ref(shared, q("user_ref"))
        }
        "/fb/subscriber/verifyBySignedRequest" => {
            subscriber::verify_by_signed_request(shared, &body)
        }
        "/fb/subscriber/createSubscriber" => subscriber::create(shared, &body),
        "/fb/subscriber/updateSubscriber" => subscriber::update(shared, &body),
        "/fb/subscriber/addTag" => subscriber::tag(shared, &body, true, false),
        "/fb/subscriber/addTagByName" => subscriber::tag(shared, &body, true, true),
        "/fb/subscriber/removeTag" => subscriber::tag(shared, &body, false, false),
        "/fb/subscriber/removeTagByName" => subscriber::tag(shared, &body, false, true),
        "/fb/subscriber/setCustomField" => subscriber::set_field(shared, &body, false),
        "/fb/subscriber/setCustomFieldByName" => subscriber::set_field(shared, &body, true),
        "/fb/subscriber/setCustomFields" => subscriber::set_fields(shared, &body),
        "/fb/sending/sendContent" => sending::send_content(shared, &body),
        "/fb/sending/sendContentByUserRef" => sending::send_content_by_user_ref(shared, &body),
        "/fb/sending/sendFlow" => sending::send_flow(shared, &body),
        _ => error(404, "Not found", &[]),
    }
}
