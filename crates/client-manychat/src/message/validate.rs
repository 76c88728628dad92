//! The validation rules, applied by [`MessageBuilder::build`](super::MessageBuilder::build).

use super::content::{Action, Button, Card, Channel, Content, QuickReply};
use super::error::{Rule, ValidationError};
use super::{Limits, MAX_ACTIONS, MAX_CARDS, MAX_MESSAGES, MAX_QUICK_REPLIES};

type Checked = Result<(), ValidationError>;

fn fail(rule: Rule, field: impl Into<String>, reason: impl Into<String>) -> Checked {
    Err(ValidationError::new(rule, field, reason))
}

fn non_empty(value: &str, field: impl FnOnce() -> String) -> Checked {
    if value.trim().is_empty() {
        fail(Rule::EmptyField, field(), "must not be empty")
    } else {
        Ok(())
    }
}

/// An absolute `http`/`https` URL with a host (what the sandbox and ManyChat accept).
pub(crate) fn check_url(url: &str, field: impl FnOnce() -> String) -> Checked {
    // The scheme in lowercase, as ManyChat's examples and the sandbox take it.
    let ok = url.trim() == url
        && (url.starts_with("http://") || url.starts_with("https://"))
        && http::Uri::try_from(url).is_ok_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some_and(|host| !host.is_empty())
        });
    if ok {
        Ok(())
    } else {
        fail(
            Rule::InvalidUrl,
            field(),
            format!("{url:?} is not an absolute http(s) URL"),
        )
    }
}

/// [`check_url`], then `https` only.
fn check_https(url: &str, field: impl Fn() -> String) -> Checked {
    check_url(url, &field)?;
    if url.starts_with("https://") {
        Ok(())
    } else {
        fail(
            Rule::HttpsRequired,
            field(),
            "callbacks must use an https URL",
        )
    }
}

/// Button types each message type takes (ManyChat's dynamic block reference).
fn allowed_buttons(content: &Content) -> &'static [&'static str] {
    const ALL: &[&str] = &[
        "url",
        "call",
        "flow",
        "node",
        "buy",
        "dynamic_block_callback",
    ];
    match content {
        // Text takes url, flow, node, call (older docs) and callbacks; not buy.
        Content::Text(_) => &["url", "call", "flow", "node", "dynamic_block_callback"],
        _ => ALL,
    }
}

pub(crate) fn check_block(
    limits: &Limits,
    channel: Channel,
    messages: &[Content],
    actions: &[Action],
    quick_replies: &[QuickReply],
) -> Checked {
    if messages.is_empty() && actions.is_empty() {
        return fail(
            Rule::Empty,
            "messages",
            "a block needs at least one message or action",
        );
    }
    if messages.len() > MAX_MESSAGES {
        return fail(
            Rule::TooManyMessages,
            "messages",
            format!("at most {MAX_MESSAGES} messages, got {}", messages.len()),
        );
    }
    if quick_replies.len() > MAX_QUICK_REPLIES {
        return fail(
            Rule::TooManyQuickReplies,
            "quick_replies",
            format!(
                "at most {MAX_QUICK_REPLIES} quick replies, got {}",
                quick_replies.len()
            ),
        );
    }
    if actions.len() > MAX_ACTIONS {
        return fail(
            Rule::TooManyActions,
            "actions",
            format!("at most {MAX_ACTIONS} actions, got {}", actions.len()),
        );
    }
    if !quick_replies.is_empty() && !channel.supports_quick_replies() {
        return fail(
            Rule::UnsupportedOnChannel,
            "quick_replies",
            format!("quick replies are not supported on {channel}"),
        );
    }
    for (i, content) in messages.iter().enumerate() {
        check_content(limits, channel, content, &format!("messages[{i}]"))?;
    }
    for (i, action) in actions.iter().enumerate() {
        check_action(action, &format!("actions[{i}]"))?;
    }
    for (i, reply) in quick_replies.iter().enumerate() {
        check_quick_reply(reply, &format!("quick_replies[{i}]"))?;
    }
    Ok(())
}

fn check_content(limits: &Limits, channel: Channel, content: &Content, at: &str) -> Checked {
    let kind = content.kind();
    let media_blocked = matches!(
        content,
        Content::Video(_) | Content::Audio(_) | Content::File(_)
    ) && !channel.supports_media_files();
    let cards_blocked = matches!(content, Content::Cards(_)) && !channel.supports_cards();
    if media_blocked || cards_blocked {
        return fail(
            Rule::UnsupportedOnChannel,
            format!("{at}.type"),
            format!("{kind} messages are not supported on {channel}"),
        );
    }
    let buttons = match content {
        Content::Text(text) => {
            non_empty(&text.text, || format!("{at}.text"))?;
            let limit = if text.buttons.is_empty() {
                limits.max_text_chars
            } else {
                limits.max_text_with_buttons_chars
            };
            let length = text.text.chars().count();
            if let Some(limit) = limit.filter(|limit| length > *limit) {
                let with = if text.buttons.is_empty() {
                    ""
                } else {
                    " with buttons"
                };
                return fail(
                    Rule::TextTooLong,
                    format!("{at}.text"),
                    format!("at most {limit} characters{with}, got {length}"),
                );
            }
            &text.buttons
        }
        Content::Image(media)
        | Content::Video(media)
        | Content::Audio(media)
        | Content::File(media) => {
            check_url(&media.url, || format!("{at}.url"))?;
            &media.buttons
        }
        Content::Cards(cards) => {
            if cards.elements.is_empty() || cards.elements.len() > MAX_CARDS {
                return fail(
                    Rule::CardCount,
                    format!("{at}.elements"),
                    format!(
                        "a gallery holds 1 to {MAX_CARDS} cards, got {}",
                        cards.elements.len()
                    ),
                );
            }
            for (i, card) in cards.elements.iter().enumerate() {
                check_card(limits, card, &format!("{at}.elements[{i}]"))?;
            }
            return Ok(());
        }
    };
    check_buttons(limits, buttons, allowed_buttons(content), kind, at)
}

