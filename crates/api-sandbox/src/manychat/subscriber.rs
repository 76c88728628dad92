//! `/fb/subscriber/*`: lookups, create/update, tags and custom fields.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::store::{FieldType, ManyChatStore, Subscriber, norm_phone};
use super::{coded, int_field, invalid, str_field, success};
use crate::reply::Reply;
use crate::state::Shared;

fn page_id(shared: &Shared) -> u64 {
    shared.config.manychat.page_id
}

fn not_found() -> Reply {
    invalid("subscriber_id: Subscriber does not exist")
}

pub(super) fn get_info(shared: &Shared, id: Option<&str>) -> Reply {
    let Some(id) = id.and_then(|s| s.trim().parse::<u64>().ok()) else {
        return invalid("subscriber_id: This value should not be blank.");
    };
    let mc = shared.mc.lock();
    match mc.subscribers.get(&id) {
        Some(s) => success(Some(mc.subscriber_json(s, page_id(shared)))),
        None => not_found(),
    }
}

pub(super) fn find_by_name(shared: &Shared, name: Option<&str>) -> Reply {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return invalid("name: This value should not be blank.");
    };
    let mc = shared.mc.lock();
    let found: Vec<Value> = mc
        .subscribers
        .values()
        .filter(|s| format!("{} {}", s.first_name, s.last_name).eq_ignore_ascii_case(name))
        .take(100)
        .map(|s| mc.subscriber_json(s, page_id(shared)))
        .collect();
    success(Some(Value::Array(found)))
}

pub(super) fn find_by_system_field(
    shared: &Shared,
    email: Option<&str>,
    phone: Option<&str>,
) -> Reply {
    let mc = shared.mc.lock();
    let id = match (
        email.filter(|e| !e.is_empty()),
        phone.filter(|p| !p.is_empty()),
    ) {
        (Some(_), Some(_)) => return invalid("Only one of email or phone can be set"),
        (None, None) => return invalid("One of email or phone is required"),
        (Some(e), None) => mc.by_email.get(&e.trim().to_ascii_lowercase()).copied(),
        (None, Some(p)) => mc.by_phone.get(&norm_phone(p)).copied(),
    };
    // ManyChat does not document the no-match answer; `data: null` is what clients model
    let data = id
        .and_then(|id| mc.subscribers.get(&id))
        .map_or(Value::Null, |s| mc.subscriber_json(s, page_id(shared)));
    success(Some(data))
}

