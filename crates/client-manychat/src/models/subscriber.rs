//! Subscriber models: the subscriber, and the bodies that create and update one.

use super::field::FieldType;
use super::id::{FieldId, PageId, SubscriberId, TagId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A subscriber (contact) of the page.
///
/// Every field but `id` is optional or defaulted, so that a field ManyChat leaves out (or
/// nulls) never fails a whole response; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Subscriber {
    /// The subscriber id (a string in responses, a number in requests; both are read).
    pub id: SubscriberId,
    /// The page the subscriber belongs to.
    #[serde(default)]
    pub page_id: Option<PageId>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Gender.
    #[serde(default)]
    pub gender: Option<String>,
    /// Profile picture URL.
    #[serde(default)]
    pub profile_pic: Option<String>,
    /// Locale, e.g. `en_US`.
    #[serde(default)]
    pub locale: Option<String>,
    /// Language, e.g. `English`.
    #[serde(default)]
    pub language: Option<String>,
    /// Timezone, e.g. `UTC+00`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Link to the subscriber's live chat.
    #[serde(default)]
    pub live_chat_url: Option<String>,
    /// The last text the subscriber typed.
    #[serde(default)]
    pub last_input_text: Option<String>,
    /// Whether the subscriber opted in to SMS.
    #[serde(default)]
    pub optin_phone: Option<bool>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Whether the subscriber opted in to email.
    #[serde(default)]
    pub optin_email: Option<bool>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// When the subscriber subscribed (W3C date-time).
    #[serde(default)]
    pub subscribed: Option<String>,
    /// When the subscriber last interacted (W3C date-time).
    #[serde(default)]
    pub last_interaction: Option<String>,
    /// When the subscriber was last seen (W3C date-time).
    #[serde(default)]
    pub last_seen: Option<String>,
    /// Whether follow-up messages are enabled.
    #[serde(default)]
    pub is_followup_enabled: Option<bool>,
    /// Instagram username.
    #[serde(default)]
    pub ig_username: Option<String>,
    /// Instagram id (kept as JSON: ManyChat documents it as an integer).
    #[serde(default)]
    pub ig_id: Option<Value>,
    /// WhatsApp phone number.
    #[serde(default)]
    pub whatsapp_phone: Option<String>,
    /// Whether the subscriber opted in to WhatsApp.
    #[serde(default)]
    pub optin_whatsapp: Option<bool>,
    /// The page's custom fields with this subscriber's values.
    #[serde(default)]
    pub custom_fields: Vec<SubscriberField>,
    /// The subscriber's tags.
    #[serde(default)]
    pub tags: Vec<SubscriberTag>,
}

impl Subscriber {
    /// The value of the custom field named `name` (case-insensitive, as ManyChat compares
    /// names), or `None` when the page has no such field or it is unset.
    pub fn custom_field(&self, name: &str) -> Option<&Value> {
        self.custom_fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| &f.value)
            .filter(|v| !v.is_null())
    }

    /// Whether the subscriber has the tag named `name` (case-insensitive).
    pub fn has_tag(&self, name: &str) -> bool {
        self.tags.iter().any(|t| t.name.eq_ignore_ascii_case(name))
    }
}

/// A custom field on a subscriber, with its value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct SubscriberField {
    /// The field id.
    pub id: FieldId,
    /// The field's name.
    #[serde(default)]
    pub name: String,
    /// Its type.
    #[serde(rename = "type", default)]
    pub field_type: Option<FieldType>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The subscriber's value (`null` when unset).
    #[serde(default)]
    pub value: Value,
}

/// A tag on a subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SubscriberTag {
    /// The tag id.
    pub id: TagId,
    /// The tag's name.
    #[serde(default)]
    pub name: String,
}

