//! ManyChat surface: envelopes, error bodies, lookups, writes and sending, over real HTTP.

mod common;

use api_sandbox::{DeliveryKind, Sandbox, SandboxConfig};
use common::Http;
use serde_json::{Value, json};

async fn start(c: SandboxConfig) -> (Sandbox, Http) {
    let sb = Sandbox::start(c).await.expect("sandbox starts");
    let http = Http::new(sb.manychat_url(), Some(&sb.manychat_token()));
    (sb, http)
}

fn config() -> SandboxConfig {
    let mut c = SandboxConfig::small();
    c.manychat.rate_limits = false;
    c
}

fn assert_validation_error(b: &Value) {
    assert_eq!(b["status"], "error", "{b}");
    assert_eq!(b["message"], "Validation error", "{b}");
    assert!(b["details"]["messages"][0]["message"].is_string(), "{b}");
}

#[tokio::test]
async fn bad_token_is_an_error_envelope() {
    let (_sb, http) = start(config()).await;
    for h in [
        http.with_token(None),
        http.with_token(Some("1234567:wrong")),
    ] {
        let r = h.get("/fb/page/getInfo").await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json(),
            json!({"status": "error", "message": "Invalid access token"})
        );
    }
    let r = http.post("/fb/page/getInfo", &json!({})).await;
    assert_eq!(r.status, 405);
    assert_eq!(http.get("/fb/page/nope").await.status, 404);
}

#[tokio::test]
async fn page_endpoints_answer_success_envelopes() {
    let (_sb, http) = start(config()).await;
    let b = http.get("/fb/page/getInfo").await.json();
    assert_eq!(b["status"], "success");
    assert_eq!(b["data"]["id"], 1_234_567, "Page.id is an integer");
    assert!(b["data"]["name"].is_string());
    let tags = http.get("/fb/page/getTags").await.json();
    assert!(
        tags["data"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "vip"))
    );
    let fields = http.get("/fb/page/getCustomFields").await.json();
    assert!(fields["data"].as_array().is_some_and(|f| {
        f.iter()
            .any(|f| f["name"] == "score" && f["type"] == "number")
    }));
    let flows = http.get("/fb/page/getFlows").await.json();
    assert!(flows["data"]["flows"][0]["ns"].is_string());
    let r = http
        .post("/fb/page/createTag", &json!({"name": "fresh"}))
        .await
        .json();
    assert_eq!(r["status"], "success");
    assert_eq!(r["data"]["tag"]["name"], "fresh");
    assert_validation_error(
        &http
            .post("/fb/page/createTag", &json!({"name": "fresh"}))
            .await
            .json(),
    );
}

#[tokio::test]
async fn subscribers_join_to_hubspot_contacts() {
    let (sb, http) = start(config()).await;
    let c = sb.control();
    let mut with = 0;
    let mut without = 0;
    for id in c.contact_ids() {
        match c.subscriber_for_contact(id) {
            Some(sub) => {
                with += 1;
                let contact = c.contact(id).expect("contact");
                let s = c.subscriber(sub).expect("subscriber");
                let same_email = s["email"] == contact["properties"]["email"];
                let same_phone = s["phone"] == contact["properties"]["phone"];
                assert!(same_email || same_phone);
            }
            None => without += 1,
        }
    }
    assert!(with > 50 && without > 10, "{with} with, {without} without");

    // getInfo: Subscriber.id is a string
    let sub = c.subscriber_ids()[0];
    let b = http
        .get(&format!("/fb/subscriber/getInfo?subscriber_id={sub}"))
        .await
        .json();
    assert_eq!(b["status"], "success");
    assert_eq!(b["data"]["id"], sub.to_string());
    assert_eq!(b["data"]["page_id"], "1234567");
    for k in [
        "first_name",
        "last_name",
        "name",
        "subscribed",
        "custom_fields",
        "tags",
        "optin_email",
    ] {
        assert!(b["data"].get(k).is_some(), "missing {k}");
    }
    let r = http.get("/fb/subscriber/getInfo?subscriber_id=1").await;
    assert_eq!(r.status, 400);
    assert_validation_error(&r.json());
    assert_eq!(http.get("/fb/subscriber/getInfo").await.status, 400);
}

