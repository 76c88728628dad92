//! Dynamic block v2 messages, valid by construction: a [`Message`] only comes out of
//! [`MessageBuilder::build`] or [`Message::from_json`], both of which check every rule below
//! and name the offending field.
//!
//! | rule | limit | source |
//! | --- | --- | --- |
//! | messages per block | 1–[`MAX_MESSAGES`] (or none when there are actions) | ManyChat |
//! | quick replies | ≤ [`MAX_QUICK_REPLIES`] | ManyChat |
//! | actions | ≤ [`MAX_ACTIONS`] (per block and per button) | ManyChat |
//! | buttons per message or card | ≤ [`MAX_BUTTONS`] ([`Limits`]) | Meta (ManyChat states none) |
//! | cards per gallery | 1–[`MAX_CARDS`] | Meta |
//! | text | not empty; ≤ [`MAX_TEXT_CHARS`] characters, ≤ [`MAX_TEXT_WITH_BUTTONS_CHARS`] with buttons ([`Limits`]) | Meta (ManyChat states none) |
//! | captions, titles, names, targets, phones | not empty | ManyChat |
//! | URLs | absolute, starting `http://` or `https://` (lowercase), with a host; callback buttons and quick replies `https` only | ManyChat |
//! | channel | no cards on WhatsApp/Telegram; no video/audio/file on WhatsApp/Instagram; no quick replies on WhatsApp/Telegram | ManyChat |
//! | `node` buttons and quick replies | refused (they do not work through the public API) | ManyChat |
//! | buttons on text | url, call, flow, dynamic block callback (no buy) | ManyChat |
//!
//! The limits marked [`Limits`] are Meta's, since ManyChat publishes none: they are on by
//! default and [`Limits::manychat_only`] switches them off.

mod content;
mod error;
mod validate;

pub use content::{
    Action, AspectRatio, Button, BuyCustomer, CallbackMethod, Card, Cards, Channel, Content,
    ExternalMessageCallback, Media, Product, QuickReply, Text, WebviewSize,
};
pub use error::{Rule, ValidationError};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// The most messages in one block.
pub const MAX_MESSAGES: usize = 10;
/// The most quick replies in one block.
pub const MAX_QUICK_REPLIES: usize = 11;
/// The most actions in one block (and on one button).
pub const MAX_ACTIONS: usize = 5;
/// The most buttons on one message or card (Meta's limit; ManyChat publishes none).
pub const MAX_BUTTONS: usize = 3;
/// The most cards in one gallery.
pub const MAX_CARDS: usize = 10;
/// The longest text message, in characters (Messenger's limit; ManyChat publishes none).
pub const MAX_TEXT_CHARS: usize = 2000;
/// The longest text of a message with buttons, in characters (Messenger's button template).
pub const MAX_TEXT_WITH_BUTTONS_CHARS: usize = 640;

/// Which of the limits that ManyChat itself does not publish are enforced.
///
/// ManyChat documents its own limits (10 messages, 11 quick replies, 5 actions) but none for
/// text length or buttons per message (UNCONFIRMED in the reference). The default,
/// [`Limits::meta`], applies Meta's documented Messenger limits to every channel: at most
/// [`MAX_BUTTONS`] buttons, [`MAX_TEXT_CHARS`] characters of text and
/// [`MAX_TEXT_WITH_BUTTONS_CHARS`] with buttons. [`Limits::manychat_only`] drops all three
/// (Telegram and WhatsApp, for instance, take longer texts than Messenger); every other rule
/// stays. Set one with [`MessageBuilder::limits`] or [`Message::from_json_with_limits`].
///
/// ```
/// use client_manychat::message::Limits;
/// use client_manychat::{Channel, Message, Rule};
///
/// let long = "a".repeat(3000);
/// let error = Message::builder_for(Channel::Telegram).text(long.as_str()).build().unwrap_err();
/// assert_eq!(error.rule(), Rule::TextTooLong);
///
/// let message = Message::builder_for(Channel::Telegram)
///     .limits(Limits::manychat_only())
///     .text(long.as_str())
///     .build()?;
/// assert_eq!(message.messages().len(), 1);
///
/// // Or loosen one limit only.
/// let mut limits = Limits::meta();
/// limits.max_text_chars = Some(4096);
/// assert!(Message::builder_for(Channel::Telegram).limits(limits).text(long.as_str()).build().is_ok());
/// # Ok::<(), client_manychat::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most buttons on one message or card (`None`: no limit).
    pub max_buttons: Option<usize>,
    /// The longest text without buttons, in characters (`None`: no limit).
    pub max_text_chars: Option<usize>,
    /// The longest text of a message with buttons, in characters (`None`: no limit).
    pub max_text_with_buttons_chars: Option<usize>,
}

