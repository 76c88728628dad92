//! The HubSpot and ManyChat presets keep to the servers' documented limits.

mod common;

use common::*;
use resilience_ratelimit::{HUBSPOT_SEARCH_CLASS, RateClass, RateLimitLayer};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

/// The largest number of calls inside any half-open window of `window_ms`.
fn max_in_window(times: &[u128], window_ms: u128) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    (0..sorted.len())
        .map(|i| {
            sorted[i..]
                .iter()
                .take_while(|t| **t < sorted[i] + window_ms)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn hubspot_preset_never_exceeds_100_in_any_rolling_10_seconds() {
    let api = Api::ok();
    let svc = RateLimitLayer::hubspot(100)
        .unwrap()
        .with_max_wait(Duration::from_secs(120))
        .layer(api.clone());
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..250 {
        set.spawn(
            svc.clone()
                .oneshot(req("https://api.hubapi.com/crm/v3/objects/contacts")),
        );
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    let times = api.times_ms(t0);
    assert_eq!(times.len(), 250);
    assert!(
        max_in_window(&times, 10_000) <= 100,
        "{}",
        max_in_window(&times, 10_000)
    );
    // ...and uses the budget: a burst of 10 at once, then 91 per 10 s
    assert_eq!(times.iter().filter(|t| **t == 0).count(), 10);
    assert!(times.iter().filter(|t| **t < 10_000).count() >= 100);
}

#[tokio::test(start_paused = true)]
async fn hubspot_search_has_its_own_five_per_second() {
    let api = Api::ok();
    let svc = RateLimitLayer::hubspot(100)
        .unwrap()
        .with_max_wait(Duration::from_secs(60))
        .layer(api.clone());
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..12 {
        let mut r = req("https://api.hubapi.com/crm/v3/objects/contacts/search");
        r.extensions_mut()
            .insert(RateClass::new(HUBSPOT_SEARCH_CLASS));
        set.spawn(svc.clone().oneshot(r));
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    let times = api.times_ms(t0);
    assert!(max_in_window(&times, 1000) <= 5, "{times:?}");
    // the general bucket is untouched: a plain request goes at once
    let before = Instant::now();
    svc.clone()
        .oneshot(req("https://api.hubapi.com/crm/v3/objects/contacts"))
        .await
        .unwrap();
    assert_eq!(Instant::now(), before);
}

#[tokio::test(start_paused = true)]
async fn manychat_preset_limits_each_endpoint() {
    let api = Api::ok();
    let svc = RateLimitLayer::manychat()
        .with_max_wait(Duration::from_secs(60))
        .layer(api.clone());
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..60 {
        set.spawn(
            svc.clone()
                .oneshot(req("https://api.manychat.com/fb/sending/sendContent")),
        );
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    let send = api.times_ms(t0);
    assert!(
        max_in_window(&send, 1000) <= 25,
        "{}",
        max_in_window(&send, 1000)
    );
    assert!(send.iter().filter(|t| **t < 1000).count() >= 20);

    // unknown endpoints (and paths with ids) share the 10/s default bucket
    let api = Api::ok();
    let svc = RateLimitLayer::manychat()
        .with_max_wait(Duration::from_secs(60))
        .layer(api.clone());
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..30 {
        let uri = format!("https://api.manychat.com/fb/subscriber/addTag{i}");
        set.spawn(svc.clone().oneshot(req(&uri)));
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    let other = api.times_ms(t0);
    assert!(
        max_in_window(&other, 1000) <= 10,
        "{}",
        max_in_window(&other, 1000)
    );
}
