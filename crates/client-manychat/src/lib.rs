//! ManyChat client: typed operations and validated messages over a tower stack you can
//! recompose.
//!
//! - [`ManyChatClient`]: `new(config)`, `from_env()`, `builder()` build the default stack
//!   ([`stack`]); `with_service(svc)` runs the typed API over a stack of your own. Clones are
//!   cheap and share the pool and every layer's state; `close().await` drains in-flight calls;
//!   `health_check()` reads `/fb/page/getInfo` (the client is also an `obs_health::HealthCheck`
//!   named `manychat`); `breaker()` and `cache()` expose the stateful layers.
//! - [`PageApi`] (`client.page()`): info, tags, custom fields, bot fields, flows, growth tools;
//!   create tag, create custom field. [`Subscribers`] (`client.subscribers()`): get, find by
//!   email or phone (`None` when nothing matches), by name, by custom field; create, update;
//!   add/remove tags and set custom fields by id or name with typed [`FieldValue`]s.
//! - Sending: [`ManyChatClient::send_content`] with a [`Message`], `send_text`, `send_flow`.
//! - [`Message`]: a dynamic block v2 (text, image, video, audio, file, cards; url, call, flow,
//!   buy and callback buttons; quick replies; actions) that only exists once it passed every
//!   rule of the [`message`] module, each failure a [`ValidationError`] naming the rule and the
//!   field. Channel by [`Channel`] (Messenger by default; Instagram, WhatsApp, Telegram).
//! - [`ManyChatError`]: success is judged by the body's `status`, not only the HTTP code; a
//!   write that may have reached ManyChat before failing is [`ManyChatError::OutcomeUnknown`]
//!   and is never retried.
//!
//! # Example
//!
//! Building and validating a message needs no network:
//!
//! ```
//! use client_manychat::{
//!     Action, Button, Card, Cards, Channel, FieldValue, Message, QuickReply, Rule, Text,
//! };
//!
//! let welcome = Message::builder()
//!     .text(Text::new("Welcome back!").button(Button::url("Your orders", "https://shop.example/orders")))
//!     .cards(Cards::new().card(
//!         Card::new("Espresso").subtitle("Double shot").image_url("https://shop.example/e.png")
//!             .button(Button::flow("Order", "content20180221085508_278589")),
//!     ))
//!     .quick_reply(QuickReply::flow("Menu", "content20180221085508_278589"))
//!     .action(Action::set_field("last_campaign", "winter"))
//!     .action(Action::set_field("visits", 3))
//!     .build()?;
//! assert_eq!(welcome.channel(), Channel::Messenger);
//! assert_eq!(welcome.to_data()["content"]["messages"][1]["type"], "cards");
//!
//! // WhatsApp shows no cards: refused before anything is sent, naming the rule and field.
//! let error = Message::builder_for(Channel::WhatsApp)
//!     .cards(Cards::new().card(Card::new("Espresso")))
//!     .build()
//!     .unwrap_err();
//! assert_eq!(error.rule(), Rule::UnsupportedOnChannel);
//! assert_eq!(error.field(), "messages[0].type");
//!
//! // A JSON block from a workflow is validated the same way.
//! let from_json = Message::from_json(&serde_json::json!({
//!     "version": "v2",
//!     "content": {"type": "telegram", "messages": [{"type": "text", "text": "Hi"}]}
//! }))?;
//! assert_eq!(from_json.channel(), Channel::Telegram);
//! assert!(FieldValue::date("2024-02-30").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the default stack, configured from `MANYCHAT_API_KEY` (and `MANYCHAT_PAGE_ID`):
//!
//! ```no_run
//! use client_manychat::{ManyChatClient, Message};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = ManyChatClient::from_env()?;
//! if let Some(ada) = client.subscribers().find_by_email("ada@example.com").await? {
//!     client.subscribers().add_tag(ada.id, "vip").await?;
//!     match client.send_text(ada.id, "Your order has shipped").await {
//!         Ok(()) => {}
//!         Err(e) if e.is_outcome_unknown() => eprintln!("maybe delivered, not resent: {e}"),
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! client.close().await;
//! # Ok(())
//! # }
//! ```

pub mod api;
mod builder;
mod classify;
mod client;
mod error;
mod health;
pub mod message;
pub mod models;
mod request;
pub mod stack;

pub use api::{MAX_FIELDS_PER_REQUEST, PageApi, Subscribers};
pub use builder::ManyChatClientBuilder;
pub use classify::ManyChatClassifier;
pub use client::{ManyChatClient, ManyChatService};
pub use error::{BuildError, InvalidArgument, ManyChatError};
pub use message::{
    Action, AspectRatio, Button, BuyCustomer, CallbackMethod, Card, Cards, Channel, Content,
    ExternalMessageCallback, Media, Message, MessageBuilder, Product, QuickReply, Rule, Text,
    ValidationError, WebviewSize,
};
pub use models::{
    BotField, CustomField, FieldId, FieldRef, FieldType, FieldValue, FieldValueError, Flow, Flows,
    Folder, FolderId, GrowthTool, GrowthToolId, NewSubscriber, Page, PageId, Subscriber,
    SubscriberField, SubscriberId, SubscriberTag, SubscriberUpdate, Tag, TagId, TagRef,
};

/// Compiles the README's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
