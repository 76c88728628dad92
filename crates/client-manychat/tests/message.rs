//! Message building and validation: one test per rule, a valid message of every type, and the
//! JSON shape against ManyChat's documented examples. No network.

use client_manychat::message::Limits;
use client_manychat::{
    Action, AspectRatio, Button, BuyCustomer, Card, Cards, Channel, ExternalMessageCallback,
    FieldValue, Media, Message, MessageBuilder, Product, QuickReply, Rule, Text, ValidationError,
    WebviewSize,
};
use serde_json::{Value, json};

fn refused(builder: MessageBuilder) -> ValidationError {
    builder.build().expect_err("the message must be refused")
}

fn assert_refused(builder: MessageBuilder, rule: Rule, field: &str) {
    let error = refused(builder);
    assert_eq!(error.rule(), rule, "{error}");
    assert_eq!(error.field(), field, "{error}");
}

fn text(s: &str) -> MessageBuilder {
    Message::builder().text(s)
}

// ----- one valid message of every type -----

#[test]
fn valid_text_with_every_allowed_button() {
    let message = Message::builder()
        .text(
            Text::new("Pick one")
                .button(Button::url("Open", "https://example.com/a?b=c"))
                .button(Button::call("Call us", "+1 (555) 555-55-55"))
                .button(Button::flow("Go", "content20180221085508_278589")),
        )
        .text(Text::new("More").button(Button::callback(
            "Refresh",
            "https://hooks.example.com/manychat",
            json!({"order": 7}),
        )))
        .build()
        .expect("valid");
    assert_eq!(message.messages().len(), 2);
}

#[test]
fn valid_image_video_audio_file() {
    let product = Product {
        label: "T-shirt".into(),
        cost: 2250,
    };
    let message = Message::builder()
        .image(
            Media::new("https://cdn.example.com/a.png").button(Button::buy(
                "Buy",
                product,
                BuyCustomer {
                    shipping_address: true,
                    contact_name: false,
                    contact_phone: true,
                    contact_email: true,
                },
                "My Content",
            )),
        )
        .video("https://cdn.example.com/v.mp4")
        .audio("https://cdn.example.com/a.mp3")
        .file("http://cdn.example.com/f.pdf")
        .build()
        .expect("valid");
    let kinds: Vec<_> = message.messages().iter().map(|m| m.kind()).collect();
    assert_eq!(kinds, ["image", "video", "audio", "file"]);
}

#[test]
fn valid_cards_quick_replies_and_actions() {
    let message = Message::builder()
        .cards(
            Cards::new()
                .card(
                    Card::new("Espresso")
                        .subtitle("Double")
                        .image_url("https://cdn.example.com/e.png")
                        .action_url("https://shop.example.com/e")
                        .button(Button::flow("Order", "content1")),
                )
                .card(Card::new("Latte"))
                .aspect_ratio(AspectRatio::Square),
        )
        .quick_reply(QuickReply::flow("Menu", "content1"))
        .quick_reply(QuickReply::callback(
            "Later",
            "https://hooks.example.com/q",
            Value::Null,
        ))
        .action(Action::add_tag("lead"))
        .action(Action::remove_tag("cold"))
        .action(Action::set_field("score", 10))
        .action(Action::set_field(
            "last_order",
            FieldValue::date("2026-01-02").expect("date"),
        ))
        .action(Action::unset_field("next_call"))
        .build()
        .expect("valid");
    assert_eq!(message.actions().len(), 5);
    assert_eq!(message.quick_replies().len(), 2);
}

#[test]
fn valid_actions_only_block() {
    let message = Message::builder()
        .action(Action::add_tag("lead"))
        .build()
        .expect("a block of actions alone is valid");
    assert!(message.messages().is_empty());
}

#[test]
fn valid_on_every_channel() {
    for channel in [
        Channel::Messenger,
        Channel::Instagram,
        Channel::WhatsApp,
        Channel::Telegram,
    ] {
        let message = Message::builder_for(channel)
            .text("Hi")
            .image("https://cdn.example.com/a.png")
            .build()
            .unwrap_or_else(|e| panic!("{channel}: {e}"));
        assert_eq!(message.channel(), channel);
        let data = message.to_data();
        assert_eq!(
            data["content"].get("type").and_then(Value::as_str),
            channel.content_type()
        );
    }
}

