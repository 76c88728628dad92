//! The pieces of a dynamic block v2: contents, buttons, quick replies and actions.
//!
//! Every type serialises to exactly the JSON ManyChat documents
//! (<https://manychat.github.io/dynamic_block_docs/>) and deserialises from it, so a message can
//! also be read from a workflow's JSON (see [`Message::from_json`](crate::Message::from_json)).
//! Fields are public: a piece can hold bad values (an empty caption, a `ftp://` URL). The
//! [`Message`](crate::Message) they go into is only built by a validating builder, so bad
//! values are caught before anything is sent.

use crate::models::FieldValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The messaging channel a message goes out on (`content.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Facebook Messenger (the default; no `content.type` is sent).
    #[default]
    #[serde(rename = "facebook", alias = "messenger")]
    Messenger,
    /// Instagram direct messages.
    Instagram,
    /// WhatsApp.
    #[serde(rename = "whatsapp")]
    WhatsApp,
    /// Telegram.
    Telegram,
}

impl Channel {
    /// The `content.type` value, or `None` for Messenger (which sends none).
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Self::Messenger => None,
            Self::Instagram => Some("instagram"),
            Self::WhatsApp => Some("whatsapp"),
            Self::Telegram => Some("telegram"),
        }
    }

    /// A short lowercase name (`messenger`, `instagram`, `whatsapp`, `telegram`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messenger => "messenger",
            Self::Instagram => "instagram",
            Self::WhatsApp => "whatsapp",
            Self::Telegram => "telegram",
        }
    }

    /// Whether the channel shows video, audio and file messages (not WhatsApp or Instagram).
    pub fn supports_media_files(self) -> bool {
        !matches!(self, Self::WhatsApp | Self::Instagram)
    }

    /// Whether the channel shows cards (not WhatsApp or Telegram).
    pub fn supports_cards(self) -> bool {
        !matches!(self, Self::WhatsApp | Self::Telegram)
    }

    /// Whether the channel shows quick replies (not WhatsApp or Telegram).
    pub fn supports_quick_replies(self) -> bool {
        !matches!(self, Self::WhatsApp | Self::Telegram)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of a dynamic block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Text, with up to 3 buttons.
    Text(Text),
    /// An image (JPG, PNG or GIF) by URL.
    Image(Media),
    /// A video by URL (at most 25 MB; not on WhatsApp or Instagram).
    Video(Media),
    /// An audio file by URL (at most 25 MB; not on WhatsApp or Instagram).
    Audio(Media),
    /// Any other file by URL (at most 25 MB; not on WhatsApp or Instagram).
    File(Media),
    /// A gallery of 1 to 10 cards (not on WhatsApp or Telegram).
    Cards(Cards),
}

impl Content {
    /// The message type as ManyChat names it (`text`, `image`, `video`, `audio`, `file`,
    /// `cards`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Image(_) => "image",
            Self::Video(_) => "video",
            Self::Audio(_) => "audio",
            Self::File(_) => "file",
            Self::Cards(_) => "cards",
        }
    }
}

impl From<Text> for Content {
    fn from(text: Text) -> Self {
        Self::Text(text)
    }
}

impl From<Cards> for Content {
    fn from(cards: Cards) -> Self {
        Self::Cards(cards)
    }
}

/// A text message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// The text (not empty; at most 2000 characters, 640 with buttons).
    pub text: String,
    /// Up to 3 buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

impl Text {
    /// A text with no buttons.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            buttons: Vec::new(),
        }
    }

    /// Adds a button.
    pub fn button(mut self, button: Button) -> Self {
        self.buttons.push(button);
        self
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

/// An image, video, audio or file message: a URL and up to 3 buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// The file's `http(s)` URL.
    pub url: String,
    /// Up to 3 buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

impl Media {
    /// Media at `url`, with no buttons.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            buttons: Vec::new(),
        }
    }

    /// Adds a button.
    pub fn button(mut self, button: Button) -> Self {
        self.buttons.push(button);
        self
    }
}

impl From<&str> for Media {
    fn from(url: &str) -> Self {
        Self::new(url)
    }
}

impl From<String> for Media {
    fn from(url: String) -> Self {
        Self::new(url)
    }
}

/// The shape of card images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AspectRatio {
    /// 1.91:1 (ManyChat's default).
    #[default]
    Horizontal,
    /// 1:1.
    Square,
}

/// A gallery of cards.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cards {
    /// 1 to 10 cards.
    pub elements: Vec<Card>,
    /// The image shape (ManyChat's default, horizontal, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_aspect_ratio: Option<AspectRatio>,
}

impl Cards {
    /// An empty gallery (add 1 to 10 cards).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a card.
    pub fn card(mut self, card: Card) -> Self {
        self.elements.push(card);
        self
    }

    /// Sets the image shape.
    pub fn aspect_ratio(mut self, ratio: AspectRatio) -> Self {
        self.image_aspect_ratio = Some(ratio);
        self
    }
}

/// One card of a gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// The title (not empty).
    pub title: String,
    /// The subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// The image's `http(s)` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// The `http(s)` URL opened when the card is tapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_url: Option<String>,
    /// Up to 3 buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

impl Card {
    /// A card with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            image_url: None,
            action_url: None,
            buttons: Vec::new(),
        }
    }

    /// Sets the subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Sets the image URL.
    pub fn image_url(mut self, url: impl Into<String>) -> Self {
        self.image_url = Some(url.into());
        self
    }

    /// Sets the URL opened when the card is tapped.
    pub fn action_url(mut self, url: impl Into<String>) -> Self {
        self.action_url = Some(url.into());
        self
    }

    /// Adds a button.
    pub fn button(mut self, button: Button) -> Self {
        self.buttons.push(button);
        self
    }
}

/// How large a `url` button's webview opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebviewSize {
    /// Full screen.
    Full,
    /// About half the screen.
    Medium,
    /// About a third of the screen.
    Compact,
}

/// The HTTP method of a dynamic block callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackMethod {
    /// `GET`.
    Get,
    /// `POST` (the default).
    #[default]
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

/// `content.external_message_callback`: ManyChat sends the contact's **next** text message to
/// your server (with `{{last_input_text}}` substituted into the payload), and shows the dynamic
/// block your server answers with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalMessageCallback {
    /// The `http(s)` URL called.
    pub url: String,
    /// The HTTP method.
    #[serde(default)]
    pub method: CallbackMethod,
    /// Headers sent with the call (for example a shared secret your server checks).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The JSON payload sent.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub payload: Value,
    /// How long ManyChat waits for the contact's message, in seconds (ManyChat's default and
    /// maximum: one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

impl ExternalMessageCallback {
    /// A callback that `POST`s `payload` to `url`, with ManyChat's default timeout.
    pub fn new(url: impl Into<String>, payload: Value) -> Self {
        Self {
            url: url.into(),
            method: CallbackMethod::Post,
            headers: BTreeMap::new(),
            payload,
            timeout: None,
        }
    }

    /// Adds a header sent with the call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets how long ManyChat waits for the contact's message, in seconds.
    pub fn timeout_secs(mut self, seconds: u64) -> Self {
        self.timeout = Some(seconds);
        self
    }
}

/// What a `buy` button asks the customer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyCustomer {
    /// Ask for a shipping address.
    #[serde(default)]
    pub shipping_address: bool,
    /// Ask for a contact name.
    #[serde(default)]
    pub contact_name: bool,
    /// Ask for a contact phone.
    #[serde(default)]
    pub contact_phone: bool,
    /// Ask for a contact email.
    #[serde(default)]
    pub contact_email: bool,
}

/// The product a `buy` button sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The product's label (not empty).
    pub label: String,
    /// The price in cents.
    pub cost: u64,
}

/// A button on a text, media or card message.
///
/// `node` buttons exist in ManyChat's format but do not work through the public API: a message
/// holding one is refused by validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Button {
    /// Opens a web page.
    Url {
        /// The label (not empty).
        caption: String,
        /// The `http(s)` URL.
        url: String,
        /// The webview's size, when not ManyChat's default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        webview_size: Option<WebviewSize>,
        /// Actions run when tapped.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<Action>,
    },
    /// Calls a phone number.
    Call {
        /// The label (not empty).
        caption: String,
        /// The phone number (not empty).
        phone: String,
    },
    /// Starts a flow.
    Flow {
        /// The label (not empty).
        caption: String,
        /// The flow's namespace (not empty).
        target: String,
        /// Actions run when tapped.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<Action>,
    },
    /// Goes to a content node: **refused**, it does not work through the public API.
    Node {
        /// The label.
        caption: String,
        /// The node's name.
        target: String,
    },
    /// A payment button (needs Stripe or PayPal connected to the page).
    Buy {
        /// The label (not empty).
        caption: String,
        /// What to ask the customer for.
        #[serde(default)]
        customer: BuyCustomer,
        /// What is sold.
        product: Product,
        /// The content shown after payment (not empty).
        success_target: String,
    },
    /// Calls your server, which answers with another dynamic block (HTTPS only).
    DynamicBlockCallback {
        /// The label (not empty).
        caption: String,
        /// The `https` URL called.
        url: String,
        /// The HTTP method.
        #[serde(default)]
        method: CallbackMethod,
        /// Headers sent with the call (for example a shared secret your server checks).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        /// The JSON payload sent.
        #[serde(default, skip_serializing_if = "Value::is_null")]
        payload: Value,
    },
}

impl Button {
    /// A button that opens `url`.
    pub fn url(caption: impl Into<String>, url: impl Into<String>) -> Self {
        Self::Url {
            caption: caption.into(),
            url: url.into(),
            webview_size: None,
            actions: Vec::new(),
        }
    }

    /// A button that calls `phone`.
    pub fn call(caption: impl Into<String>, phone: impl Into<String>) -> Self {
        Self::Call {
            caption: caption.into(),
            phone: phone.into(),
        }
    }

    /// A button that starts the flow `flow_ns`.
    pub fn flow(caption: impl Into<String>, flow_ns: impl Into<String>) -> Self {
        Self::Flow {
            caption: caption.into(),
            target: flow_ns.into(),
            actions: Vec::new(),
        }
    }

    /// A payment button selling `product`, then showing `success_target`.
    pub fn buy(
        caption: impl Into<String>,
        product: Product,
        customer: BuyCustomer,
        success_target: impl Into<String>,
    ) -> Self {
        Self::Buy {
            caption: caption.into(),
            customer,
            product,
            success_target: success_target.into(),
        }
    }

    /// A button that `POST`s `payload` to your `https` URL.
    pub fn callback(caption: impl Into<String>, url: impl Into<String>, payload: Value) -> Self {
        Self::DynamicBlockCallback {
            caption: caption.into(),
            url: url.into(),
            method: CallbackMethod::Post,
            headers: BTreeMap::new(),
            payload,
        }
    }

    /// The button type as ManyChat names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Url { .. } => "url",
            Self::Call { .. } => "call",
            Self::Flow { .. } => "flow",
            Self::Node { .. } => "node",
            Self::Buy { .. } => "buy",
            Self::DynamicBlockCallback { .. } => "dynamic_block_callback",
        }
    }

    /// The button's label.
    pub fn caption(&self) -> &str {
        match self {
            Self::Url { caption, .. }
            | Self::Call { caption, .. }
            | Self::Flow { caption, .. }
            | Self::Node { caption, .. }
            | Self::Buy { caption, .. }
            | Self::DynamicBlockCallback { caption, .. } => caption,
        }
    }
}

/// A quick reply (shown above the keyboard; not on WhatsApp or Telegram).
///
/// `node` quick replies do not work through the public API and are refused by validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum QuickReply {
    /// Starts a flow.
    Flow {
        /// The label (not empty).
        caption: String,
        /// The flow's namespace (not empty).
        target: String,
    },
    /// Goes to a content node: **refused**, it does not work through the public API.
    Node {
        /// The label.
        caption: String,
        /// The node's name.
        target: String,
    },
    /// Calls your server (HTTPS only).
    DynamicBlockCallback {
        /// The label (not empty).
        caption: String,
        /// The `https` URL called.
        url: String,
        /// The HTTP method.
        #[serde(default)]
        method: CallbackMethod,
        /// Headers sent with the call.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        /// The JSON payload sent.
        #[serde(default, skip_serializing_if = "Value::is_null")]
        payload: Value,
    },
}

impl QuickReply {
    /// A quick reply that starts the flow `flow_ns`.
    pub fn flow(caption: impl Into<String>, flow_ns: impl Into<String>) -> Self {
        Self::Flow {
            caption: caption.into(),
            target: flow_ns.into(),
        }
    }

    /// A quick reply that `POST`s `payload` to your `https` URL.
    pub fn callback(caption: impl Into<String>, url: impl Into<String>, payload: Value) -> Self {
        Self::DynamicBlockCallback {
            caption: caption.into(),
            url: url.into(),
            method: CallbackMethod::Post,
            headers: BTreeMap::new(),
            payload,
        }
    }

    /// The quick reply type as ManyChat names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Flow { .. } => "flow",
            Self::Node { .. } => "node",
            Self::DynamicBlockCallback { .. } => "dynamic_block_callback",
        }
    }
}

/// An action ManyChat runs on the subscriber when the block is sent (or a button tapped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Adds the tag named `tag_name`.
    AddTag {
        /// The tag's name (not empty).
        tag_name: String,
    },
    /// Removes the tag named `tag_name`.
    RemoveTag {
        /// The tag's name (not empty).
        tag_name: String,
    },
    /// Sets the custom field named `field_name` to a typed value.
    SetFieldValue {
        /// The field's name (not empty).
        field_name: String,
        /// The value, in the JSON form of its type.
        value: FieldValue,
    },
    /// Clears the custom field named `field_name`.
    UnsetFieldValue {
        /// The field's name (not empty).
        field_name: String,
    },
}

impl Action {
    /// Adds a tag by name.
    pub fn add_tag(tag_name: impl Into<String>) -> Self {
        Self::AddTag {
            tag_name: tag_name.into(),
        }
    }

    /// Removes a tag by name.
    pub fn remove_tag(tag_name: impl Into<String>) -> Self {
        Self::RemoveTag {
            tag_name: tag_name.into(),
        }
    }

    /// Sets a custom field by name.
    pub fn set_field(field_name: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        Self::SetFieldValue {
            field_name: field_name.into(),
            value: value.into(),
        }
    }

    /// Clears a custom field by name.
    pub fn unset_field(field_name: impl Into<String>) -> Self {
        Self::UnsetFieldValue {
            field_name: field_name.into(),
        }
    }

    /// The action as ManyChat names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AddTag { .. } => "add_tag",
            Self::RemoveTag { .. } => "remove_tag",
            Self::SetFieldValue { .. } => "set_field_value",
            Self::UnsetFieldValue { .. } => "unset_field_value",
        }
    }
}
