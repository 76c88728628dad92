//! Every operation against the sandbox, through the default stack.

mod support;

use api_sandbox::{DeliveryKind, Fault, Route};
use client_manychat::{
    Action, Button, Channel, FieldId, FieldType, FieldValue, ManyChatError, Message, NewSubscriber,
    PageId, QuickReply, SubscriberId, SubscriberUpdate, TagId, Text,
};
use serde_json::json;

/// A subscriber of the seed data that has an email.
fn subscriber_with_email(sandbox: &api_sandbox::Sandbox) -> (SubscriberId, String) {
    sandbox
        .control()
        .subscriber_ids()
        .into_iter()
        .find_map(|id| {
            let json = sandbox.control().subscriber(id)?;
            Some((SubscriberId(id), json["email"].as_str()?.to_owned()))
        })
        .expect("a subscriber with an email")
}

#[tokio::test(start_paused = true)]
async fn page_reads() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);

    let page = client.page().info().await.expect("info");
    assert_eq!(page.id, PageId(1_234_567), "Page.id is a JSON integer");
    assert_eq!(page.name, "Sandbox Coffee Co.");
    assert_eq!(client.health_check().await.expect("health").id, page.id);

    let tags = client.page().tags().await.expect("tags");
    assert!(tags.iter().any(|t| t.name == "vip"));
    let fields = client.page().custom_fields().await.expect("fields");
    let score = fields.iter().find(|f| f.name == "score").expect("score");
    assert_eq!(score.field_type, FieldType::Number);
    let bot_fields = client.page().bot_fields().await.expect("bot fields");
    assert!(bot_fields.iter().any(|f| f.name == "promo_code"));
    let flows = client.page().flows().await.expect("flows");
    assert!(
        flows
            .flows
            .iter()
            .any(|f| f.ns == "content20180221085508_278589")
    );
    assert!(!flows.folders.is_empty());
    let tools = client.page().growth_tools().await.expect("growth tools");
    assert!(!tools.is_empty());
    assert_eq!(
        sandbox.log().for_path("/fb/page/").len(),
        7,
        "one request per call"
    );
}

#[tokio::test(start_paused = true)]
async fn page_writes() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);

    let tag = client
        .page()
        .create_tag("spring-sale")
        .await
        .expect("create tag");
    assert_eq!(tag.name, "spring-sale");
    let again = client
        .page()
        .create_tag("spring-sale")
        .await
        .expect_err("exists");
    assert_eq!(again.status(), Some(http::StatusCode::BAD_REQUEST));
    assert!(again.message().is_some());

    let field = client
        .page()
        .create_custom_field("loyalty_points", FieldType::Number, Some("Points"))
        .await
        .expect("create field");
    assert_eq!(field.field_type, FieldType::Number);
    let fields = client.page().custom_fields().await.expect("fields");
    assert!(fields.iter().any(|f| f.id == field.id));

    client
        .page()
        .set_bot_field("promo_code", "SPRING20")
        .await
        .expect("set bot field by name");
    let bot_fields = client.page().bot_fields().await.expect("bot fields");
    let promo = bot_fields
        .iter()
        .find(|f| f.name == "promo_code")
        .expect("promo");
    assert_eq!(promo.value, json!("SPRING20"));
    client
        .page()
        .set_bot_field(promo.id, "SUMMER")
        .await
        .expect("set bot field by id");

    client
        .page()
        .remove_tag(tag.id)
        .await
        .expect("remove by id");
    let other = client.page().create_tag("temp").await.expect("create");
    client
        .page()
        .remove_tag("temp")
        .await
        .expect("remove by name");
    let tags = client.page().tags().await.expect("tags");
    assert!(!tags.iter().any(|t| t.id == tag.id || t.id == other.id));

    let empty = client.page().create_tag(" ").await.expect_err("empty");
    assert!(empty.is_invalid_input());
}