// ----- JSON shape -----

#[test]
fn json_matches_the_reference_example() {
    let message = Message::builder_for(Channel::Instagram)
        .text(Text::new("Hi!").button(Button::url("Open", "https://example.com")))
        .action(Action::add_tag("lead"))
        .quick_reply(QuickReply::flow("Go", "content20180221085508_278589"))
        .message_tag("ACCOUNT_UPDATE")
        .build()
        .expect("valid");
    // The `data` object of the reference's sendContent example, exactly.
    assert_eq!(
        serde_json::to_value(&message).expect("json"),
        json!({
            "version": "v2",
            "content": {
                "type": "instagram",
                "messages": [ { "type": "text", "text": "Hi!", "buttons": [ { "type": "url", "caption": "Open", "url": "https://example.com" } ] } ],
                "actions": [ { "action": "add_tag", "tag_name": "lead" } ],
                "quick_replies": [ { "type": "flow", "caption": "Go", "target": "content20180221085508_278589" } ]
            }
        })
    );
    assert_eq!(message.message_tag(), Some("ACCOUNT_UPDATE"));
    assert_eq!(message.otn_topic_name(), None, "never defaulted");
}

#[test]
fn json_of_every_piece_matches_the_dynamic_block_docs() {
    let buy = Button::buy(
        "Buy",
        Product {
            label: "T-shirt".into(),
            cost: 2250,
        },
        BuyCustomer {
            shipping_address: true,
            contact_name: false,
            contact_phone: true,
            contact_email: true,
        },
        "My Content",
    );
    assert_eq!(
        serde_json::to_value(&buy).expect("json"),
        json!({"type":"buy","caption":"Buy","customer":{"shipping_address":true,"contact_name":false,"contact_phone":true,"contact_email":true},
               "product":{"label":"T-shirt","cost":2250},"success_target":"My Content"})
    );
    let url = Button::Url {
        caption: "External link".into(),
        url: "https://m.me".into(),
        webview_size: Some(WebviewSize::Full),
        actions: vec![Action::set_field("vip", true)],
    };
    assert_eq!(
        serde_json::to_value(&url).expect("json"),
        json!({"type":"url","caption":"External link","url":"https://m.me","webview_size":"full",
               "actions":[{"action":"set_field_value","field_name":"vip","value":true}]})
    );
    let callback = Button::callback("More", "https://x.example/cb", json!({"a": 1}));
    assert_eq!(
        serde_json::to_value(&callback).expect("json"),
        json!({"type":"dynamic_block_callback","caption":"More","url":"https://x.example/cb","method":"post","payload":{"a":1}})
    );
    let cards = Message::builder()
        .cards(
            Cards::new()
                .card(
                    Card::new("T")
                        .subtitle("S")
                        .image_url("https://i.example/x.png"),
                )
                .aspect_ratio(AspectRatio::Horizontal),
        )
        .build()
        .expect("valid");
    assert_eq!(
        cards.to_data()["content"]["messages"][0],
        json!({"type":"cards","elements":[{"title":"T","subtitle":"S","image_url":"https://i.example/x.png"}],"image_aspect_ratio":"horizontal"})
    );
    let datetime = Action::set_field(
        "next_call",
        FieldValue::datetime("2018-03-25T13:25:00.000Z").expect("datetime"),
    );
    assert_eq!(
        serde_json::to_value(&datetime).expect("json"),
        json!({"action":"set_field_value","field_name":"next_call","value":"2018-03-25T13:25:00.000Z"})
    );
    // Messenger sends no `content.type`.
    let messenger = Message::text("Hi").expect("valid").to_data();
    assert!(messenger["content"].get("type").is_none());
}

