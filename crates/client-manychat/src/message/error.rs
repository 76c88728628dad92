//! [`ValidationError`]: why a message was refused before sending, naming the rule and field.

use std::fmt;

/// The rule a message broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The block holds neither a message nor an action.
    Empty,
    /// More than [`MAX_MESSAGES`](crate::message::MAX_MESSAGES) messages.
    TooManyMessages,
    /// More than [`MAX_QUICK_REPLIES`](crate::message::MAX_QUICK_REPLIES) quick replies.
    TooManyQuickReplies,
    /// More than [`MAX_ACTIONS`](crate::message::MAX_ACTIONS) actions.
    TooManyActions,
    /// More than [`MAX_BUTTONS`](crate::message::MAX_BUTTONS) buttons on one message or card.
    TooManyButtons,
    /// A gallery with no card, or more than [`MAX_CARDS`](crate::message::MAX_CARDS).
    CardCount,
    /// A required text (message text, caption, title, name, target, phone) is empty.
    EmptyField,
    /// A text is longer than ManyChat (Meta) shows.
    TextTooLong,
    /// A URL does not parse as an absolute `http` or `https` URL with a host.
    InvalidUrl,
    /// A callback URL is not `https` (ManyChat calls HTTPS endpoints only).
    HttpsRequired,
    /// The chosen channel does not show this kind of content (cards on WhatsApp/Telegram,
    /// video/audio/file on WhatsApp/Instagram, quick replies on WhatsApp/Telegram).
    UnsupportedOnChannel,
    /// A `node` button or quick reply: they do not work through the public API.
    NodeNotSupported,
    /// The button type is not allowed on this message type.
    ButtonNotAllowed,
    /// A JSON message that does not have the dynamic block v2 shape.
    Malformed,
}

impl Rule {
    /// A stable snake_case name for the rule (for logs and JSON output).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooManyMessages => "too_many_messages",
            Self::TooManyQuickReplies => "too_many_quick_replies",
            Self::TooManyActions => "too_many_actions",
            Self::TooManyButtons => "too_many_buttons",
            Self::CardCount => "card_count",
            Self::EmptyField => "empty_field",
            Self::TextTooLong => "text_too_long",
            Self::InvalidUrl => "invalid_url",
            Self::HttpsRequired => "https_required",
            Self::UnsupportedOnChannel => "unsupported_on_channel",
            Self::NodeNotSupported => "node_not_supported",
            Self::ButtonNotAllowed => "button_not_allowed",
            Self::Malformed => "malformed",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message was refused before sending: which rule, which field, and why.
///
/// `field` is the JSON path inside the sendContent body's `data.content`, for example
/// `messages[0].buttons[3]` or `quick_replies`.
///
/// ```
/// use client_manychat::{Message, Rule};
///
/// let error = Message::builder().text("").build().unwrap_err();
/// assert_eq!(error.rule(), Rule::EmptyField);
/// assert_eq!(error.field(), "messages[0].text");
/// assert_eq!(error.to_string(), "invalid message: messages[0].text: must not be empty (empty_field)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    rule: Rule,
    field: String,
    reason: String,
}

impl ValidationError {
    pub(crate) fn new(rule: Rule, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            rule,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The rule that was broken.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The offending field, as a path such as `messages[0].buttons[1].url`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Why, in words.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid message: {}: {} ({})",
            self.field, self.reason, self.rule
        )
    }
}

impl std::error::Error for ValidationError {}