/// The body of `createSubscriber`: at least one of phone, WhatsApp phone or email, with the
/// consent flags ManyChat requires (checked by [`NewSubscriber::check`] before sending).
///
/// ```
/// use client_manychat::NewSubscriber;
///
/// let new = NewSubscriber::with_email("ada@example.com", true).first_name("Ada");
/// assert!(new.check().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewSubscriber {
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Phone number, E.164 (`+15400000000`); needs `has_opt_in_sms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// WhatsApp phone number, E.164.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_phone: Option<String>,
    /// Email address; needs `has_opt_in_email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Gender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// SMS opt-in; required when `phone` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_opt_in_sms: Option<bool>,
    /// Email opt-in; required when `email` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_opt_in_email: Option<bool>,
    /// The consent text shown to the subscriber; required when `has_opt_in_sms` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_phrase: Option<String>,
}

impl NewSubscriber {
    /// A subscriber identified by email, with its email opt-in.
    pub fn with_email(email: impl Into<String>, has_opt_in_email: bool) -> Self {
        Self {
            email: Some(email.into()),
            has_opt_in_email: Some(has_opt_in_email),
            ..Self::default()
        }
    }

    /// A subscriber identified by phone, with its SMS opt-in; a `true` opt-in also needs
    /// [`consent_phrase`](Self::consent_phrase).
    pub fn with_phone(phone: impl Into<String>, has_opt_in_sms: bool) -> Self {
        Self {
            phone: Some(phone.into()),
            has_opt_in_sms: Some(has_opt_in_sms),
            ..Self::default()
        }
    }

    /// A subscriber identified by WhatsApp phone.
    pub fn with_whatsapp_phone(phone: impl Into<String>) -> Self {
        Self {
            whatsapp_phone: Some(phone.into()),
            ..Self::default()
        }
    }

    /// Sets the first name.
    pub fn first_name(mut self, name: impl Into<String>) -> Self {
        self.first_name = Some(name.into());
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, name: impl Into<String>) -> Self {
        self.last_name = Some(name.into());
        self
    }

    /// Sets the gender.
    pub fn gender(mut self, gender: impl Into<String>) -> Self {
        self.gender = Some(gender.into());
        self
    }

    /// Sets the consent phrase (required with an SMS opt-in).
    pub fn consent_phrase(mut self, phrase: impl Into<String>) -> Self {
        self.consent_phrase = Some(phrase.into());
        self
    }

    /// Checks the rules ManyChat documents for `createSubscriber`.
    ///
    /// # Errors
    ///
    /// An [`InvalidArgument`](crate::InvalidArgument) naming the field: no phone, WhatsApp
    /// phone or email; a phone without `has_opt_in_sms`; an email without `has_opt_in_email`;
    /// `has_opt_in_sms = true` without a consent phrase; an empty value.
    pub fn check(&self) -> Result<(), crate::InvalidArgument> {
        use crate::InvalidArgument as E;
        for (field, value) in [
            ("phone", &self.phone),
            ("whatsapp_phone", &self.whatsapp_phone),
            ("email", &self.email),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(E::new(field, "must not be empty"));
            }
        }
        if self.phone.is_none() && self.whatsapp_phone.is_none() && self.email.is_none() {
            return Err(E::new(
                "phone",
                "one of phone, whatsapp_phone or email is required",
            ));
        }
        check_consent(
            self.phone.is_some(),
            self.email.is_some(),
            self.has_opt_in_sms,
            self.has_opt_in_email,
            self.consent_phrase.as_deref(),
        )
    }
}

fn check_consent(
    phone: bool,
    email: bool,
    sms: Option<bool>,
    mail: Option<bool>,
    phrase: Option<&str>,
) -> Result<(), crate::InvalidArgument> {
    use crate::InvalidArgument as E;
    if phone && sms.is_none() {
        return Err(E::new("has_opt_in_sms", "is required when phone is set"));
    }
    if email && mail.is_none() {
        return Err(E::new("has_opt_in_email", "is required when email is set"));
    }
    if sms == Some(true) && phrase.is_none_or(|p| p.trim().is_empty()) {
        return Err(E::new(
            "consent_phrase",
            "is required when has_opt_in_sms is true",
        ));
    }
    Ok(())
}