#[test]
fn from_json_round_trips() {
    let original = Message::builder_for(Channel::Telegram)
        .text(Text::new("Hi").button(Button::flow("Go", "content1")))
        .image("https://cdn.example.com/a.png")
        .action(Action::set_field(
            "score",
            FieldValue::number(1.5).expect("finite"),
        ))
        .build()
        .expect("valid");
    let read = Message::from_json(&original.to_data()).expect("reads back");
    assert_eq!(read, original);
    // A bare `content` object works too.
    let bare = Message::from_json(&json!({"messages": [{"type": "text", "text": "Hi"}]}))
        .expect("bare content");
    assert_eq!(bare.channel(), Channel::Messenger);
}

// ----- one test per rule -----

#[test]
fn rule_empty_block() {
    assert_refused(Message::builder(), Rule::Empty, "messages");
}

#[test]
fn rule_at_most_10_messages() {
    let mut ok = Message::builder();
    for _ in 0..10 {
        ok = ok.text("x");
    }
    assert!(ok.clone().build().is_ok());
    assert_refused(ok.text("x"), Rule::TooManyMessages, "messages");
}

#[test]
fn rule_at_most_11_quick_replies() {
    let mut ok = text("x");
    for i in 0..11 {
        ok = ok.quick_reply(QuickReply::flow(format!("q{i}"), "content1"));
    }
    assert!(ok.clone().build().is_ok());
    assert_refused(
        ok.quick_reply(QuickReply::flow("q", "content1")),
        Rule::TooManyQuickReplies,
        "quick_replies",
    );
}

#[test]
fn rule_at_most_5_actions() {
    let mut ok = text("x");
    for i in 0..5 {
        ok = ok.action(Action::add_tag(format!("t{i}")));
    }
    assert!(ok.clone().build().is_ok());
    assert_refused(
        ok.action(Action::add_tag("t")),
        Rule::TooManyActions,
        "actions",
    );
}

#[test]
fn rule_at_most_5_actions_on_a_button() {
    let button = Button::Flow {
        caption: "Go".into(),
        target: "content1".into(),
        actions: (0..6).map(|i| Action::add_tag(format!("t{i}"))).collect(),
    };
    assert_refused(
        Message::builder().text(Text::new("x").button(button)),
        Rule::TooManyActions,
        "messages[0].buttons[0].actions",
    );
}

#[test]
fn rule_at_most_3_buttons_per_message() {
    let four = (0..4).fold(Text::new("x"), |t, i| {
        t.button(Button::url(format!("b{i}"), "https://example.com"))
    });
    assert_refused(
        Message::builder().text(four),
        Rule::TooManyButtons,
        "messages[0].buttons",
    );
}

#[test]
fn rule_at_most_3_buttons_per_card() {
    let card = (0..4).fold(Card::new("c"), |c, i| {
        c.button(Button::flow(format!("b{i}"), "content1"))
    });
    assert_refused(
        Message::builder().cards(Cards::new().card(card)),
        Rule::TooManyButtons,
        "messages[0].elements[0].buttons",
    );
}

#[test]
fn rule_gallery_holds_1_to_10_cards() {
    assert_refused(
        Message::builder().cards(Cards::new()),
        Rule::CardCount,
        "messages[0].elements",
    );
    let eleven = (0..11).fold(Cards::new(), |c, i| c.card(Card::new(format!("c{i}"))));
    assert_refused(
        Message::builder().cards(eleven),
        Rule::CardCount,
        "messages[0].elements",
    );
}

#[test]
fn rule_text_not_empty() {
    assert_refused(text("  "), Rule::EmptyField, "messages[0].text");
}

#[test]
fn rule_caption_not_empty() {
    assert_refused(
        Message::builder().text(Text::new("x").button(Button::url("", "https://example.com"))),
        Rule::EmptyField,
        "messages[0].buttons[0].caption",
    );
}

#[test]
fn rule_card_title_not_empty() {
    assert_refused(
        Message::builder().cards(Cards::new().card(Card::new(""))),
        Rule::EmptyField,
        "messages[0].elements[0].title",
    );
}

#[test]
fn rule_flow_target_and_phone_not_empty() {
    assert_refused(
        Message::builder().text(Text::new("x").button(Button::flow("Go", ""))),
        Rule::EmptyField,
        "messages[0].buttons[0].target",
    );
    assert_refused(
        Message::builder().text(Text::new("x").button(Button::call("Call", " "))),
        Rule::EmptyField,
        "messages[0].buttons[0].phone",
    );
    assert_refused(
        text("x").quick_reply(QuickReply::flow("Go", "")),
        Rule::EmptyField,
        "quick_replies[0].target",
    );
}