#[tokio::test]
async fn find_by_system_field_by_email_or_phone() {
    let (sb, http) = start(config()).await;
    let c = sb.control();
    let (sub, email) = c
        .subscriber_ids()
        .into_iter()
        .find_map(|id| Some((id, c.subscriber(id)?["email"].as_str()?.to_owned())))
        .expect("a subscriber with an email");
    let b = http
        .get(&format!(
            "/fb/subscriber/findBySystemField?email={}",
            email.to_uppercase()
        ))
        .await
        .json();
    assert_eq!(b["status"], "success");
    assert_eq!(b["data"]["id"], sub.to_string(), "one object, not a list");

    let (psub, phone) = c
        .subscriber_ids()
        .into_iter()
        .find_map(|id| Some((id, c.subscriber(id)?["phone"].as_str()?.to_owned())))
        .expect("a subscriber with a phone");
    let b = http
        .get(&format!(
            "/fb/subscriber/findBySystemField?phone={}",
            phone.replace('+', "%2B")
        ))
        .await
        .json();
    assert_eq!(b["data"]["id"], psub.to_string());

    let b = http
        .get("/fb/subscriber/findBySystemField?email=nobody@nowhere.test")
        .await
        .json();
    assert_eq!(b, json!({"status": "success", "data": null}));
    assert_validation_error(&http.get("/fb/subscriber/findBySystemField").await.json());
    assert_validation_error(
        &http
            .get(&format!(
                "/fb/subscriber/findBySystemField?email={email}&phone=%2B15550000000"
            ))
            .await
            .json(),
    );
    let name = c.subscriber(sub).expect("s")["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let b = http
        .get(&format!(
            "/fb/subscriber/findByName?name={}",
            name.replace(' ', "%20")
        ))
        .await
        .json();
    assert!(
        b["data"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.len() <= 100)
    );
}

#[tokio::test]
async fn create_update_tags_and_fields() {
    let (sb, http) = start(config()).await;
    let r = http
        .post(
            "/fb/subscriber/createSubscriber",
            &json!({"first_name": "Ada", "email": "ada@new.test", "has_opt_in_email": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    let id: u64 = b["data"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("string id");
    assert_eq!(
        sb.control().subscriber_id_by_email("ADA@new.test"),
        Some(id)
    );
    // documented required combinations
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/createSubscriber",
                &json!({"first_name": "x"}),
            )
            .await
            .json(),
    );
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/createSubscriber",
                &json!({"email": "b@new.test"}),
            )
            .await
            .json(),
    );
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/createSubscriber",
                &json!({"phone": "+15551234567", "has_opt_in_sms": true}),
            )
            .await
            .json(),
    );
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/createSubscriber",
                &json!({"email": "ada@new.test", "has_opt_in_email": true}),
            )
            .await
            .json(),
    );

    let b = http
        .post(
            "/fb/subscriber/updateSubscriber",
            &json!({"subscriber_id": id, "last_name": "Lovelace"}),
        )
        .await
        .json();
    assert_eq!(b["data"]["last_name"], "Lovelace");

    assert_eq!(
        http.post(
            "/fb/subscriber/addTagByName",
            &json!({"subscriber_id": id, "tag_name": "VIP"})
        )
        .await
        .json(),
        json!({"status": "success"})
    );
    assert_eq!(
        http.post(
            "/fb/subscriber/addTag",
            &json!({"subscriber_id": id, "tag_id": 1})
        )
        .await
        .json()["status"],
        "success"
    );
    let s = sb.control().subscriber(id).expect("s");
    let tags: Vec<&str> = s["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(tags, ["vip", "newsletter"]);
    http.post(
        "/fb/subscriber/removeTagByName",
        &json!({"subscriber_id": id, "tag_name": "vip"}),
    )
    .await;
    http.post(
        "/fb/subscriber/removeTag",
        &json!({"subscriber_id": id, "tag_id": 1}),
    )
    .await;
    assert_eq!(sb.control().subscriber(id).expect("s")["tags"], json!([]));
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/addTagByName",
                &json!({"subscriber_id": id, "tag_name": "nope"}),
            )
            .await
            .json(),
    );

    let ok = |b: Value| assert_eq!(b["status"], "success", "{b}");
    ok(http
        .post(
            "/fb/subscriber/setCustomField",
            &json!({"subscriber_id": id, "field_id": 3, "field_value": 42}),
        )
        .await
        .json());
    ok(http
        .post(
            "/fb/subscriber/setCustomFieldByName",
            &json!({"subscriber_id": id, "field_name": "LAST_ORDER", "field_value": "2026-01-02"}),
        )
        .await
        .json());
    ok(http
        .post("/fb/subscriber/setCustomFields", &json!({"subscriber_id": id, "fields": [{"field_id": 5, "field_value": true}, {"field_name": "hubspot_contact_id", "field_value": "77"}]}))
        .await
        .json());
    let s = sb.control().subscriber(id).expect("s");
    let value = |name: &str| {
        s["custom_fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == name))
            .map(|f| f["value"].clone())
    };
    assert_eq!(value("score"), Some(json!(42)));
    assert_eq!(value("last_order"), Some(json!("2026-01-02")));
    assert_eq!(value("vip"), Some(json!(true)));
    assert_eq!(value("hubspot_contact_id"), Some(json!("77")));
    // wrong type, unknown field, too many fields: rejected, nothing changed
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/setCustomField",
                &json!({"subscriber_id": id, "field_id": 3, "field_value": "x"}),
            )
            .await
            .json(),
    );
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/setCustomFieldByName",
                &json!({"subscriber_id": id, "field_name": "nope", "field_value": 1}),
            )
            .await
            .json(),
    );
    let many: Vec<Value> = (0..21)
        .map(|_| json!({"field_id": 3, "field_value": 1}))
        .collect();
    assert_validation_error(
        &http
            .post(
                "/fb/subscriber/setCustomFields",
                &json!({"subscriber_id": id, "fields": many}),
            )
            .await
            .json(),
    );
    assert_eq!(
        sb.control().subscriber(id).expect("s")["custom_fields"],
        s["custom_fields"]
    );
}