impl Limits {
    /// Meta's Messenger limits on every channel (the default): 3 buttons, 2000 characters,
    /// 640 with buttons.
    pub const fn meta() -> Self {
        Self {
            max_buttons: Some(MAX_BUTTONS),
            max_text_chars: Some(MAX_TEXT_CHARS),
            max_text_with_buttons_chars: Some(MAX_TEXT_WITH_BUTTONS_CHARS),
        }
    }

    /// Only the limits ManyChat documents: no button count or text length limit.
    pub const fn manychat_only() -> Self {
        Self {
            max_buttons: None,
            max_text_chars: None,
            max_text_with_buttons_chars: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::meta()
    }
}

/// A validated dynamic block v2 message, ready for
/// [`send_content`](crate::ManyChatClient::send_content).
///
/// It serialises to the sendContent `data` object (`{"version":"v2","content":{...}}`); the
/// optional `message_tag` and `otn_topic_name` travel next to it in the request body, exactly as
/// given (never defaulted).
///
/// ```
/// use client_manychat::{Action, Button, Channel, Message, QuickReply, Text};
///
/// let message = Message::builder()
///     .channel(Channel::Instagram)
///     .text(Text::new("Hi!").button(Button::url("Open", "https://example.com")))
///     .action(Action::add_tag("lead"))
///     .quick_reply(QuickReply::flow("Go", "content20180221085508_278589"))
///     .message_tag("ACCOUNT_UPDATE")
///     .build()?;
///
/// assert_eq!(
///     serde_json::to_value(&message)?,
///     serde_json::json!({
///         "version": "v2",
///         "content": {
///             "type": "instagram",
///             "messages": [{"type": "text", "text": "Hi!",
///                 "buttons": [{"type": "url", "caption": "Open", "url": "https://example.com"}]}],
///             "actions": [{"action": "add_tag", "tag_name": "lead"}],
///             "quick_replies": [{"type": "flow", "caption": "Go", "target": "content20180221085508_278589"}]
///         }
///     })
/// );
/// assert_eq!(message.message_tag(), Some("ACCOUNT_UPDATE"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    channel: Channel,
    messages: Vec<Content>,
    actions: Vec<Action>,
    quick_replies: Vec<QuickReply>,
    external_message_callback: Option<ExternalMessageCallback>,
    message_tag: Option<String>,
    otn_topic_name: Option<String>,
}

impl Message {
    /// A builder for a Messenger message (change it with [`MessageBuilder::channel`]).
    pub fn builder() -> MessageBuilder {
        MessageBuilder::default()
    }

    /// A builder for a message on `channel`.
    pub fn builder_for(channel: Channel) -> MessageBuilder {
        MessageBuilder::default().channel(channel)
    }

    /// A plain Messenger text message.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] when the text is empty or too long.
    pub fn text(text: impl Into<String>) -> Result<Self, ValidationError> {
        Self::builder().text(Text::new(text)).build()
    }

    /// Reads and validates a message from JSON: a sendContent `data` object
    /// (`{"version":"v2","content":{...}}`), or a bare `content` object. `content.type` picks the
    /// channel (absent or `"facebook"`: Messenger). `message_tag` and `otn_topic_name` are not
    /// part of `data`; set them with [`Message::with_message_tag`] and
    /// [`Message::with_otn_topic_name`].
    ///
    /// # Errors
    ///
    /// A [`ValidationError`]: [`Rule::Malformed`] (with the JSON path) when the shape is wrong,
    /// an unknown type or a version other than `v2`; otherwise the rule the content breaks.
    pub fn from_json(json: &Value) -> Result<Self, ValidationError> {
        Self::from_json_with_limits(json, Limits::default())
    }

