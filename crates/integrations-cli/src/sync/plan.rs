//! What a sync sends, and `{{property}}` templates.

use std::collections::HashMap;

use serde_json::Value;

/// What each subscriber gets.
#[derive(Debug, Clone, PartialEq)]
pub enum SendAction {
    /// A text message; the string is a template.
    Text(String),
    /// A Dynamic Block (`{"version":"v2","content":{..}}`) whose strings are templates.
    Content(Value),
    /// A flow, by namespace.
    Flow(String),
    /// Nothing is sent (only the tag is added).
    None,
}

/// The plan of a sync run.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPlan {
    /// What is sent.
    pub action: SendAction,
    /// Tag added after the send; also the marker that skips subscribers already synced.
    pub tag: Option<String>,
    /// A Facebook message tag for sends outside the 24 h window.
    pub message_tag: Option<String>,
}

/// Replaces every `{{name}}` (spaces inside the braces allowed) with the property `name`, or
/// with nothing when the contact has no such property. Text outside placeholders is kept.
pub fn render_template(template: &str, properties: &HashMap<String, Option<String>>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                if let Some(Some(value)) = properties.get(name) {
                    out.push_str(value);
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Renders every string inside a JSON value.
pub(crate) fn render_value(value: &Value, properties: &HashMap<String, Option<String>>) -> Value {
    match value {
        Value::String(s) => Value::String(render_template(s, properties)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_value(v, properties)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_value(v, properties)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The property names a template refers to.
pub(crate) fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                if !name.is_empty() && !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    names
}

impl SyncPlan {
    /// The contact properties the templates use.
    pub fn template_properties(&self) -> Vec<String> {
        match &self.action {
            SendAction::Text(t) => placeholders(t),
            SendAction::Content(v) => placeholders(&v.to_string()),
            SendAction::Flow(_) | SendAction::None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props() -> HashMap<String, Option<String>> {
        HashMap::from([
            ("firstname".to_owned(), Some("Ada".to_owned())),
            ("lastname".to_owned(), None),
        ])
    }

    #[test]
    fn templates_fill_known_properties_and_blank_unknown_ones() {
        assert_eq!(render_template("Hi {{firstname}}!", &props()), "Hi Ada!");
        assert_eq!(
            render_template("Hi {{ firstname }} {{lastname}}{{x}}.", &props()),
            "Hi Ada ."
        );
        assert_eq!(render_template("no {{ end", &props()), "no {{ end");
        assert_eq!(render_template("", &props()), "");
    }

    #[test]
    fn content_strings_are_rendered_and_placeholders_listed() {
        let v = json!({"content": {"messages": [{"type": "text", "text": "Hi {{firstname}}"}]}});
        let out = render_value(&v, &props());
        assert_eq!(out["content"]["messages"][0]["text"], "Hi Ada");
        let plan = SyncPlan {
            action: SendAction::Content(v),
            tag: None,
            message_tag: None,
        };
        assert_eq!(plan.template_properties(), vec!["firstname".to_owned()]);
    }
}
