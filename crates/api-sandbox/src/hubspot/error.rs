//! HubSpot's error bodies: `status`, `message`, `correlationId`, `category`, optional
//! `errors[]`, `context` and `links`, with a fresh correlation id every time.

use serde_json::{Map, Value, json};

use crate::reply::Reply;
use crate::state::Shared;

/// A property-level validation problem.
#[derive(Debug, Clone)]
pub(crate) struct PropError {
    pub(crate) name: String,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

pub(crate) fn body(shared: &Shared, category: &str, message: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("status".into(), json!("error"));
    m.insert("message".into(), json!(message));
    m.insert("correlationId".into(), json!(shared.ids.uuid()));
    m.insert("category".into(), json!(category));
    m
}

pub(crate) fn error(shared: &Shared, status: u16, category: &str, message: &str) -> Reply {
    Reply::json(status, &Value::Object(body(shared, category, message)))
}

pub(crate) fn with(
    shared: &Shared,
    status: u16,
    category: &str,
    message: &str,
    extra: Value,
) -> Reply {
    let mut m = body(shared, category, message);
    if let Value::Object(e) = extra {
        m.extend(e);
    }
    Reply::json(status, &Value::Object(m))
}

pub(crate) fn validation(shared: &Shared, message: &str) -> Reply {
    error(shared, 400, "VALIDATION_ERROR", message)
}

pub(crate) fn invalid_json(shared: &Shared, e: &serde_json::Error) -> Reply {
    validation(
        shared,
        &format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        ),
    )
}

pub(crate) fn not_found(shared: &Shared) -> Reply {
    error(shared, 404, "OBJECT_NOT_FOUND", "resource not found")
}

/// The 401 HubSpot sends for a missing, malformed or unknown token.
pub(crate) fn unauthorized(shared: &Shared) -> Reply {
    error(
        shared,
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )
}

pub(crate) fn missing_scope(shared: &Shared, scope: &str) -> Reply {
    with(
        shared,
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        json!({
            "errors": [{
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": [scope]}
            }],
            "links": {"scopes": "https://developers.hubspot.com/scopes"}
        }),
    )
}

/// The 429 body for a policy (`TEN_SECONDLY_ROLLING`, `SECONDLY`, `DAILY`).
pub(crate) fn rate_limited(shared: &Shared, policy: &str, group: &str) -> Reply {
    let message = match policy {
        "DAILY" => "You have reached your daily limit.".to_owned(),
        other => format!(
            "You have reached your {} limit.",
            other.to_ascii_lowercase()
        ),
    };
    Reply::json(
        429,
        &json!({
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": shared.ids.uuid(),
            "policyName": policy,
            "groupName": group,
            "requestId": shared.ids.uuid(),
        }),
    )
}

/// HubSpot's `Property values were not valid: [...]` message and `errors[]`.
pub(crate) fn invalid_properties(shared: &Shared, errs: &[PropError]) -> Reply {
    let (message, extra) = property_error_parts(shared.config.hubspot.portal_id, errs);
    with(shared, 400, "VALIDATION_ERROR", &message, extra)
}

pub(crate) fn property_error_parts(portal_id: u64, errs: &[PropError]) -> (String, Value) {
    let inner: Vec<Value> = errs
        .iter()
        .map(|e| {
            json!({
                "isValid": false,
                "message": e.message,
                "error": e.code,
                "name": e.name,
                "localizedErrorMessage": e.message,
                "portalId": portal_id,
            })
        })
        .collect();
    let message = format!("Property values were not valid: {}", Value::Array(inner));
    let errors: Vec<Value> = errs
        .iter()
        .map(|e| {
            json!({
                "message": e.message,
                "code": e.code,
                "in": e.name,
                "context": {"propertyName": [e.name]},
            })
        })
        .collect();
    (message, json!({ "errors": errors }))
}

/// The JSON body of a scripted status fault on a HubSpot route.
pub(crate) fn fault_body(shared: &Shared, status: u16) -> Reply {
    match status {
        429 => rate_limited(
            shared,
            "TEN_SECONDLY_ROLLING",
            &format!(
                "publicapi:private-app-api-calls-ten-secondly:{}",
                shared.config.hubspot.portal_id
            ),
        ),
        423 => error(
            shared,
            423,
            "LOCKED",
            "The record is locked by another update. Retry after at least 2 seconds.",
        ),
        477 => error(
            shared,
            477,
            "MIGRATION_IN_PROGRESS",
            "This account is being migrated to another data-hosting location.",
        ),
        s if s >= 500 => error(
            shared,
            s,
            "INTERNAL_ERROR",
            "internal error, reference: sandbox scripted fault",
        ),
        s => {
            let reason = http::StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("Error");
            error(shared, s, "VALIDATION_ERROR", reason)
        }
    }
}