#[tokio::test]
async fn send_content_validates_and_records_deliveries() {
    let (sb, http) = start(config()).await;
    let sub = sb.control().subscriber_ids()[3];
    let data = json!({"version": "v2", "content": {
        "messages": [{"type": "text", "text": "Your order shipped", "buttons": [{"type": "url", "caption": "Track", "url": "https://example.com/t"}]}],
        "actions": [{"action": "add_tag", "tag_name": "customer"}, {"action": "set_field_value", "field_name": "score", "value": 9}]
    }});
    let r = http
        .post(
            "/fb/sending/sendContent",
            &json!({"subscriber_id": sub, "data": data, "message_tag": "POST_PURCHASE_UPDATE"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "success"}));
    let d = sb.control().deliveries_to(sub);
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].kind,
        DeliveryKind::Content {
            data: data.clone(),
            message_tag: Some("POST_PURCHASE_UPDATE".into())
        }
    );
    let s = sb.control().subscriber(sub).expect("s");
    assert!(
        s["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "customer")),
        "actions applied"
    );

    // documented violations get ManyChat's error body and deliver nothing
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"type": "text", "text": format!("m{i}")}))
        .collect();
    let twelve_qr: Vec<Value> = (0..12)
        .map(|_| json!({"type": "flow", "caption": "c", "target": "t"}))
        .collect();
    let six_actions: Vec<Value> = (0..6)
        .map(|_| json!({"action": "add_tag", "tag_name": "vip"}))
        .collect();
    for bad in [
        json!({"version": "v3", "content": {"messages": [{"type": "text", "text": "x"}]}}),
        json!({"version": "v2", "content": {"messages": eleven}}),
        json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x"}], "quick_replies": twelve_qr}}),
        json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x"}], "actions": six_actions}}),
        json!({"version": "v2", "content": {"messages": [{"type": "carousel"}]}}),
        json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "x", "buttons": [{"type": "share", "caption": "s"}]}]}}),
        json!({"version": "v2", "content": {"messages": [{"type": "image"}]}}),
    ] {
        let r = http
            .post(
                "/fb/sending/sendContent",
                &json!({"subscriber_id": sub, "data": bad}),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_validation_error(&r.json());
    }
    let r = http
        .post(
            "/fb/sending/sendContent",
            &json!({"subscriber_id": sub, "data": data, "message_tag": "PROMO"}),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"status": "error", "message": "Unsupported message tag"})
    );
    let r = http
        .post(
            "/fb/sending/sendContent",
            &json!({"subscriber_id": 1, "data": data}),
        )
        .await;
    assert_validation_error(&r.json());
    assert_eq!(
        sb.control().deliveries().len(),
        1,
        "no rejected message was delivered"
    );
}