#[tokio::test(start_paused = true)]
async fn subscriber_lookups() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let (id, email) = subscriber_with_email(&sandbox);

    let subscriber = client.subscribers().get(id).await.expect("get");
    assert_eq!(subscriber.id, id, "Subscriber.id is a JSON string");
    assert_eq!(subscriber.page_id, Some(PageId(1_234_567)));

    let found = client
        .subscribers()
        .find_by_email(&email.to_uppercase())
        .await
        .expect("find by email");
    assert_eq!(found.map(|s| s.id), Some(id));
    let none = client
        .subscribers()
        .find_by_email("nobody@nowhere.invalid")
        .await
        .expect("no match is not an error");
    assert!(none.is_none());

    let phone_owner = sandbox
        .control()
        .subscriber_ids()
        .into_iter()
        .find_map(|id| {
            let json = sandbox.control().subscriber(id)?;
            Some((id, json["phone"].as_str()?.to_owned()))
        })
        .expect("a subscriber with a phone");
    let by_phone = client
        .subscribers()
        .find_by_phone(&phone_owner.1)
        .await
        .expect("find by phone");
    assert_eq!(by_phone.map(|s| s.id), Some(SubscriberId(phone_owner.0)));
    assert!(
        client
            .subscribers()
            .find_by_phone("+19999999999")
            .await
            .expect("no match")
            .is_none()
    );

    let name = subscriber.name.clone().expect("name");
    let by_name = client
        .subscribers()
        .find_by_name(&name)
        .await
        .expect("by name");
    assert!(by_name.iter().any(|s| s.id == id));

    client
        .subscribers()
        .set_custom_field(id, "hubspot_contact_id", "hs-777")
        .await
        .expect("set field");
    let by_field = client
        .subscribers()
        .find_by_custom_field(FieldId(1), "hs-777")
        .await
        .expect("by custom field");
    assert_eq!(by_field.iter().map(|s| s.id).collect::<Vec<_>>(), [id]);
    let refused = client
        .subscribers()
        .find_by_custom_field(FieldId(5), true)
        .await
        .expect_err("booleans cannot be searched");
    assert!(refused.is_invalid_input());

    let unknown = client
        .subscribers()
        .get(999_999_999)
        .await
        .expect_err("unknown");
    assert!(unknown.api().is_some(), "{unknown}");
}

#[tokio::test(start_paused = true)]
async fn subscriber_create_update() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);

    let created = client
        .subscribers()
        .create(
            &NewSubscriber::with_phone("+15400000123", true)
                .consent_phrase("I agree to texts")
                .first_name("Ada")
                .last_name("Lovelace"),
        )
        .await
        .expect("create");
    assert_eq!(created.first_name.as_deref(), Some("Ada"));
    assert_eq!(
        sandbox.control().subscriber_id_by_phone("+15400000123"),
        Some(created.id.get())
    );

    let refused = client
        .subscribers()
        .create(&NewSubscriber::with_phone("+15400000124", true))
        .await
        .expect_err("consent phrase required");
    assert!(refused.is_invalid_input());

    let updated = client
        .subscribers()
        .update(
            created.id,
            &SubscriberUpdate::new()
                .last_name("King")
                .email("ada@example.org", true),
        )
        .await
        .expect("update");
    assert_eq!(updated.last_name.as_deref(), Some("King"));
    assert_eq!(updated.email.as_deref(), Some("ada@example.org"));
}

#[tokio::test(start_paused = true)]
async fn subscriber_tags_and_fields() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let (id, _) = subscriber_with_email(&sandbox);
    let subscribers = client.subscribers();

    subscribers.add_tag(id, "vip").await.expect("add by name");
    subscribers.add_tag(id, TagId(4)).await.expect("add by id");
    let s = subscribers.get(id).await.expect("get");
    assert!(s.has_tag("vip") && s.has_tag("lead"));
    subscribers
        .remove_tag(id, "VIP")
        .await
        .expect("remove by name");
    subscribers
        .remove_tag(id, TagId(4))
        .await
        .expect("remove by id");
    let s = subscribers.get(id).await.expect("get");
    assert!(!s.has_tag("vip") && !s.has_tag("lead"));

    subscribers
        .set_custom_field(id, FieldId(3), 42)
        .await
        .expect("number by id");
    subscribers
        .set_custom_field(id, "vip", true)
        .await
        .expect("boolean by name");
    subscribers
        .set_custom_fields(
            id,
            [
                (
                    FieldId(4).into(),
                    FieldValue::date("2026-01-31").expect("date"),
                ),
                (
                    "next_call".into(),
                    FieldValue::datetime("2026-02-01T09:30:00+01:00").expect("datetime"),
                ),
                ("lifecycle_stage".into(), FieldValue::from("customer")),
                (
                    client_manychat::FieldRef::from("score"),
                    FieldValue::number(7.5).expect("finite"),
                ),
            ],
        )
        .await
        .expect("set several");
    let s = subscribers.get(id).await.expect("get");
    assert_eq!(s.custom_field("score"), Some(&json!(7.5)));
    assert_eq!(s.custom_field("vip"), Some(&json!(true)));
    assert_eq!(s.custom_field("last_order"), Some(&json!("2026-01-31")));
    assert_eq!(s.custom_field("lifecycle_stage"), Some(&json!("customer")));

    let wrong_type = subscribers
        .set_custom_field(id, "score", "not a number")
        .await
        .expect_err("the API refuses a text in a number field");
    assert_eq!(wrong_type.status(), Some(http::StatusCode::BAD_REQUEST));

    let too_many = subscribers
        .set_custom_fields(id, (0..21).map(|i| (FieldId(1), FieldValue::from(i))))
        .await
        .expect_err("more than 20");
    assert!(too_many.is_invalid_input());
}

