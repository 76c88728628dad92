//! Shared breaker hints against a real Redis: the quorum rule, expiry, and the wiring to a
//! `resilience-breaker` breaker (listener publishes, guard opens early and closes again).

mod common;

use resilience_breaker::{Breaker, BreakerConfig, State};
use resilience_core::Outcome;
use resilience_ratelimit_redis::{BreakerHints, Quorum};
use std::time::Duration;

fn hints(url: &str, prefix: &str, id: &str) -> BreakerHints {
    BreakerHints::builder(url)
        .key_prefix(prefix)
        .worker_id(id)
        .timeout(Duration::from_secs(1))
        .build()
        .expect("hints")
}

#[tokio::test]
async fn a_quorum_of_other_workers_is_needed() {
    let (url, _server) = common::redis();
    let prefix = common::unique_prefix("quorum");
    let workers: Vec<BreakerHints> = (0..8)
        .map(|i| hints(&url, &prefix, &format!("w{i}")))
        .collect();
    let me = &workers[0];
    assert!(!me.should_open_early("hubspot").await);

    // One bad worker, then two: never enough.
    workers[1].publish_open("hubspot", None).await.unwrap();
    assert!(!me.should_open_early("hubspot").await);
    workers[2].publish_open("hubspot", None).await.unwrap();
    let status = me.status("hubspot").await.unwrap();
    assert_eq!(
        (status.open_elsewhere, status.seen, status.quorum),
        (2, 3, false)
    );

    // Three of the four workers seen: a quorum. The third one does not count itself.
    workers[3].publish_open("hubspot", None).await.unwrap();
    assert!(me.should_open_early("hubspot").await);
    let own = workers[3].status("hubspot").await.unwrap();
    assert_eq!((own.open_elsewhere, own.quorum), (2, false));
    // Other breaker names are not affected.
    assert!(!me.should_open_early("manychat").await);

    // Four more healthy workers show up: 3 of 8 is under half.
    for w in &workers[4..] {
        w.status("hubspot").await.unwrap();
    }
    let status = me.status("hubspot").await.unwrap();
    assert_eq!(
        (status.open_elsewhere, status.seen, status.quorum),
        (3, 8, false)
    );
    workers[4].publish_open("hubspot", None).await.unwrap();
    assert!(me.should_open_early("hubspot").await, "4 of 8");

    // A worker whose breaker closed withdraws its hint.
    workers[1].withdraw("hubspot").await.unwrap();
    assert!(!me.should_open_early("hubspot").await);
}

#[tokio::test]
async fn hints_expire_with_the_open_duration() {
    let (url, _server) = common::redis();
    let prefix = common::unique_prefix("expiry");
    let quorum = Quorum::new(1, 0.1).unwrap();
    let me = BreakerHints::builder(url.as_str())
        .key_prefix(prefix.as_str())
        .worker_id("me")
        .quorum(quorum)
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let other = hints(&url, &prefix, "other");
    other
        .publish_open("db", Some(Duration::from_millis(200)))
        .await
        .unwrap();
    assert!(me.should_open_early("db").await);
    // Real time: poll (bounded) until the hint has expired on the server's clock.
    let mut expired = false;
    for _ in 0..300 {
        if !me.should_open_early("db").await {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(expired, "the hint never expired");
}

#[tokio::test]
async fn an_unreachable_redis_never_opens_early() {
    let me = BreakerHints::builder("redis://127.0.0.1:1")
        .worker_id("me")
        .quorum(Quorum::new(1, 0.1).unwrap())
        .build()
        .unwrap();
    assert!(!me.should_open_early("hubspot").await);
    assert!(me.status("hubspot").await.is_err());
}

fn breaker(name: &str, hints: Option<&BreakerHints>) -> Breaker {
    let mut config = BreakerConfig::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(30), 2.0, Duration::from_secs(60))
        .jitter(0.0);
    if let Some(hints) = hints {
        config = config.on_state_change(hints.listener());
    }
    Breaker::new(name, config.build().expect("config"))
}

async fn wait_for(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_and_guard_open_early_on_quorum_and_close_after() {
    let (url, _server) = common::redis();
    let prefix = common::unique_prefix("guard");
    let others: Vec<(BreakerHints, Breaker)> = (0..3)
        .map(|i| {
            let h = hints(&url, &prefix, &format!("other{i}"));
            let b = breaker("hubspot", Some(&h));
            (h, b)
        })
        .collect();
    let my_hints = hints(&url, &prefix, "me");
    let mine = breaker("hubspot", Some(&my_hints));
    let guard = my_hints.guard(mine.clone(), Duration::from_millis(20));

    // Two other breakers really open (one failure each): not a quorum yet.
    for (_, b) in &others[..2] {
        b.try_acquire().expect("closed").record(Outcome::Failure);
        assert_eq!(b.state(), State::Open);
    }
    wait_for("two hints published", async || {
        my_hints
            .status("hubspot")
            .await
            .is_ok_and(|s| s.open_elsewhere == 2)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        mine.state(),
        State::Closed,
        "two of four is not a quorum of three"
    );

    // The third opens: the guard forces this breaker open, and it publishes nothing itself.
    others[2]
        .1
        .try_acquire()
        .expect("closed")
        .record(Outcome::Failure);
    wait_for("opened early", async || mine.state() == State::ForcedOpen).await;
    let status = others[0].0.status("hubspot").await.unwrap();
    assert_eq!(
        status.open_elsewhere, 2,
        "a forced-open breaker does not vote"
    );

    // The others recover (their breakers close): the guard closes this one again.
    for (_, b) in &others {
        b.reset();
    }
    wait_for("closed again", async || mine.state() == State::Closed).await;
    guard.abort();
}