#[tokio::test]
async fn send_content_outside_the_24h_window_needs_a_tag() {
    let mut c = config();
    c.stale_subscriber_share = 1.0;
    let (sb, http) = start(c).await;
    let sub = sb.control().subscriber_ids()[0];
    let data = json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "hi"}]}});
    let r = http
        .post(
            "/fb/sending/sendContent",
            &json!({"subscriber_id": sub, "data": data}),
        )
        .await;
    assert_eq!(r.status, 400);
    let b = r.json();
    assert_eq!(
        (b["status"].clone(), b["code"].clone()),
        (json!("error"), json!(3011))
    );
    let r = http
        .post(
            "/fb/sending/sendContent",
            &json!({"subscriber_id": sub, "data": data, "message_tag": "ACCOUNT_UPDATE"}),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn send_flow_records_and_validates() {
    let (sb, http) = start(config()).await;
    let sub = sb.control().subscriber_ids()[2];
    let r = http
        .post(
            "/fb/sending/sendFlow",
            &json!({"subscriber_id": sub, "flow_ns": "content20180221085508_278589"}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": "success"}));
    assert_eq!(
        sb.control().deliveries_to(sub)[0].kind,
        DeliveryKind::Flow {
            flow_ns: "content20180221085508_278589".into()
        }
    );
    assert_validation_error(
        &http
            .post(
                "/fb/sending/sendFlow",
                &json!({"subscriber_id": sub, "flow_ns": "nope"}),
            )
            .await
            .json(),
    );
    assert_validation_error(
        &http
            .post("/fb/sending/sendFlow", &json!({"subscriber_id": sub}))
            .await
            .json(),
    );
    let r = http
        .send(http::Method::POST, "/fb/sending/sendFlow", None)
        .await;
    assert_validation_error(&r.json());
}

#[tokio::test(start_paused = true)]
async fn send_flow_allows_100_per_subscriber_per_hour() {
    let (sb, http) = start(config()).await;
    let subs = sb.control().subscriber_ids();
    let body = |s: u64| json!({"subscriber_id": s, "flow_ns": "content20180221085508_278589"});
    for _ in 0..100 {
        assert_eq!(
            http.post("/fb/sending/sendFlow", &body(subs[0]))
                .await
                .status,
            200
        );
    }
    let r = http.post("/fb/sending/sendFlow", &body(subs[0])).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["status"], "error");
    assert_eq!(
        http.post("/fb/sending/sendFlow", &body(subs[1]))
            .await
            .status,
        200,
        "per subscriber"
    );
    tokio::time::advance(std::time::Duration::from_secs(3600)).await;
    assert_eq!(
        http.post("/fb/sending/sendFlow", &body(subs[0]))
            .await
            .status,
        200
    );
    assert_eq!(sb.control().deliveries_to(subs[0]).len(), 101);
}

#[tokio::test]
async fn growth_tools_otn_topics_and_widgets() {
    let (_sb, http) = start(config()).await;
    let tools = http.get("/fb/page/getGrowthTools").await.json();
    assert_eq!(tools["status"], "success");
    let list = tools["data"].as_array().expect("array");
    assert!(!list.is_empty());
    for t in list {
        assert!(
            t["id"].is_u64() && t["name"].is_string() && t["type"].is_string(),
            "{t}"
        );
    }
    // the deprecated alias answers the same data
    assert_eq!(http.get("/fb/page/getWidgets").await.json(), tools);
    let topics = http.get("/fb/page/getOtnTopics").await.json();
    assert!(topics["data"].as_array().is_some_and(|t| {
        t.iter()
            .any(|t| t["name"] == "Channel news" && t["description"].is_string())
    }));
    assert_eq!(
        http.post("/fb/page/getGrowthTools", &json!({}))
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn create_custom_field_then_use_it() {
    let (sb, http) = start(config()).await;
    let r = http
        .post(
            "/fb/page/createCustomField",
            &json!({"caption": "loyalty_points", "type": "number", "description": "Points"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["status"], "success");
    let field = &b["data"]["field"];
    assert_eq!(field["name"], "loyalty_points");
    assert_eq!(field["type"], "number");
    assert_eq!(field["description"], "Points");
    let id = field["id"].as_u64().expect("numeric id");
    let fields = http.get("/fb/page/getCustomFields").await.json();
    assert!(
        fields["data"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["id"] == id))
    );
    let sub = sb.control().subscriber_ids()[0];
    let r = http
        .post(
            "/fb/subscriber/setCustomField",
            &json!({"subscriber_id": sub, "field_id": id, "field_value": 12}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": "success"}));
    // duplicate caption, unknown type, missing caption
    for body in [
        json!({"caption": "Loyalty_Points", "type": "number"}),
        json!({"caption": "x", "type": "list"}),
        json!({"type": "text"}),
    ] {
        let r = http.post("/fb/page/createCustomField", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_validation_error(&r.json());
    }
}

#[tokio::test]
async fn bot_fields_get_create_and_set() {
    let (_sb, http) = start(config()).await;
    let b = http.get("/fb/page/getBotFields").await.json();
    let fields = b["data"].as_array().expect("array").clone();
    let promo = fields
        .iter()
        .find(|f| f["name"] == "promo_code")
        .expect("seeded bot field");
    assert_eq!(promo["type"], "text");
    assert_eq!(promo["value"], "WELCOME10");
    let promo_id = promo["id"].as_u64().expect("id");

    let r = http
        .post(
            "/fb/page/createBotField",
            &json!({"name": "season", "type": "text", "value": "spring"}),
        )
        .await
        .json();
    assert_eq!(r["status"], "success");
    assert_eq!(r["data"]["field"]["name"], "season");
    assert_eq!(r["data"]["field"]["value"], "spring");

    let ok = json!({"status": "success"});
    let set = |path: &'static str, body: Value| {
        let http = http.clone();
        async move { http.post(path, &body).await }
    };
    assert_eq!(
        set(
            "/fb/page/setBotField",
            json!({"field_id": promo_id, "field_value": "SUMMER"})
        )
        .await
        .json(),
        ok
    );
    assert_eq!(
        set(
            "/fb/page/setBotFieldByName",
            json!({"field_name": "OPENING_HOUR", "field_value": 9})
        )
        .await
        .json(),
        ok
    );
    assert_eq!(
        set(
            "/fb/page/setBotFields",
            json!({"fields": [
                {"field_name": "store_open", "field_value": false},
                {"field_name": "season", "field_value": "summer"}
            ]})
        )
        .await
        .json(),
        ok
    );
    let now = http.get("/fb/page/getBotFields").await.json();
    let value = |name: &str| {
        now["data"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["name"] == name))
            .map(|f| f["value"].clone())
    };
    assert_eq!(value("promo_code"), Some(json!("SUMMER")));
    assert_eq!(value("opening_hour"), Some(json!(9)));
    assert_eq!(value("store_open"), Some(json!(false)));
    assert_eq!(value("season"), Some(json!("summer")));

    // wrong type, unknown field, > 20 items; a bad item in setBotFields changes nothing
    let too_many: Vec<Value> = (0..21)
        .map(|_| json!({"field_name": "season", "field_value": "x"}))
        .collect();
    for (path, body) in [
        (
            "/fb/page/setBotField",
            json!({"field_id": promo_id, "field_value": 5}),
        ),
        (
            "/fb/page/setBotFieldByName",
            json!({"field_name": "nope", "field_value": "x"}),
        ),
        ("/fb/page/setBotFields", json!({"fields": too_many})),
        (
            "/fb/page/setBotFields",
            json!({"fields": [
                {"field_name": "season", "field_value": "autumn"},
                {"field_name": "store_open", "field_value": "yes"}
            ]}),
        ),
        (
            "/fb/page/createBotField",
            json!({"name": "Season", "type": "text"}),
        ),
        (
            "/fb/page/createBotField",
            json!({"name": "n", "type": "number", "value": "1"}),
        ),
    ] {
        let r = http.post(path, &body).await;
        assert_eq!(r.status, 400, "{path} {body}");
        assert_validation_error(&r.json());
    }
    let after = http.get("/fb/page/getBotFields").await.json();
    assert!(after["data"].as_array().is_some_and(|a| {
        a.iter()
            .any(|f| f["name"] == "season" && f["value"] == "summer")
    }));
}

#[tokio::test]
async fn find_by_custom_field_text_and_number_newest_write_first() {
    let (sb, http) = start(config()).await;
    let ids = sb.control().subscriber_ids();
    for id in [ids[3], ids[1], ids[2]] {
        let r = http
            .post(
                "/fb/subscriber/setCustomFieldByName",
                &json!({"subscriber_id": id, "field_name": "score", "field_value": 42}),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let b = http
        .get("/fb/subscriber/findByCustomField?field_id=3&field_value=42")
        .await
        .json();
    assert_eq!(b["status"], "success");
    let got: Vec<String> = b["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().expect("string id").to_owned())
        .collect();
    assert_eq!(
        got,
        [ids[2], ids[1], ids[3]].map(|i| i.to_string()),
        "sorted by the latest update of the field"
    );
    // text field: the seeded hubspot_contact_id
    let contact = sb.control().contact_ids()[0];
    let sub = sb.control().subscriber_for_contact(contact);
    let b = http
        .get(&format!(
            "/fb/subscriber/findByCustomField?field_id=1&field_value={contact}"
        ))
        .await
        .json();
    let found = b["data"].as_array().expect("array");
    assert_eq!(
        found.first().map(|s| s["id"].clone()),
        sub.map(|s| json!(s.to_string()))
    );
    // no match is an empty list
    let b = http
        .get("/fb/subscriber/findByCustomField?field_id=3&field_value=-1")
        .await
        .json();
    assert_eq!(b["data"], json!([]));
    // boolean fields, unknown fields, non-numbers and missing params are validation errors
    for q in [
        "field_id=5&field_value=true",
        "field_id=999&field_value=1",
        "field_id=3&field_value=abc",
        "field_value=1",
        "field_id=3",
    ] {
        let r = http
            .get(&format!("/fb/subscriber/findByCustomField?{q}"))
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert_validation_error(&r.json());
    }
}

#[tokio::test]
async fn get_info_by_user_ref_and_send_content_by_user_ref() {
    let (sb, http) = start(config()).await;
    let ctl = sb.control();
    let (sub, user_ref) = ctl
        .subscriber_ids()
        .into_iter()
        .find_map(|s| ctl.user_ref_of(s).map(|r| (s, r)))
        .expect("some subscriber has a user_ref");
    let b = http
        .get(&format!(
            "/fb/subscriber/getInfoByUserRef?user_ref={user_ref}"
        ))
        .await
        .json();
    assert_eq!(b["status"], "success");
    assert_eq!(b["data"]["id"], sub.to_string());
    assert_eq!(b["data"]["user_refs"][0]["user_ref"], user_ref);
    // not registered: 2011; registered but not linked: 2012 (Response_Error_With_Code)
    let r = http.get("/fb/subscriber/getInfoByUserRef?user_ref=5").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 2011);
    assert_eq!(r.json()["status"], "error");
    let unlinked = ctl.unlinked_user_refs()[0];
    let r = http
        .get(&format!(
            "/fb/subscriber/getInfoByUserRef?user_ref={unlinked}"
        ))
        .await;
    assert_eq!((r.status, r.json()["code"].clone()), (400, json!(2012)));

    let data = json!({"version": "v2", "content": {
        "messages": [{"type": "text", "text": "Hi from the checkbox"}],
        "actions": [{"action": "add_tag", "tag_name": "vip"}]
    }});
    let r = http
        .post(
            "/fb/sending/sendContentByUserRef",
            &json!({"user_ref": user_ref, "data": data}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": "success"}));
    let d = ctl.deliveries_to(sub);
    assert_eq!(d.len(), 1);
    assert!(
        matches!(&d[0].kind, DeliveryKind::Content { data: sent, message_tag: None } if *sent == data)
    );
    // actions are documented as not processed by this method
    let info = ctl.subscriber(sub).expect("exists");
    assert!(
        info["tags"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["name"] != "vip")),
        "{info}"
    );
    let r = http
        .post(
            "/fb/sending/sendContentByUserRef",
            &json!({"user_ref": unlinked, "data": data}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(ctl.user_ref_deliveries(), vec![(unlinked, data.clone())]);
    // unknown ref and an invalid block are validation errors, and nothing is recorded
    for body in [
        json!({"user_ref": 5, "data": data}),
        json!({"user_ref": user_ref, "data": {"version": "v1", "content": {"messages": []}}}),
        json!({"data": data}),
    ] {
        let r = http.post("/fb/sending/sendContentByUserRef", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_validation_error(&r.json());
    }
    assert_eq!(ctl.deliveries().len(), 1);
    assert_eq!(ctl.user_ref_deliveries().len(), 1);
}

#[tokio::test]
async fn verify_by_signed_request() {
    let (sb, http) = start(config()).await;
    let sub = sb.control().subscriber_ids()[0];
    let r = http
        .post(
            "/fb/subscriber/verifyBySignedRequest",
            &json!({"subscriber_id": sub, "signed_request": "c2ln.eyJ1c2VyIjoxfQ"}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": "success"}));
    for body in [
        json!({"subscriber_id": sub, "signed_request": "nodot"}),
        json!({"subscriber_id": 1, "signed_request": "a.b"}),
        json!({"subscriber_id": sub}),
    ] {
        let r = http
            .post("/fb/subscriber/verifyBySignedRequest", &body)
            .await;
        assert_eq!(r.status, 400, "{body}");
        assert_validation_error(&r.json());
    }
}