#[tokio::test(start_paused = true)]
async fn sending_every_message_type_is_delivered() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let (id, _) = subscriber_with_email(&sandbox);

    client
        .send_text(id, "Hello from Rust")
        .await
        .expect("send_text");
    let rich = Message::builder()
        .text(Text::new("Pick").button(Button::url("Open", "https://example.com")))
        .image("https://cdn.example.com/a.png")
        .video("https://cdn.example.com/v.mp4")
        .audio("https://cdn.example.com/a.mp3")
        .file("https://cdn.example.com/f.pdf")
        .cards(client_manychat::Cards::new().card(client_manychat::Card::new("Espresso")))
        .quick_reply(QuickReply::flow("Menu", "content20180221085508_278589"))
        .action(Action::add_tag("customer"))
        .message_tag("ACCOUNT_UPDATE")
        .build()
        .expect("valid");
    client.send_content(id, &rich).await.expect("send_content");
    for channel in [Channel::Instagram, Channel::WhatsApp, Channel::Telegram] {
        let message = Message::builder_for(channel)
            .text("Hi")
            .build()
            .expect("valid");
        client.send_content(id, &message).await.expect("channel");
    }
    client
        .send_flow(id, "content20180221085508_278589")
        .await
        .expect("send_flow");

    let deliveries = sandbox.control().deliveries_to(id.get());
    assert_eq!(deliveries.len(), 6);
    let DeliveryKind::Content { data, message_tag } = &deliveries[1].kind else {
        panic!("content expected");
    };
    assert_eq!(data, &rich.to_data(), "the data object arrives unchanged");
    assert_eq!(message_tag.as_deref(), Some("ACCOUNT_UPDATE"));
    let DeliveryKind::Content { message_tag, .. } = &deliveries[0].kind else {
        panic!("content expected");
    };
    assert_eq!(message_tag, &None, "no tag unless asked");
    assert!(matches!(
        &deliveries[5].kind,
        DeliveryKind::Flow { flow_ns } if flow_ns == "content20180221085508_278589"
    ));
    assert!(
        client
            .subscribers()
            .get(id)
            .await
            .expect("get")
            .has_tag("customer"),
        "the block's action ran"
    );

    let empty = client.send_text(id, "").await.expect_err("empty");
    assert!(matches!(empty, ManyChatError::InvalidMessage(_)));
    assert!(
        client
            .send_flow(id, " ")
            .await
            .expect_err("empty")
            .is_invalid_input()
    );
    assert_eq!(sandbox.control().deliveries_to(id.get()).len(), 6);
}