fn opt_str(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn check_contact_fields(
    body: &Value,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<(), Reply> {
    if let Some(e) = email
        && (!e.contains('@') || e.contains(' '))
    {
        return Err(invalid(format!(
            "email: \"{e}\" is not a valid email address"
        )));
    }
    if let Some(p) = phone
        && (!p.starts_with('+') || norm_phone(p).len() < 8)
    {
        return Err(invalid(format!(
            "phone: \"{p}\" is not a valid phone number in E.164 format"
        )));
    }
    if phone.is_some()
        && body
            .get("has_opt_in_sms")
            .and_then(Value::as_bool)
            .is_none()
    {
        return Err(invalid("has_opt_in_sms: required when phone is set"));
    }
    if email.is_some()
        && body
            .get("has_opt_in_email")
            .and_then(Value::as_bool)
            .is_none()
    {
        return Err(invalid("has_opt_in_email: required when email is set"));
    }
    if body.get("has_opt_in_sms").and_then(Value::as_bool) == Some(true)
        && opt_str(body, "consent_phrase").is_none()
    {
        return Err(invalid(
            "consent_phrase: required when has_opt_in_sms is true",
        ));
    }
    Ok(())
}

fn taken(
    mc: &ManyChatStore,
    email: Option<&str>,
    phone: Option<&str>,
    me: Option<u64>,
) -> Option<Reply> {
    if let Some(e) = email
        && let Some(id) = mc.by_email.get(&e.to_ascii_lowercase())
        && Some(*id) != me
    {
        return Some(invalid("email: Subscriber with this email already exists"));
    }
    if let Some(p) = phone
        && let Some(id) = mc.by_phone.get(&norm_phone(p))
        && Some(*id) != me
    {
        return Some(invalid("phone: Subscriber with this phone already exists"));
    }
    None
}

pub(super) fn create(shared: &Shared, body: &Value) -> Reply {
    let email = opt_str(body, "email");
    let phone = opt_str(body, "phone").or_else(|| opt_str(body, "whatsapp_phone"));
    if email.is_none() && phone.is_none() {
        return invalid("One of phone, whatsapp_phone or email is required");
    }
    if let Err(r) = check_contact_fields(body, email.as_deref(), phone.as_deref()) {
        return r;
    }
    let now = shared.clock.now_ms();
    let mut mc = shared.mc.lock();
    if let Some(r) = taken(&mc, email.as_deref(), phone.as_deref(), None) {
        return r;
    }
    let id = mc.next_subscriber_id;
    let sub = Subscriber {
        id,
        first_name: opt_str(body, "first_name").unwrap_or_default(),
        last_name: opt_str(body, "last_name").unwrap_or_default(),
        gender: opt_str(body, "gender").unwrap_or_default(),
        optin_email: body
            .get("has_opt_in_email")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        optin_phone: body
            .get("has_opt_in_sms")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        email,
        phone,
        locale: "en_US".to_owned(),
        timezone: "UTC+00".to_owned(),
        subscribed_ms: now,
        last_interaction_ms: None,
        tags: Vec::new(),
        fields: BTreeMap::new(),
    };
    mc.insert(sub);
    let Some(s) = mc.subscribers.get(&id) else {
        return not_found();
    };
    success(Some(mc.subscriber_json(s, page_id(shared))))
}

pub(super) fn update(shared: &Shared, body: &Value) -> Reply {
    let id = match int_field(body, "subscriber_id") {
        Ok(id) => id,
        Err(r) => return r,
    };
    let email = opt_str(body, "email");
    let phone = opt_str(body, "phone");
    if let Err(r) = check_contact_fields(body, email.as_deref(), phone.as_deref()) {
        return r;
    }
    let mut mc = shared.mc.lock();
    let Some(mut sub) = mc.subscribers.get(&id).cloned() else {
        return not_found();
    };
    if let Some(r) = taken(&mc, email.as_deref(), phone.as_deref(), Some(id)) {
        return r;
    }
    mc.unindex(&sub);
    if let Some(v) = opt_str(body, "first_name") {
        sub.first_name = v;
    }
    if let Some(v) = opt_str(body, "last_name") {
        sub.last_name = v;
    }
    if let Some(v) = opt_str(body, "gender") {
        sub.gender = v;
    }
    if email.is_some() {
        sub.email = email;
    }
    if phone.is_some() {
        sub.phone = phone;
    }
    if let Some(b) = body.get("has_opt_in_email").and_then(Value::as_bool) {
        sub.optin_email = b;
    }
    if let Some(b) = body.get("has_opt_in_sms").and_then(Value::as_bool) {
        sub.optin_phone = b;
    }
    mc.index(&sub);
    let j = mc.subscriber_json(&sub, page_id(shared));
    mc.subscribers.insert(id, sub);
    success(Some(j))
}

pub(super) fn tag(shared: &Shared, body: &Value, add: bool, by_name: bool) -> Reply {
    let id = match int_field(body, "subscriber_id") {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut mc = shared.mc.lock();
    let tag_id = if by_name {
        match str_field(body, "tag_name") {
            Ok(n) => mc.tag_by_name(n).map(|t| t.id),
            Err(r) => return r,
        }
    } else {
        match int_field(body, "tag_id") {
            Ok(t) => mc.tags.iter().find(|x| x.id == t).map(|x| x.id),
            Err(r) => return r,
        }
    };
    let Some(tag_id) = tag_id else {
        return invalid("tag: Tag not found");
    };
    let Some(sub) = mc.subscribers.get_mut(&id) else {
        return not_found();
    };
    if add {
        if !sub.tags.contains(&tag_id) {
            sub.tags.push(tag_id);
        }
    } else {
        sub.tags.retain(|t| *t != tag_id);
    }
    success(None)
}

/// Sets one field on a subscriber after checking that it exists and the value's type.
fn set_one(mc: &mut ManyChatStore, sub_id: u64, field: &Value, value: &Value) -> Result<(), Reply> {
    let f = match field {
        Value::Number(n) => n
            .as_u64()
            .and_then(|id| mc.fields.iter().find(|f| f.id == id)),
        Value::String(name) => mc.field_by_name(name),
        _ => None,
    }
    .cloned()
    .ok_or_else(|| invalid(format!("field: Custom field {field} not found")))?;
    if !value.is_null() && !f.ty.accepts(value) {
        return Err(invalid(format!(
            "field_value: Value {value} is not valid for {} field \"{}\"",
            f.ty.name(),
            f.name
        )));
    }
    let sub = mc.subscribers.get_mut(&sub_id).ok_or_else(not_found)?;
    if value.is_null() {
        sub.fields.remove(&f.id);
    } else {
        sub.fields.insert(f.id, value.clone());
        mc.touch_field(sub_id, f.id);
    }
    Ok(())
}

pub(super) fn set_field(shared: &Shared, body: &Value, by_name: bool) -> Reply {
    let id = match int_field(body, "subscriber_id") {
        Ok(id) => id,
        Err(r) => return r,
    };
    let field = if by_name {
        match str_field(body, "field_name") {
            Ok(n) => json!(n),
            Err(r) => return r,
        }
    } else {
        match int_field(body, "field_id") {
            Ok(f) => json!(f),
            Err(r) => return r,
        }
    };
    let Some(value) = body.get("field_value") else {
        return invalid("field_value: This value should not be blank.");
    };
    let mut mc = shared.mc.lock();
    if !mc.subscribers.contains_key(&id) {
        return not_found();
    }
    match set_one(&mut mc, id, &field, value) {
        Ok(()) => success(None),
        Err(r) => r,
    }
}

pub(super) fn set_fields(shared: &Shared, body: &Value) -> Reply {
    let id = match int_field(body, "subscriber_id") {
        Ok(id) => id,
        Err(r) => return r,
    };
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
    if !mc.subscribers.contains_key(&id) {
        return not_found();
    }
    // validate all first so a bad item changes nothing
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
        plan.push((key.clone(), value.clone()));
    }
    let snapshot = mc.subscribers.get(&id).map(|s| s.fields.clone());
    for (key, value) in &plan {
        if let Err(r) = set_one(&mut mc, id, key, value) {
            if let (Some(s), Some(old)) = (mc.subscribers.get_mut(&id), snapshot) {
                s.fields = old;
            }
            return r;
        }
    }
    success(None)
}

/// `findByCustomField`: Text and Number fields only, newest write of the field first, ≤ 100.
pub(super) fn find_by_custom_field(
    shared: &Shared,
    field_id: Option<&str>,
    value: Option<&str>,
) -> Reply {
    let Some(field_id) = field_id.and_then(|s| s.trim().parse::<u64>().ok()) else {
        return invalid("field_id: This value should not be blank.");
    };
    let Some(value) = value else {
        return invalid("field_value: This value should not be blank.");
    };
    let mc = shared.mc.lock();
    let Some(field) = mc.fields.iter().find(|f| f.id == field_id) else {
        return invalid(format!("field_id: Custom field {field_id} not found"));
    };
    let wanted: Value = match field.ty {
        FieldType::Text => json!(value),
        FieldType::Number => match value.trim().parse::<f64>() {
            Ok(n) => json!(n),
            Err(_) => {
                return invalid(format!(
                    "field_value: \"{value}\" is not a number for number field \"{}\"",
                    field.name
                ));
            }
        },
        other => {
            return invalid(format!(
                "field_id: search is supported for text and number fields only, \"{}\" is {}",
                field.name,
                other.name()
            ));
        }
    };
    let same = |v: &Value| match (v, &wanted) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    };
    let mut found: Vec<(u64, u64)> = mc
        .subscribers
        .values()
        .filter(|s| s.fields.get(&field_id).is_some_and(same))
        .map(|s| {
            let seq = mc.field_writes.get(&(s.id, field_id)).copied().unwrap_or(0);
            (seq, s.id)
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let data: Vec<Value> = found
        .iter()
        .take(100)
        .filter_map(|(_, id)| mc.subscribers.get(id))
        .map(|s| mc.subscriber_json(s, page_id(shared)))
        .collect();
    success(Some(Value::Array(data)))
}

/// `getInfoByUserRef`: 2011 when the ref is not registered, 2012 when it is not linked yet.
pub(super) fn get_info_by_user_ref(shared: &Shared, user_ref: Option<&str>) -> Reply {
    let Some(r) = user_ref.and_then(|s| s.trim().parse::<u64>().ok()) else {
        return invalid("user_ref: This value should not be blank.");
    };
    let mc = shared.mc.lock();
    match mc.user_refs.get(&r) {
        None => coded("user_ref is not registered", 2011),
        Some(None) => coded("user_ref is not linked to a subscriber yet", 2012),
        Some(Some(id)) => match mc.subscribers.get(id) {
            Some(s) => success(Some(mc.subscriber_json(s, page_id(shared)))),
            None => coded("user_ref is not linked to a subscriber yet", 2012),
        },
    }
}

/// `verifyBySignedRequest`: the subscriber must exist and `signed_request` must look like
/// Messenger's `<signature>.<payload>`.
pub(super) fn verify_by_signed_request(shared: &Shared, body: &Value) -> Reply {
    let id = match int_field(body, "subscriber_id") {
        Ok(id) => id,
        Err(r) => return r,
    };
    let signed = match str_field(body, "signed_request") {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !signed.contains('.') {
        return invalid("signed_request: The signed request is not valid");
    }
    if !shared.mc.lock().subscribers.contains_key(&id) {
        return not_found();
    }
    success(None)
}