    /// [`Message::from_json`] with the given [`Limits`] instead of the default ones.
    ///
    /// # Errors
    ///
    /// As [`Message::from_json`].
    pub fn from_json_with_limits(json: &Value, limits: Limits) -> Result<Self, ValidationError> {
        let content = match json.get("version") {
            Some(Value::String(v)) if v == "v2" => json
                .get("content")
                .ok_or_else(|| ValidationError::new(Rule::Malformed, "content", "is missing"))?,
            Some(other) => {
                return Err(ValidationError::new(
                    Rule::Malformed,
                    "version",
                    format!("only \"v2\" is supported, got {other}"),
                ));
            }
            None => json.get("content").unwrap_or(json),
        };
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(rename = "type", default)]
            channel: Channel,
            #[serde(default)]
            messages: Vec<Content>,
            #[serde(default)]
            actions: Vec<Action>,
            #[serde(default)]
            quick_replies: Vec<QuickReply>,
            #[serde(default)]
            external_message_callback: Option<ExternalMessageCallback>,
        }
        let raw: Raw = serde_path_to_error::deserialize(content).map_err(|error| {
            let path = error.path().to_string();
            let field = if path == "." {
                "content".to_owned()
            } else {
                path
            };
            ValidationError::new(Rule::Malformed, field, error.into_inner().to_string())
        })?;
        MessageBuilder {
            channel: raw.channel,
            messages: raw.messages,
            actions: raw.actions,
            quick_replies: raw.quick_replies,
            external_message_callback: raw.external_message_callback,
            message_tag: None,
            otn_topic_name: None,
            limits,
        }
        .build()
    }

    /// The same message with a `message_tag` (passed through unchanged).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] ([`Rule::EmptyField`]) for an empty tag.
    pub fn with_message_tag(mut self, tag: impl Into<String>) -> Result<Self, ValidationError> {
        let tag = tag.into();
        check_pass_through(&tag, "message_tag")?;
        self.message_tag = Some(tag);
        Ok(self)
    }

    /// The same message with an `otn_topic_name` (passed through unchanged).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] ([`Rule::EmptyField`]) for an empty topic.
    pub fn with_otn_topic_name(
        mut self,
        topic: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let topic = topic.into();
        check_pass_through(&topic, "otn_topic_name")?;
        self.otn_topic_name = Some(topic);
        Ok(self)
    }

    /// The channel.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The messages.
    pub fn messages(&self) -> &[Content] {
        &self.messages
    }

    /// The actions.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The quick replies.
    pub fn quick_replies(&self) -> &[QuickReply] {
        &self.quick_replies
    }

    /// The `external_message_callback`, when one was set.
    pub fn external_message_callback(&self) -> Option<&ExternalMessageCallback> {
        self.external_message_callback.as_ref()
    }

    /// The message tag, when one was set.
    pub fn message_tag(&self) -> Option<&str> {
        self.message_tag.as_deref()
    }

    /// The one-time-notification topic, when one was set.
    pub fn otn_topic_name(&self) -> Option<&str> {
        self.otn_topic_name.as_deref()
    }

    /// The sendContent `data` object as JSON.
    pub fn to_data(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn check_pass_through(value: &str, field: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new(
            Rule::EmptyField,
            field,
            "must not be empty when set",
        ))
    } else {
        Ok(())
    }
}

/// The `content` object of the data.
struct ContentJson<'a>(&'a Message);

impl Serialize for ContentJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(kind) = m.channel.content_type() {
            map.serialize_entry("type", kind)?;
        }
        map.serialize_entry("messages", &m.messages)?;
        if !m.actions.is_empty() {
            map.serialize_entry("actions", &m.actions)?;
        }
        if !m.quick_replies.is_empty() {
            map.serialize_entry("quick_replies", &m.quick_replies)?;
        }
        if let Some(callback) = &m.external_message_callback {
            map.serialize_entry("external_message_callback", callback)?;
        }
        map.end()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("version", "v2")?;
        map.serialize_entry("content", &ContentJson(self))?;
        map.end()
    }
}