fn check_card(limits: &Limits, card: &Card, at: &str) -> Checked {
    non_empty(&card.title, || format!("{at}.title"))?;
    if let Some(url) = &card.image_url {
        check_url(url, || format!("{at}.image_url"))?;
    }
    if let Some(url) = &card.action_url {
        check_url(url, || format!("{at}.action_url"))?;
    }
    check_buttons(
        limits,
        &card.buttons,
        &[
            "url",
            "call",
            "flow",
            "node",
            "buy",
            "dynamic_block_callback",
        ],
        "cards",
        at,
    )
}

fn check_buttons(
    limits: &Limits,
    buttons: &[Button],
    allowed: &[&str],
    kind: &str,
    at: &str,
) -> Checked {
    if let Some(max) = limits.max_buttons.filter(|max| buttons.len() > *max) {
        return fail(
            Rule::TooManyButtons,
            format!("{at}.buttons"),
            format!("at most {max} buttons, got {}", buttons.len()),
        );
    }
    for (i, button) in buttons.iter().enumerate() {
        let bat = format!("{at}.buttons[{i}]");
        if matches!(button, Button::Node { .. }) {
            return fail(
                Rule::NodeNotSupported,
                format!("{bat}.type"),
                "node buttons do not work through the public API; use a flow button",
            );
        }
        if !allowed.contains(&button.kind()) {
            return fail(
                Rule::ButtonNotAllowed,
                format!("{bat}.type"),
                format!(
                    "{} buttons are not allowed on {kind} messages",
                    button.kind()
                ),
            );
        }
        check_button(button, &bat)?;
    }
    Ok(())
}

fn check_button(button: &Button, at: &str) -> Checked {
    non_empty(button.caption(), || format!("{at}.caption"))?;
    match button {
        Button::Url { url, actions, .. } => {
            check_url(url, || format!("{at}.url"))?;
            check_button_actions(actions, at)
        }
        Button::Call { phone, .. } => non_empty(phone, || format!("{at}.phone")),
        Button::Flow {
            target, actions, ..
        } => {
            non_empty(target, || format!("{at}.target"))?;
            check_button_actions(actions, at)
        }
        Button::Buy {
            product,
            success_target,
            ..
        } => {
            non_empty(&product.label, || format!("{at}.product.label"))?;
            non_empty(success_target, || format!("{at}.success_target"))
        }
        Button::DynamicBlockCallback { url, .. } => check_https(url, || format!("{at}.url")),
        Button::Node { .. } => fail(
            Rule::NodeNotSupported,
            format!("{at}.type"),
            "node buttons do not work through the public API; use a flow button",
        ),
    }
}

fn check_button_actions(actions: &[Action], at: &str) -> Checked {
    if actions.len() > MAX_ACTIONS {
        return fail(
            Rule::TooManyActions,
            format!("{at}.actions"),
            format!("at most {MAX_ACTIONS} actions, got {}", actions.len()),
        );
    }
    for (i, action) in actions.iter().enumerate() {
        check_action(action, &format!("{at}.actions[{i}]"))?;
    }
    Ok(())
}

fn check_action(action: &Action, at: &str) -> Checked {
    match action {
        Action::AddTag { tag_name } | Action::RemoveTag { tag_name } => {
            non_empty(tag_name, || format!("{at}.tag_name"))
        }
        Action::SetFieldValue { field_name, .. } | Action::UnsetFieldValue { field_name } => {
            non_empty(field_name, || format!("{at}.field_name"))
        }
    }
}

fn check_quick_reply(reply: &QuickReply, at: &str) -> Checked {
    match reply {
        QuickReply::Flow { caption, target } => {
            non_empty(caption, || format!("{at}.caption"))?;
            non_empty(target, || format!("{at}.target"))
        }
        QuickReply::Node { .. } => fail(
            Rule::NodeNotSupported,
            format!("{at}.type"),
            "node quick replies do not work through the public API; use a flow quick reply",
        ),
        QuickReply::DynamicBlockCallback { caption, url, .. } => {
            non_empty(caption, || format!("{at}.caption"))?;
            check_https(url, || format!("{at}.url"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_ok(url: &str) -> bool {
        check_url(url, || "url".into()).is_ok()
    }

    #[test]
    fn urls_manychat_would_take_are_accepted() {
        for url in [
            "https://example.com/a#section",
            "https://example.com/caf\u{e9}.png",
            "https://example.com/?q={x}&r=[1]",
            "https://example.com:8443/x?y=1&z=2",
            "http://example.com/a%20b",
        ] {
            assert!(url_ok(url), "{url}");
        }
    }

    #[test]
    fn the_scheme_must_be_lowercase_http_or_https() {
        // The sandbox (like ManyChat's examples) only takes `http://` and `https://`.
        for url in ["HTTP://example.com/a.png", "Https://example.com/a.png"] {
            assert!(!url_ok(url), "{url}");
        }
        // An upper-case https callback is an invalid URL, not "https required".
        let error = check_https("HTTPS://hooks.example.com", || "url".into()).unwrap_err();
        assert_eq!(error.rule(), Rule::InvalidUrl);
        assert!(check_https("https://hooks.example.com", || "url".into()).is_ok());
    }
}