/// The body of `updateSubscriber`: only the fields that are set are sent.
///
/// ```
/// use client_manychat::SubscriberUpdate;
///
/// let update = SubscriberUpdate::new().first_name("Ada").last_name("Lovelace");
/// assert!(update.check().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SubscriberUpdate {
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Phone number; needs `has_opt_in_sms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Email address; needs `has_opt_in_email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Gender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// SMS opt-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_opt_in_sms: Option<bool>,
    /// Email opt-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_opt_in_email: Option<bool>,
    /// Consent text; required when `has_opt_in_sms` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_phrase: Option<String>,
}

impl SubscriberUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the first name.
    pub fn first_name(mut self, name: impl Into<String>) -> Self {
        self.first_name = Some(name.into());
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, name: impl Into<String>) -> Self {
        self.last_name = Some(name.into());
        self
    }

    /// Sets the gender.
    pub fn gender(mut self, gender: impl Into<String>) -> Self {
        self.gender = Some(gender.into());
        self
    }

    /// Sets the email and its opt-in.
    pub fn email(mut self, email: impl Into<String>, has_opt_in_email: bool) -> Self {
        self.email = Some(email.into());
        self.has_opt_in_email = Some(has_opt_in_email);
        self
    }

    /// Sets the phone and its SMS opt-in.
    pub fn phone(mut self, phone: impl Into<String>, has_opt_in_sms: bool) -> Self {
        self.phone = Some(phone.into());
        self.has_opt_in_sms = Some(has_opt_in_sms);
        self
    }

    /// Sets the consent phrase.
    pub fn consent_phrase(mut self, phrase: impl Into<String>) -> Self {
        self.consent_phrase = Some(phrase.into());
        self
    }

    /// Checks the consent rules and that something is being changed.
    ///
    /// # Errors
    ///
    /// An [`InvalidArgument`](crate::InvalidArgument) naming the field, as for
    /// [`NewSubscriber::check`], or when no field is set.
    pub fn check(&self) -> Result<(), crate::InvalidArgument> {
        if self == &Self::default() {
            return Err(crate::InvalidArgument::new(
                "update",
                "sets no field to change",
            ));
        }
        check_consent(
            self.phone.is_some(),
            self.email.is_some(),
            self.has_opt_in_sms,
            self.has_opt_in_email,
            self.consent_phrase.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_reads_string_ids_and_nulls() {
        let s: Subscriber = serde_json::from_value(serde_json::json!({
            "id": "123456789", "page_id": "1234567", "first_name": "Ada", "last_name": null,
            "email": "ada@example.com", "ig_id": null, "custom_fields": [
                {"id": 7, "name": "Score", "type": "number", "description": "", "value": 3},
                {"id": "8", "name": "Empty", "type": "text", "value": null}
            ],
            "tags": [{"id": "5", "name": "VIP"}], "brand_new_field": {"x": 1}
        }))
        .expect("subscriber");
        assert_eq!(s.id, SubscriberId(123_456_789));
        assert_eq!(s.page_id, Some(PageId(1_234_567)));
        assert_eq!(s.custom_field("score"), Some(&serde_json::json!(3)));
        assert_eq!(s.custom_field("empty"), None);
        assert!(s.has_tag("vip"));
        assert_eq!(s.custom_fields[1].id, FieldId(8));
    }

    #[test]
    fn create_rules() {
        assert!(NewSubscriber::default().check().is_err());
        let mut phone = NewSubscriber::with_phone("+15400000000", true);
        assert_eq!(phone.check().map_err(|e| e.field), Err("consent_phrase"));
        phone = phone.consent_phrase("I agree");
        assert!(phone.check().is_ok());
        let mut email = NewSubscriber::with_email("a@b.c", false);
        email.has_opt_in_email = None;
        assert_eq!(email.check().map_err(|e| e.field), Err("has_opt_in_email"));
        assert_eq!(
            serde_json::to_value(NewSubscriber::with_email("a@b.c", true)).expect("ser"),
            serde_json::json!({"email": "a@b.c", "has_opt_in_email": true})
        );
        assert_eq!(
            SubscriberUpdate::new().check().map_err(|e| e.field),
            Err("update")
        );
    }
}