#[tokio::test(start_paused = true)]
async fn api_refusals_carry_manychat_codes() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let (id, _) = subscriber_with_email(&sandbox);
    let unknown_flow = client
        .send_flow(id, "content_does_not_exist")
        .await
        .expect_err("unknown flow");
    assert_eq!(unknown_flow.status(), Some(http::StatusCode::BAD_REQUEST));
    assert!(!unknown_flow.is_outcome_unknown() && !unknown_flow.is_retryable());

    let bad_tag = Message::builder()
        .text("x")
        .message_tag("NOT_A_TAG")
        .build()
        .expect("tags are passed through, not checked");
    let error = client
        .send_content(id, &bad_tag)
        .await
        .expect_err("refused");
    assert_eq!(error.message(), Some("Unsupported message tag"));
    assert!(sandbox.control().deliveries_to(id.get()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_200_with_an_error_body_is_an_error() {
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let (id, _) = subscriber_with_email(&sandbox);
    sandbox.control().fail_next(
        Route::path("/fb/sending/sendContent"),
        1,
        Fault::json(
            200,
            json!({"status": "error", "message": "Subscriber has blocked the page", "code": 3041}),
        ),
    );
    let error = client.send_text(id, "Hi").await.expect_err("a 200 refusal");
    assert!(matches!(error, ManyChatError::Api { .. }), "{error:?}");
    assert_eq!(error.status(), Some(http::StatusCode::OK));
    assert_eq!(error.code(), Some(3041));
    assert_eq!(error.message(), Some("Subscriber has blocked the page"));
    assert!(!error.is_retryable());
    assert_eq!(
        sandbox.log().for_path("/fb/sending/sendContent").len(),
        1,
        "a refusal is not retried"
    );

    sandbox.control().fail_next(
        Route::path("/fb/page/getTags"),
        1,
        Fault::json(
            200,
            json!({"status": "error", "message": "Permission denied"}),
        ),
    );
    let error = client
        .page()
        .tags()
        .await
        .expect_err("a 200 refusal on a read");
    assert_eq!(error.message(), Some("Permission denied"));
}

#[tokio::test(start_paused = true)]
async fn bad_token_is_an_api_error() {
    let sandbox = support::sandbox(false).await;
    let client = support::builder(&sandbox.manychat_url(), "1234567:wrong-key")
        .build()
        .expect("client");
    let error = client.health_check().await.expect_err("bad token");
    assert_eq!(error.status(), Some(http::StatusCode::UNAUTHORIZED));
    assert!(!error.to_string().contains("wrong-key"));
    assert!(!format!("{error:?}").contains("wrong-key"));
}

#[tokio::test(start_paused = true)]
async fn every_type_the_validator_accepts_on_each_channel_is_delivered() {
    use client_manychat::{Card, Cards, Media};
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let (id, _) = subscriber_with_email(&sandbox);
    let mut sent = 0;
    for channel in [
        Channel::Messenger,
        Channel::Instagram,
        Channel::WhatsApp,
        Channel::Telegram,
    ] {
        let mut builder = Message::builder_for(channel)
            .text(Text::new("Hi").button(Button::flow("Go", "content20180221085508_278589")))
            .image(
                Media::new("https://cdn.example.com/a.png")
                    .button(Button::url("Open", "https://example.com")),
            );
        if channel.supports_media_files() {
            builder = builder
                .video("https://cdn.example.com/v.mp4")
                .audio("https://cdn.example.com/a.mp3")
                .file("https://cdn.example.com/f.pdf");
        }
        if channel.supports_cards() {
            builder = builder.cards(
                Cards::new().card(Card::new("Card").button(Button::call("Call", "+15550000000"))),
            );
        }
        if channel.supports_quick_replies() {
            builder = builder.quick_reply(QuickReply::callback(
                "More",
                "https://hooks.example.com/q",
                json!({"a": 1}),
            ));
        }
        let message = builder
            .action(Action::set_field("score", 5))
            .build()
            .expect("valid");
        client
            .send_content(id, &message)
            .await
            .unwrap_or_else(|e| panic!("{channel}: {e}"));
        sent += 1;
        assert_eq!(
            sandbox.control().deliveries_to(id.get()).len(),
            sent,
            "{channel}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn what_the_lenient_limits_and_the_external_callback_allow_is_delivered() {
    use client_manychat::ExternalMessageCallback;
    use client_manychat::message::Limits;
    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let (id, _) = subscriber_with_email(&sandbox);
    let message = Message::builder_for(Channel::Telegram)
        .limits(Limits::manychat_only())
        .text("a".repeat(4000).as_str())
        .text((0..4).fold(Text::new("Pick one"), |text, i| {
            text.button(Button::flow(
                format!("Option {i}"),
                "content20180221085508_278589",
            ))
        }))
        .external_message_callback(ExternalMessageCallback::new(
            "https://hooks.example.com/answer",
            json!({"answer": "{{last_input_text}}"}),
        ))
        .build()
        .expect("valid under ManyChat's own rules");
    client.send_content(id, &message).await.expect("delivered");
    assert_eq!(sandbox.control().deliveries_to(id.get()).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn health_check_plugs_into_obs_health() {
    use obs_health::{Health, HealthChecker};

    let sandbox = support::sandbox(false).await;
    let client = support::client(&sandbox);
    let checker = HealthChecker::builder().check(client.clone()).build();
    assert_eq!(checker.report().await.health(), Health::Healthy);

    let bad = support::builder(&sandbox.manychat_url(), "1234567:wrong")
        .build()
        .expect("builds");
    let checker = HealthChecker::builder().check(bad).build();
    assert_eq!(checker.report().await.health(), Health::Unhealthy);
}