#[test]
fn rule_action_names_not_empty() {
    assert_refused(
        text("x").action(Action::add_tag("")),
        Rule::EmptyField,
        "actions[0].tag_name",
    );
    assert_refused(
        text("x").action(Action::set_field("", 1)),
        Rule::EmptyField,
        "actions[0].field_name",
    );
}

#[test]
fn rule_buy_label_and_success_target_not_empty() {
    let buy = |label: &str, target: &str| {
        Button::buy(
            "Buy",
            Product {
                label: label.into(),
                cost: 100,
            },
            BuyCustomer::default(),
            target,
        )
    };
    assert_refused(
        Message::builder().image(Media::new("https://i.example/a.png").button(buy("", "x"))),
        Rule::EmptyField,
        "messages[0].buttons[0].product.label",
    );
    assert_refused(
        Message::builder().image(Media::new("https://i.example/a.png").button(buy("T", ""))),
        Rule::EmptyField,
        "messages[0].buttons[0].success_target",
    );
}

#[test]
fn rule_message_tag_not_empty_when_set() {
    assert_refused(text("x").message_tag(""), Rule::EmptyField, "message_tag");
    assert_refused(
        text("x").otn_topic_name(" "),
        Rule::EmptyField,
        "otn_topic_name",
    );
    let message = Message::text("x").expect("valid");
    assert!(message.clone().with_message_tag("").is_err());
    let tagged = message
        .with_message_tag("CONFIRMED_EVENT_UPDATE")
        .expect("tag");
    assert_eq!(tagged.message_tag(), Some("CONFIRMED_EVENT_UPDATE"));
}

#[test]
fn rule_text_length() {
    let long = "é".repeat(2001);
    assert!(
        text(&"é".repeat(2000)).build().is_ok(),
        "characters, not bytes"
    );
    assert_refused(text(&long), Rule::TextTooLong, "messages[0].text");
    let with_button = Text::new("a".repeat(641)).button(Button::flow("Go", "content1"));
    assert_refused(
        Message::builder().text(with_button),
        Rule::TextTooLong,
        "messages[0].text",
    );
}

#[test]
fn external_message_callback_is_read_validated_and_written() {
    // A documented key of `content` (the reference, A3): a block holding it is not "malformed".
    let json = json!({"version": "v2", "content": {
        "messages": [{"type": "text", "text": "What is your order number?"}],
        "external_message_callback": {
            "url": "https://hooks.example.com/answer", "method": "post",
            "headers": {"x-secret": "s"}, "payload": {"answer": "{{last_input_text}}"},
            "timeout": 3600
        }
    }});
    let message = Message::from_json(&json).expect("documented key");
    let callback = message.external_message_callback().expect("kept");
    assert_eq!(callback.timeout, Some(3600));
    assert_eq!(message.to_data(), json, "written back unchanged");

    let built = Message::builder()
        .text("What is your order number?")
        .external_message_callback(
            ExternalMessageCallback::new(
                "https://hooks.example.com/answer",
                json!({"answer": "{{last_input_text}}"}),
            )
            .header("x-secret", "s")
            .timeout_secs(3600),
        )
        .build()
        .expect("valid");
    assert_eq!(built, message);

    assert_refused(
        text("x").external_message_callback(ExternalMessageCallback::new("nope", Value::Null)),
        Rule::InvalidUrl,
        "external_message_callback.url",
    );
}

