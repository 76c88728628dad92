//! Contact ids from a HubSpot webhook payload (a JSON array of events).

use std::collections::HashSet;

use serde_json::Value;

/// The contact ids of a webhook batch, in order and without repeats: `objectId` of every
/// `contact.*` event except `contact.deletion` (a deleted contact cannot be read).
///
/// # Errors
///
/// A message when the body is not a JSON array of objects.
pub fn contact_ids(body: &[u8]) -> Result<Vec<String>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("webhook payload is not JSON: {e}"))?;
    let Value::Array(events) = value else {
        return Err("webhook payload is not a JSON array of events".to_owned());
    };
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let Value::Object(event) = event else {
            return Err(format!("webhook event {i} is not an object"));
        };
        let kind = event
            .get("subscriptionType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !kind.starts_with("contact.") || kind == "contact.deletion" {
            continue;
        }
        let id = match event.get("objectId") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => return Err(format!("webhook event {i} has no objectId")),
        };
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_events_give_unique_ids_in_order() {
        let body = br#"[
            {"subscriptionType":"contact.creation","objectId":7},
            {"subscriptionType":"deal.creation","objectId":9},
            {"subscriptionType":"contact.propertyChange","objectId":"8"},
            {"subscriptionType":"contact.creation","objectId":7},
            {"subscriptionType":"contact.deletion","objectId":5}
        ]"#;
        assert_eq!(contact_ids(body), Ok(vec!["7".to_owned(), "8".to_owned()]));
        assert!(contact_ids(b"{}").is_err());
        assert!(contact_ids(b"[1]").is_err());
        assert!(contact_ids(br#"[{"subscriptionType":"contact.creation"}]"#).is_err());
    }
}
