//! The in-memory ManyChat page: subscribers, tags, custom fields, flows and deliveries.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::util::w3c;

/// Type of a custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Text,
    Number,
    Date,
    DateTime,
    Boolean,
}

impl FieldType {
    /// Parses a documented type name.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "number" => Some(Self::Number),
            "date" => Some(Self::Date),
            "datetime" => Some(Self::DateTime),
            "boolean" => Some(Self::Boolean),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Boolean => "boolean",
        }
    }

    /// Checks a `field_value` against the documented typing rules.
    pub(crate) fn accepts(self, v: &Value) -> bool {
        match self {
            Self::Text => v.is_string(),
            Self::Number => v.is_number(),
            Self::Boolean => v.is_boolean(),
            Self::Date => v
                .as_str()
                .is_some_and(|s| s.len() == 10 && crate::util::parse_time_ms(s).is_some()),
            Self::DateTime => v
                .as_str()
                .is_some_and(|s| s.len() >= 19 && crate::util::parse_time_ms(&s[..19]).is_some()),
        }
    }
}

/// A custom field of the page.
#[derive(Debug, Clone)]
pub(crate) struct CustomField {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) ty: FieldType,
    pub(crate) description: String,
}

/// A bot field (a page-level variable) of the page.
#[derive(Debug, Clone)]
pub(crate) struct BotField {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) ty: FieldType,
    pub(crate) description: String,
    pub(crate) value: Value,
}

/// A tag of the page.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub(crate) id: u64,
    pub(crate) name: String,
}

/// A flow of the page.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) folder_id: u64,
}

/// A subscriber (contact) of the page.
#[derive(Debug, Clone)]
pub(crate) struct Subscriber {
    pub(crate) id: u64,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) gender: String,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) optin_email: bool,
    pub(crate) optin_phone: bool,
    pub(crate) locale: String,
    pub(crate) timezone: String,
    pub(crate) subscribed_ms: i64,
    pub(crate) last_interaction_ms: Option<i64>,
    pub(crate) tags: Vec<u64>,
    pub(crate) fields: BTreeMap<u64, Value>,
}

/// What a successful `sendContent` or `sendFlow` delivered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeliveryKind {
    /// A `sendContent` dynamic block (the `data` object as sent).
    Content {
        /// The `data` object of the request.
        data: Value,
        /// The `message_tag`, if any.
        message_tag: Option<String>,
    },
    /// A `sendFlow` call.
    Flow {
        /// The flow namespace.
        flow_ns: String,
    },
}

/// One accepted message, recorded so tests can assert exactly what was delivered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Position in delivery order (starts at 0).
    pub seq: u64,
    /// The subscriber it went to.
    pub subscriber_id: u64,
    /// When it was accepted, as time since the sandbox started (`tokio::time`).
    #[serde(serialize_with = "ser_duration_ms")]
    pub at: Duration,
    /// What was delivered.
    #[serde(flatten)]
    pub kind: DeliveryKind,
}

fn ser_duration_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// The page and its data.
#[derive(Debug, Default)]
pub(crate) struct ManyChatStore {
    pub(crate) subscribers: BTreeMap<u64, Subscriber>,
    pub(crate) by_email: HashMap<String, u64>,
    pub(crate) by_phone: HashMap<String, u64>,
    pub(crate) tags: Vec<Tag>,
    pub(crate) fields: Vec<CustomField>,
    pub(crate) flows: Vec<Flow>,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) next_subscriber_id: u64,
    pub(crate) next_tag_id: u64,
    /// Per-subscriber `sendFlow` times, for the 100-per-hour limit.
    pub(crate) flow_sends: HashMap<u64, Vec<tokio::time::Instant>>,
    /// Bot fields of the page.
    pub(crate) bot_fields: Vec<BotField>,
    /// Registered `user_ref`s (checkbox plugin users) → the subscriber they are linked to.
    pub(crate) user_refs: BTreeMap<u64, Option<u64>>,
    /// Subscriber → its linked `user_ref`.
    pub(crate) ref_of: HashMap<u64, u64>,
    /// `(subscriber, field)` → write sequence number, for `findByCustomField`'s ordering.
    pub(crate) field_writes: HashMap<(u64, u64), u64>,
    /// Counter behind `field_writes`.
    pub(crate) write_seq: u64,
    /// `sendContentByUserRef` deliveries to `user_ref`s not linked to a subscriber.
    pub(crate) user_ref_deliveries: Vec<(u64, Value)>,
}