#[test]
fn limits_manychat_does_not_publish_are_configurable() {
    let long = "a".repeat(3000);
    let four_buttons = || {
        (0..4).fold(Text::new("x"), |text, i| {
            text.button(Button::flow(format!("B{i}"), "content1"))
        })
    };
    // On by default (Meta's Messenger limits)...
    assert_refused(
        Message::builder_for(Channel::Telegram).text(long.as_str()),
        Rule::TextTooLong,
        "messages[0].text",
    );
    assert_refused(
        Message::builder().text(four_buttons()),
        Rule::TooManyButtons,
        "messages[0].buttons",
    );
    // ...and off with `Limits::manychat_only()`, which keeps ManyChat's own rules.
    let lenient = Message::builder_for(Channel::Telegram)
        .limits(Limits::manychat_only())
        .text(long.as_str())
        .text(four_buttons())
        .build()
        .expect("ManyChat publishes no text or button limit");
    assert_eq!(lenient.messages().len(), 2);
    assert_refused(
        Message::builder()
            .limits(Limits::manychat_only())
            .text("")
            .quick_reply(QuickReply::flow("q", "content1")),
        Rule::EmptyField,
        "messages[0].text",
    );
    // One limit can be changed alone.
    let mut limits = Limits::meta();
    limits.max_text_chars = Some(4096);
    assert!(
        Message::builder_for(Channel::Telegram)
            .limits(limits)
            .text(long.as_str())
            .build()
            .is_ok()
    );
    assert_refused(
        Message::builder().limits(limits).text(four_buttons()),
        Rule::TooManyButtons,
        "messages[0].buttons",
    );
    // The same for JSON.
    let json = json!({"version": "v2", "content": {"type": "telegram",
        "messages": [{"type": "text", "text": long}]}});
    assert_eq!(
        Message::from_json(&json).expect_err("default").rule(),
        Rule::TextTooLong
    );
    assert!(Message::from_json_with_limits(&json, Limits::manychat_only()).is_ok());
}

#[test]
fn rule_urls_are_absolute_http_or_https() {
    for bad in [
        "ftp://example.com/a.png",
        "example.com/a.png",
        "/relative.png",
        "https://",
        "https://exa mple.com",
        " https://example.com",
        "javascript:alert(1)",
        "HTTP://example.com/a.png",
    ] {
        assert_refused(
            Message::builder().image(bad),
            Rule::InvalidUrl,
            "messages[0].url",
        );
    }
    assert_refused(
        Message::builder().text(Text::new("x").button(Button::url("Open", "mailto:a@b.c"))),
        Rule::InvalidUrl,
        "messages[0].buttons[0].url",
    );
    assert_refused(
        Message::builder().cards(Cards::new().card(Card::new("c").image_url("nope"))),
        Rule::InvalidUrl,
        "messages[0].elements[0].image_url",
    );
}

#[test]
fn rule_callbacks_are_https_only() {
    assert_refused(
        Message::builder().text(Text::new("x").button(Button::callback(
            "More",
            "http://hooks.example.com",
            Value::Null,
        ))),
        Rule::HttpsRequired,
        "messages[0].buttons[0].url",
    );
    assert_refused(
        text("x").quick_reply(QuickReply::callback(
            "q",
            "http://hooks.example.com",
            Value::Null,
        )),
        Rule::HttpsRequired,
        "quick_replies[0].url",
    );
}

#[test]
fn rule_no_cards_on_whatsapp_or_telegram() {
    for channel in [Channel::WhatsApp, Channel::Telegram] {
        assert_refused(
            Message::builder_for(channel).cards(Cards::new().card(Card::new("c"))),
            Rule::UnsupportedOnChannel,
            "messages[0].type",
        );
    }
    assert!(
        Message::builder_for(Channel::Instagram)
            .cards(Cards::new().card(Card::new("c")))
            .build()
            .is_ok()
    );
}

#[test]
fn rule_no_video_audio_file_on_whatsapp_or_instagram() {
    for channel in [Channel::WhatsApp, Channel::Instagram] {
        for builder in [
            Message::builder_for(channel).video("https://v.example/a.mp4"),
            Message::builder_for(channel).audio("https://v.example/a.mp3"),
            Message::builder_for(channel).file("https://v.example/a.pdf"),
        ] {
            assert_refused(builder, Rule::UnsupportedOnChannel, "messages[0].type");
        }
    }
    assert!(
        Message::builder_for(Channel::Telegram)
            .video("https://v.example/a.mp4")
            .build()
            .is_ok()
    );
}

