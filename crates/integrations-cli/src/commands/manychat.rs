//! `integrations manychat`: send text, content or a flow; find a subscriber; tag; set a field.

use client_manychat::{FieldValue, ManyChatError, Message, Subscriber, SubscriberId};
use serde_json::{Value, json};

use super::read_input;
use crate::app::Context;
use crate::cli::{ManyChatArgs, ManyChatCommand};
use crate::clients;
use crate::error::{CliError, chain};
use crate::output::Report;

/// Runs a ManyChat command.
///
/// # Errors
///
/// [`CliError`] for bad configuration or input, or when ManyChat refused or failed the call.
/// A send whose outcome is unknown (the connection dropped after it was written) is reported
/// as such and is never repeated.
pub async fn run(_ctx: Context, args: ManyChatArgs) -> Result<Report, CliError> {
    let client = clients::manychat_from_env()?;
    let result = match args.command {
        ManyChatCommand::SendText {
            subscriber,
            text,
            message_tag,
        } => {
            let id = subscriber_id(&subscriber)?;
            let mut message = Message::text(text).map_err(|e| CliError::Input(e.to_string()))?;
            if let Some(tag) = message_tag {
                message = message
                    .with_message_tag(tag)
                    .map_err(|e| CliError::Input(e.to_string()))?;
            }
            sent(client.send_content(id, &message).await, id)
        }
        ManyChatCommand::SendContent {
            subscriber,
            file,
            message_tag,
        } => {
            let id = subscriber_id(&subscriber)?;
            let raw = read_input(&file).await?;
            let json: Value = serde_json::from_slice(&raw)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            let mut message =
                Message::from_json(&json).map_err(|e| CliError::Input(e.to_string()))?;
            if let Some(tag) = message_tag {
                message = message
                    .with_message_tag(tag)
                    .map_err(|e| CliError::Input(e.to_string()))?;
            }
            sent(client.send_content(id, &message).await, id)
        }
        ManyChatCommand::SendFlow { subscriber, flow } => {
            let id = subscriber_id(&subscriber)?;
            sent(client.send_flow(id, &flow).await, id)
        }
        ManyChatCommand::Find { email, phone } => {
            let subscribers = client.subscribers();
            let found = match (&email, &phone) {
                (Some(email), _) => subscribers.find_by_email(email).await,
                (None, Some(phone)) => subscribers.find_by_phone(phone).await,
                (None, None) => return Err(CliError::Input("--email or --phone".to_owned())),
            }
            .map_err(|e| CliError::failed("manychat find", e))?;
            Ok(match found {
                Some(s) => Report::success(subscriber_json(&s))
                    .output("found", true)
                    .output("subscriber_id", s.id.get()),
                None => Report::success(json!({"found": false})).output("found", false),
            })
        }
        ManyChatCommand::Tag { subscriber, tag } => {
            let id = subscriber_id(&subscriber)?;
            // Adding by name needs a tag that exists on the page: create it when missing.
            let page = client.page();
            let tags = page
                .tags()
                .await
                .map_err(|e| CliError::failed("manychat tags", e))?;
            if !tags.iter().any(|t| t.name.eq_ignore_ascii_case(&tag)) {
                page.create_tag(&tag)
                    .await
                    .map_err(|e| CliError::failed("manychat create tag", e))?;
            }
            client
                .subscribers()
                .add_tag(id, tag.as_str())
                .await
                .map_err(|e| CliError::failed("manychat tag", e))?;
            Ok(Report::success(
                json!({"subscriber_id": id.get(), "tag": tag, "tagged": true}),
            ))
        }
        ManyChatCommand::SetField {
            subscriber,
            field,
            value,
        } => {
            let id = subscriber_id(&subscriber)?;
            let field_value = field_value(&value)?;
            client
                .subscribers()
                .set_custom_field(id, field.as_str(), field_value)
                .await
                .map_err(|e| CliError::failed("manychat set-field", e))?;
            Ok(Report::success(
                json!({"subscriber_id": id.get(), "field": field, "set": true}),
            ))
        }
    };
    client.close().await;
    result
}

fn subscriber_id(raw: &str) -> Result<SubscriberId, CliError> {
    raw.parse()
        .map_err(|_| CliError::Input(format!("subscriber id {raw:?} is not a number")))
}

fn sent(result: Result<(), ManyChatError>, id: SubscriberId) -> Result<Report, CliError> {
    match result {
        Ok(()) => Ok(
            Report::success(json!({"subscriber_id": id.get(), "sent": true})).output("sent", true),
        ),
        Err(e) if e.is_outcome_unknown() => Ok(Report::success(json!({
            "subscriber_id": id.get(),
            "sent": null,
            "outcome": "unknown",
            "error": chain(&e),
        }))
        .status(crate::output::Status::Failed)
        .output("sent", "unknown")),
        Err(e) => Err(CliError::failed("manychat send", e)),
    }
}

/// A field value from the command line: JSON (`12`, `true`, `"text"`) or plain text.
fn field_value(raw: &str) -> Result<FieldValue, CliError> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Bool(b)) => Ok(FieldValue::from(b)),
        Ok(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(FieldValue::from(i)),
            None => FieldValue::number(n.as_f64().unwrap_or(f64::NAN))
                .map_err(|e| CliError::Input(e.to_string())),
        },
        Ok(Value::String(s)) => Ok(FieldValue::from(s)),
        Ok(Value::Null) => Ok(FieldValue::Clear),
        _ => Ok(FieldValue::from(raw)),
    }
}

/// A subscriber as JSON (the fields a workflow uses).
pub fn subscriber_json(s: &Subscriber) -> Value {
    json!({
        "found": true,
        "id": s.id.get(),
        "name": s.name,
        "first_name": s.first_name,
        "last_name": s.last_name,
        "email": s.email,
        "phone": s.phone,
        "tags": s.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
    })
}