pub(crate) fn norm_phone(p: &str) -> String {
    p.chars().filter(|c| c.is_ascii_digit()).collect()
}

impl ManyChatStore {
    pub(crate) fn insert(&mut self, s: Subscriber) {
        self.index(&s);
        self.next_subscriber_id = self.next_subscriber_id.max(s.id + 1);
        self.subscribers.insert(s.id, s);
    }

    pub(crate) fn index(&mut self, s: &Subscriber) {
        if let Some(e) = &s.email {
            self.by_email.insert(e.to_ascii_lowercase(), s.id);
        }
        if let Some(p) = &s.phone {
            self.by_phone.insert(norm_phone(p), s.id);
        }
    }

    pub(crate) fn unindex(&mut self, s: &Subscriber) {
        if let Some(e) = &s.email {
            self.by_email.remove(&e.to_ascii_lowercase());
        }
        if let Some(p) = &s.phone {
            self.by_phone.remove(&norm_phone(p));
        }
    }

    /// Records that a subscriber's field was written now (for `findByCustomField`).
    pub(crate) fn touch_field(&mut self, sub: u64, field: u64) {
        self.write_seq += 1;
        self.field_writes.insert((sub, field), self.write_seq);
    }

    pub(crate) fn bot_field_by_name(&self, name: &str) -> Option<&BotField> {
        self.bot_fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn bot_field_json(f: &BotField) -> Value {
        json!({"id": f.id, "name": f.name, "type": f.ty.name(), "description": f.description, "value": f.value})
    }

    pub(crate) fn tag_by_name(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn field_by_name(&self, name: &str) -> Option<&CustomField> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn tag_json(t: &Tag) -> Value {
        json!({"id": t.id, "name": t.name})
    }

    pub(crate) fn field_json(f: &CustomField) -> Value {
        json!({"id": f.id, "name": f.name, "type": f.ty.name(), "description": f.description})
    }

    /// The documented `Subscriber` object.
    pub(crate) fn subscriber_json(&self, s: &Subscriber, page_id: u64) -> Value {
        let tags: Vec<Value> = s
            .tags
            .iter()
            .filter_map(|id| self.tags.iter().find(|t| t.id == *id))
            .map(Self::tag_json)
            .collect();
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|f| {
                let mut v = Self::field_json(f);
                v["value"] = s.fields.get(&f.id).cloned().unwrap_or(Value::Null);
                v
            })
            .collect();
        json!({
            "id": s.id.to_string(),
            "page_id": page_id.to_string(),
            "user_refs": self
                .ref_of
                .get(&s.id)
                .map_or_else(Vec::new, |r| vec![json!({"user_ref": r, "opted_in": true})]),
            "status": "active",
            "first_name": s.first_name,
            "last_name": s.last_name,
            "name": format!("{} {}", s.first_name, s.last_name).trim(),
            "gender": s.gender,
            "profile_pic": format!("https://manychat.invalid/avatars/{}.png", s.id),
            "locale": s.locale,
            "language": if s.locale.starts_with("es") { "Spanish" } else { "English" },
            "timezone": s.timezone,
            "live_chat_url": format!("https://app.manychat.com/fb{page_id}/chat/{}", s.id),
            "last_input_text": Value::Null,
            "optin_phone": s.optin_phone,
            "phone": s.phone,
            "optin_email": s.optin_email,
            "email": s.email,
            "subscribed": w3c(s.subscribed_ms),
            "last_interaction": s.last_interaction_ms.map(w3c),
            "last_seen": s.last_interaction_ms.map(w3c),
            "is_followup_enabled": true,
            "ig_username": Value::Null,
            "ig_id": Value::Null,
            "whatsapp_phone": Value::Null,
            "whatsapp_bsuid": Value::Null,
            "whatsapp_username": Value::Null,
            "optin_whatsapp": false,
            "custom_fields": fields,
            "tags": tags,
        })
    }
}