#[test]
fn rule_no_quick_replies_on_whatsapp_or_telegram() {
    for channel in [Channel::WhatsApp, Channel::Telegram] {
        assert_refused(
            Message::builder_for(channel)
                .text("x")
                .quick_reply(QuickReply::flow("q", "content1")),
            Rule::UnsupportedOnChannel,
            "quick_replies",
        );
    }
}

#[test]
fn rule_node_buttons_and_quick_replies_refused() {
    let node = Button::Node {
        caption: "Show".into(),
        target: "My Content".into(),
    };
    assert_refused(
        Message::builder().text(Text::new("x").button(node.clone())),
        Rule::NodeNotSupported,
        "messages[0].buttons[0].type",
    );
    assert_refused(
        Message::builder().cards(Cards::new().card(Card::new("c").button(node))),
        Rule::NodeNotSupported,
        "messages[0].elements[0].buttons[0].type",
    );
    assert_refused(
        text("x").quick_reply(QuickReply::Node {
            caption: "n".into(),
            target: "t".into(),
        }),
        Rule::NodeNotSupported,
        "quick_replies[0].type",
    );
}

#[test]
fn rule_buy_buttons_not_on_text() {
    let buy = Button::buy(
        "Buy",
        Product {
            label: "T".into(),
            cost: 1,
        },
        BuyCustomer::default(),
        "done",
    );
    assert_refused(
        Message::builder().text(Text::new("x").button(buy)),
        Rule::ButtonNotAllowed,
        "messages[0].buttons[0].type",
    );
}

#[test]
fn rule_malformed_json() {
    let cases = [
        (json!({"version": "v1", "content": {}}), "version"),
        (json!({"version": "v2"}), "content"),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "list"}]}}),
            "messages[0].type",
        ),
        (
            json!({"version": "v2", "content": {"type": "sms", "messages": []}}),
            "type",
        ),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "text"}]}}),
            "messages[0]",
        ),
        (
            json!({"version": "v2", "content": {"messages": [], "actions": [{"action": "explode"}]}}),
            "actions[0].action",
        ),
        (
            json!({"version": "v2", "content": {"messages": [], "surprise": 1}}),
            "surprise",
        ),
    ];
    for (json, field) in cases {
        let error = Message::from_json(&json).expect_err("malformed");
        assert_eq!(error.rule(), Rule::Malformed, "{json}: {error}");
        assert_eq!(error.field(), field, "{json}: {error}");
    }
}

#[test]
fn from_json_applies_every_rule() {
    // The sandbox's own rejection cases, read from JSON: each is refused before sending.
    let eleven: Vec<Value> = (0..11)
        .map(|_| json!({"type": "text", "text": "x"}))
        .collect();
    let cases = [
        (
            json!({"version": "v2", "content": {"messages": eleven}}),
            Rule::TooManyMessages,
        ),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x", "buttons": [{"type": "node", "caption": "n", "target": "t"}]}]}}),
            Rule::NodeNotSupported,
        ),
        (
            json!({"version": "v2", "content": {"type": "whatsapp", "messages": [{"type": "video", "url": "https://v"}]}}),
            Rule::UnsupportedOnChannel,
        ),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "image", "url": "ftp://x"}]}}),
            Rule::InvalidUrl,
        ),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x", "buttons": [{"type": "url", "caption": "o", "url": "https://x", "webview_size": "tiny"}]}]}}),
            Rule::Malformed,
        ),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "image", "url": "https://x", "buttons": [{"type": "buy", "caption": "b", "product": {"label": "l", "cost": 1.5}, "success_target": "t"}]}]}}),
            Rule::Malformed,
        ),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "cards", "elements": [{"title": "t"}], "image_aspect_ratio": "round"}]}}),
            Rule::Malformed,
        ),
        (
            json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x", "buttons": [{"type": "call", "caption": "c", "phone": "1", "actions": [{"action": "add_tag", "tag_name": "x"}]}]}]}}),
            Rule::Malformed,
        ),
    ];
    for (json, rule) in cases {
        let error = Message::from_json(&json).expect_err("refused");
        assert_eq!(error.rule(), rule, "{json}: {error}");
    }
}