/// Builds a [`Message`]; [`build`](Self::build) checks every rule.
///
/// Pieces are added in order; nothing is checked until `build`, which reports the first
/// broken rule with the path of the field.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until build() is called"]
pub struct MessageBuilder {
    channel: Channel,
    messages: Vec<Content>,
    actions: Vec<Action>,
    quick_replies: Vec<QuickReply>,
    external_message_callback: Option<ExternalMessageCallback>,
    message_tag: Option<String>,
    otn_topic_name: Option<String>,
    limits: Limits,
}

impl MessageBuilder {
    /// The limits ManyChat does not publish that `build` enforces ([`Limits::meta`] by
    /// default; [`Limits::manychat_only`] drops them).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The channel (Messenger by default).
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = channel;
        self
    }

    /// Adds a text message: a `&str`/`String`, or a [`Text`] with buttons.
    pub fn text(self, text: impl Into<Text>) -> Self {
        self.content(Content::Text(text.into()))
    }

    /// Adds an image: a URL, or a [`Media`] with buttons.
    pub fn image(self, media: impl Into<Media>) -> Self {
        self.content(Content::Image(media.into()))
    }

    /// Adds a video.
    pub fn video(self, media: impl Into<Media>) -> Self {
        self.content(Content::Video(media.into()))
    }

    /// Adds an audio file.
    pub fn audio(self, media: impl Into<Media>) -> Self {
        self.content(Content::Audio(media.into()))
    }

    /// Adds a file.
    pub fn file(self, media: impl Into<Media>) -> Self {
        self.content(Content::File(media.into()))
    }

    /// Adds a gallery of cards.
    pub fn cards(self, cards: Cards) -> Self {
        self.content(Content::Cards(cards))
    }

    /// Adds any message.
    pub fn content(mut self, content: impl Into<Content>) -> Self {
        self.messages.push(content.into());
        self
    }

    /// Adds a quick reply.
    pub fn quick_reply(mut self, reply: QuickReply) -> Self {
        self.quick_replies.push(reply);
        self
    }

    /// Adds an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Sets the `external_message_callback`: the contact's next text message goes to your
    /// server.
    pub fn external_message_callback(mut self, callback: ExternalMessageCallback) -> Self {
        self.external_message_callback = Some(callback);
        self
    }

    /// Sets the `message_tag` sent with the message (for sending outside the 24-hour window,
    /// e.g. `ACCOUNT_UPDATE`). Passed through unchanged; none by default.
    pub fn message_tag(mut self, tag: impl Into<String>) -> Self {
        self.message_tag = Some(tag.into());
        self
    }

    /// Sets the `otn_topic_name` (one-time notification topic). Passed through unchanged.
    pub fn otn_topic_name(mut self, topic: impl Into<String>) -> Self {
        self.otn_topic_name = Some(topic.into());
        self
    }

    /// Checks every rule and builds the message.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the first rule broken and its field (see the
    /// [module docs](crate::message) for the rules).
    pub fn build(self) -> Result<Message, ValidationError> {
        validate::check_block(
            &self.limits,
            self.channel,
            &self.messages,
            &self.actions,
            &self.quick_replies,
        )?;
        if let Some(callback) = &self.external_message_callback {
            validate::check_url(&callback.url, || "external_message_callback.url".to_owned())?;
        }
        if let Some(tag) = &self.message_tag {
            check_pass_through(tag, "message_tag")?;
        }
        if let Some(topic) = &self.otn_topic_name {
            check_pass_through(topic, "otn_topic_name")?;
        }
        Ok(Message {
            channel: self.channel,
            messages: self.messages,
            actions: self.actions,
            quick_replies: self.quick_replies,
            external_message_callback: self.external_message_callback,
            message_tag: self.message_tag,
            otn_topic_name: self.otn_topic_name,
        })
    }
}
