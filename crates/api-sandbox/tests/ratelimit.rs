//! Rate limits with the real headers and 429 bodies, on tokio's paused clock.

mod common;

use std::time::Duration;

use api_sandbox::{Sandbox, SandboxConfig, WindowLimit};
use common::Http;
use serde_json::json;

async fn start(c: SandboxConfig) -> (Sandbox, Http) {
    let sb = Sandbox::start(c).await.expect("sandbox starts");
    let http = Http::new(sb.hubspot_url(), Some(&sb.hubspot_token()));
    (sb, http)
}

#[tokio::test(start_paused = true)]
async fn burst_limit_counts_down_then_answers_429_ten_secondly_rolling() {
    let (sb, http) = start(SandboxConfig::small()).await;
    for i in 0..100u32 {
        let r = http.get("/crm/v3/objects/contacts?limit=1").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-hubspot-ratelimit-max"), Some("100"));
        assert_eq!(
            r.header("x-hubspot-ratelimit-interval-milliseconds"),
            Some("10000")
        );
        assert_eq!(
            r.header("x-hubspot-ratelimit-remaining"),
            Some((99 - i).to_string().as_str())
        );
    }
    let r = http.get("/crm/v3/objects/contacts?limit=1").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("x-hubspot-ratelimit-max"), Some("100"));
    assert!(
        r.header("retry-after").is_none(),
        "HubSpot does not promise Retry-After"
    );
    let b = r.json();
    assert_eq!(b["status"], "error");
    assert_eq!(b["errorType"], "RATE_LIMIT");
    assert_eq!(b["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(
        b["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert!(
        b["groupName"]
            .as_str()
            .is_some_and(|g| g.contains("ten-secondly"))
    );
    assert!(b["correlationId"].is_string());

    // a rolling window: 9.999 s later still limited, 10 s later free again
    tokio::time::advance(Duration::from_millis(9_999)).await;
    assert_eq!(
        http.get("/crm/v3/objects/contacts?limit=1").await.status,
        429
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    let r = http.get("/crm/v3/objects/contacts?limit=1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("99"));

    // the log saw every request, with virtual arrival times
    let log = sb.log().entries();
    assert_eq!(log.len(), 103);
    assert_eq!(log.iter().filter(|e| e.status == Some(429)).count(), 2);
    assert_eq!(log[102].at - log[0].at, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn limits_are_per_token_and_resettable() {
    let mut c = SandboxConfig::small();
    c.hubspot.burst = Some(WindowLimit::new(2, Duration::from_secs(10)));
    let (sb, http) = start(c).await;
    let ro = http.with_token(Some(api_sandbox::DEFAULT_HUBSPOT_READONLY_TOKEN));
    for _ in 0..2 {
        assert_eq!(http.get("/account-info/v3/details").await.status, 200);
    }
    assert_eq!(http.get("/account-info/v3/details").await.status, 429);
    assert_eq!(
        ro.get("/account-info/v3/details").await.status,
        200,
        "other token, other budget"
    );
    sb.control().reset_rate_limits();
    assert_eq!(http.get("/account-info/v3/details").await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn time_scale_shrinks_the_window_and_the_header_says_so() {
    let (_sb, http) = start(SandboxConfig::small().with_time_scale(0.01)).await;
    let r = http.get("/account-info/v3/details").await;
    assert_eq!(
        r.header("x-hubspot-ratelimit-interval-milliseconds"),
        Some("100")
    );
    for _ in 0..99 {
        http.get("/account-info/v3/details").await;
    }
    assert_eq!(http.get("/account-info/v3/details").await.status, 429);
    tokio::time::advance(Duration::from_millis(100)).await;
    assert_eq!(http.get("/account-info/v3/details").await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn search_is_limited_to_5_per_second_with_secondly_body_and_no_headers() {
    let (_sb, http) = start(SandboxConfig::small()).await;
    for _ in 0..5 {
        let r = http
            .post("/crm/v3/objects/contacts/search", &json!({}))
            .await;
        assert_eq!(r.status, 200);
    }
    let r = http
        .post("/crm/v3/objects/contacts/search", &json!({}))
        .await;
    assert_eq!(r.status, 429);
    assert!(
        r.headers
            .keys()
            .all(|k| !k.as_str().starts_with("x-hubspot-ratelimit"))
    );
    let b = r.json();
    assert_eq!(b["policyName"], "SECONDLY");
    assert_eq!(b["message"], "You have reached your secondly limit.");
    // search does not spend the burst budget
    let r = http.get("/account-info/v3/details").await;
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("99"));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        http.post("/crm/v3/objects/contacts/search", &json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test(start_paused = true)]
async fn optional_daily_limit_and_retry_after() {
    let mut c = SandboxConfig::small();
    c.hubspot.daily = Some(3);
    c.hubspot.retry_after_on_429 = true;
    let (_sb, http) = start(c).await;
    for left in ["2", "1", "0"] {
        let r = http.get("/account-info/v3/details").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-hubspot-ratelimit-daily"), Some("3"));
        assert_eq!(r.header("x-hubspot-ratelimit-daily-remaining"), Some(left));
    }
    let r = http.get("/account-info/v3/details").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["policyName"], "DAILY");
    assert_eq!(r.json()["message"], "You have reached your daily limit.");
    assert_eq!(r.header("retry-after"), Some("86400"));
    tokio::time::advance(Duration::from_secs(86_400)).await;
    assert_eq!(http.get("/account-info/v3/details").await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn manychat_per_operation_limits() {
    let sb = Sandbox::start(SandboxConfig::small())
        .await
        .expect("starts");
    let mc = Http::new(sb.manychat_url(), Some(&sb.manychat_token()));
    let sub = sb.control().subscriber_ids()[0];
    for _ in 0..10 {
        assert_eq!(
            mc.get(&format!("/fb/subscriber/getInfo?subscriber_id={sub}"))
                .await
                .status,
            200
        );
    }
    let r = mc
        .get(&format!("/fb/subscriber/getInfo?subscriber_id={sub}"))
        .await;
    assert_eq!(r.status, 429);
    let b = r.json();
    assert_eq!(b["status"], "error");
    assert!(
        b["details"]["messages"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10 queries per second"))
    );
    // page reads have their own, larger budget
    assert_eq!(mc.get("/fb/page/getInfo").await.status, 200);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        mc.get(&format!("/fb/subscriber/getInfo?subscriber_id={sub}"))
            .await
            .status,
        200
    );
}

#[tokio::test(start_paused = true)]
async fn manychat_limits_of_the_added_endpoints() {
    let sb = Sandbox::start(SandboxConfig::small())
        .await
        .expect("starts");
    let mc = Http::new(sb.manychat_url(), Some(&sb.manychat_token()));
    let find = "/fb/subscriber/findByCustomField?field_id=3&field_value=1";
    for _ in 0..10 {
        assert_eq!(mc.get(find).await.status, 200);
    }
    let r = mc.get(find).await;
    assert_eq!(r.status, 429);
    assert!(
        r.json()["details"]["messages"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10 queries per second"))
    );
    // bot fields are a page read (100/s); getInfoByUserRef has no stated limit
    for _ in 0..100 {
        assert_eq!(mc.get("/fb/page/getBotFields").await.status, 200);
    }
    assert_eq!(mc.get("/fb/page/getBotFields").await.status, 429);
    for _ in 0..150 {
        let r = mc.get("/fb/subscriber/getInfoByUserRef?user_ref=5").await;
        assert_eq!(r.json()["code"], 2011);
    }
    // sendContentByUserRef: 25/s
    let body = serde_json::json!({"user_ref": 5, "data": {}});
    for _ in 0..25 {
        assert_eq!(
            mc.post("/fb/sending/sendContentByUserRef", &body)
                .await
                .status,
            400
        );
    }
    assert_eq!(
        mc.post("/fb/sending/sendContentByUserRef", &body)
            .await
            .status,
        429
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(mc.get(find).await.status, 200);
}
