//! Sending: `send_content`, `send_text` and `send_flow` on the client itself.

use serde::Serialize;

use super::endpoints;
use crate::client::ManyChatClient;
use crate::error::{InvalidArgument, ManyChatError};
use crate::message::Message;
use crate::models::SubscriberId;
use crate::request::Call;

/// The sendContent body: the message's `data`, and its tag and topic exactly as given.
#[derive(Serialize)]
struct SendContent<'a> {
    subscriber_id: SubscriberId,
    data: &'a Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_tag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    otn_topic_name: Option<&'a str>,
}

#[derive(Serialize)]
struct SendFlow<'a> {
    subscriber_id: SubscriberId,
    flow_ns: &'a str,
}

impl ManyChatClient {
    /// Sends a validated dynamic block to a subscriber: `POST /fb/sending/sendContent`, with
    /// the message's `message_tag` and `otn_topic_name` when it has them (none by default).
    ///
    /// Never sent twice: the request is repeated only when it provably did not reach ManyChat
    /// (the connection was refused) or ManyChat refused it for rate (429, 503 with
    /// `Retry-After`) before processing it.
    ///
    /// # Errors
    ///
    /// - [`ManyChatError::Api`]: ManyChat refused it (code 3011: outside the 24-hour window
    ///   without a message tag; also a 200 with `status: "error"`).
    /// - [`ManyChatError::OutcomeUnknown`]: it may or may not have been delivered (the
    ///   connection dropped or a timeout fired after it was written, or ManyChat answered a
    ///   5xx other than 503).
    /// - [`ManyChatError::Http`]: it did not leave (an open breaker, a rate-limit wait longer
    ///   than the deadline, a refused connection after the retries).
    pub async fn send_content(
        &self,
        subscriber_id: impl Into<SubscriberId>,
        message: &Message,
    ) -> Result<(), ManyChatError> {
        let body = SendContent {
            subscriber_id: subscriber_id.into(),
            data: message,
            message_tag: message.message_tag(),
            otn_topic_name: message.otn_topic_name(),
        };
        let call = Call::new(&endpoints::SEND_CONTENT).json(&body)?;
        self.call_unit(call).await
    }

    /// Sends a plain Messenger text (the common case of [`send_content`](Self::send_content)).
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidMessage`] for an empty or too-long text; otherwise as
    /// [`send_content`](Self::send_content).
    pub async fn send_text(
        &self,
        subscriber_id: impl Into<SubscriberId>,
        text: impl Into<String>,
    ) -> Result<(), ManyChatError> {
        let message = Message::text(text)?;
        self.send_content(subscriber_id, &message).await
    }

    /// Starts a flow for a subscriber: `POST /fb/sending/sendFlow` (ManyChat allows 100 per
    /// subscriber per hour). Never sent twice, as [`send_content`](Self::send_content).
    ///
    /// # Errors
    ///
    /// [`ManyChatError::InvalidArgument`] for an empty flow namespace; otherwise as
    /// [`send_content`](Self::send_content).
    pub async fn send_flow(
        &self,
        subscriber_id: impl Into<SubscriberId>,
        flow_ns: &str,
    ) -> Result<(), ManyChatError> {
        if flow_ns.trim().is_empty() {
            return Err(InvalidArgument::new("flow_ns", "must not be empty").into());
        }
        let body = SendFlow {
            subscriber_id: subscriber_id.into(),
            flow_ns: flow_ns.trim(),
        };
        let call = Call::new(&endpoints::SEND_FLOW).json(&body)?;
        self.call_unit(call).await
    }
}
