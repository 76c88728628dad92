//! Several limiters share one budget through a real Redis, against the sandbox's rolling
//! window: in separate tasks, in separate processes, and across a Redis outage.
//!
//! Real time is unavoidable with a real Redis; the sandbox's window is time-scaled to 500 ms and
//! every bound is on counts from the sandbox's request log.

mod common;

use common::fleet::{self, CLIENT_COUNT, SERVER_MAX, WINDOW};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tower::ServiceExt;

/// Runs `per_worker` requests on each worker with `concurrency` in flight; returns the statuses.
async fn run_workers(
    sandbox: &api_sandbox::Sandbox,
    redis_url: &str,
    prefix: &str,
    workers: usize,
    per_worker: usize,
    concurrency: usize,
) -> Vec<Result<u16, String>> {
    let mut tasks = Vec::new();
    let mut stores = Vec::new();
    for w in 0..workers {
        // A generous timeout: this test is about sharing, not about a slow Redis.
        let (store, service) = fleet::worker(
            redis_url,
            prefix,
            workers as u32,
            Duration::from_millis(100),
            Duration::from_secs(1),
        );
        stores.push(store);
        let next = Arc::new(AtomicUsize::new(0));
        for _ in 0..concurrency {
            let service = service.clone();
            let next = Arc::clone(&next);
            let request = fleet::request(sandbox, w);
            tasks.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                while next.fetch_add(1, Ordering::AcqRel) < per_worker {
                    let (parts, ()) = request.clone().into_parts();
                    let result = service
                        .clone()
                        .oneshot(http::Request::from_parts(parts, ()))
                        .await;
                    statuses.push(
                        result
                            .map(|r| r.status().as_u16())
                            .map_err(|e| e.to_string()),
                    );
                }
                statuses
            }));
        }
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("worker task"));
    }
    for store in &stores {
        assert_eq!(store.transitions(), 0, "redis stayed reachable: {store:?}");
    }
    all
}

fn assert_shared_budget(entries: &[api_sandbox::LogEntry], expected: usize) {
    assert_eq!(entries.len(), expected, "every request reached the sandbox");
    let throttled = entries.iter().filter(|e| e.status == Some(429)).count();
    assert_eq!(throttled, 0, "the sandbox never had to throttle");
    let densest = fleet::max_in_window(entries, WINDOW);
    assert!(
        densest <= SERVER_MAX as usize,
        "{densest} requests in one {WINDOW:?} window; the limit is {SERVER_MAX}"
    );
    let rate = fleet::rate(entries);
    println!("densest window {densest}, rate {rate:.1}/s");
    assert!(
        rate >= 0.9 * fleet::server_rate(),
        "fleet rate {rate:.1}/s is below 0.9 of the limit {}/s",
        fleet::server_rate()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiters_in_separate_tasks_share_one_budget() {
    let (url, _server) = common::redis();
    let sandbox = fleet::sandbox().await;
    let prefix = common::unique_prefix("tasks");
    let workers = 4;
    let per_worker = 40;
    let statuses = run_workers(&sandbox, &url, &prefix, workers, per_worker, 4).await;
    assert!(
        statuses.iter().all(|s| *s == Ok(200)),
        "every request succeeded: {statuses:?}"
    );
    let entries = fleet::hubspot_entries(&sandbox);
    assert_shared_budget(&entries, workers * per_worker);
    // Without sharing, four limiters at 47 per window each would have sent ~4x the limit:
    // every worker did get its requests through the one budget.
    for w in 0..workers {
        let mine = entries
            .iter()
            .filter(|e| fleet::worker_of(e) == Some(w.to_string()))
            .count();
        assert_eq!(mine, per_worker, "worker {w}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiters_in_separate_processes_share_one_budget() {
    let (url, _server) = common::redis();
    let sandbox = fleet::sandbox().await;
    let prefix = common::unique_prefix("processes");
    let processes = 3;
    let per_process = 50;
    let mut children = Vec::new();
    for p in 0..processes {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ratelimit-fleet-worker"))
            .args([
                "--url",
                &sandbox.hubspot_url(),
                "--token",
                &sandbox.hubspot_token(),
                "--redis",
                &url,
                "--prefix",
                &prefix,
                "--requests",
                &per_process.to_string(),
                "--concurrency",
                "4",
                "--count",
                &CLIENT_COUNT.to_string(),
                "--period-ms",
                &WINDOW.as_millis().to_string(),
                "--workers",
                &processes.to_string(),
                "--worker-id",
                &format!("p{p}"),
                // a generous timeout: this test is about sharing, not about a slow Redis
                "--timeout-ms",
                "1000",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the worker binary");
        children.push(child);
    }
    for child in children {
        let out = child.wait_with_output().await.expect("worker output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker failed: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.trim()
                == format!(
                    "ok={per_process} errors=0 throttled=0 other=0 sharing=true transitions=0"
                ),
            "{stdout}"
        );
    }
    let entries = fleet::hubspot_entries(&sandbox);
    assert_shared_budget(&entries, processes * per_process);
    for p in 0..processes {
        let mine = entries
            .iter()
            .filter(|e| fleet::worker_of(e) == Some(format!("p{p}")))
            .count();
        assert_eq!(mine, per_process, "process {p}");
    }
}

/// Waits (real time, bounded) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_falls_back_to_a_share_then_sharing_resumes() {
    let mut server = common::RedisServer::start();
    let url = server.url();
    let sandbox = fleet::sandbox().await;
    let prefix = common::unique_prefix("outage");
    let workers = 2;
    let stop = Arc::new(AtomicBool::new(false));
    let mut stores = Vec::new();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (store, service) = fleet::worker(
            &url,
            &prefix,
            workers as u32,
            Duration::from_millis(100),
            Duration::from_millis(250),
        );
        stores.push(store);
        for _ in 0..3 {
            let service = service.clone();
            let stop = Arc::clone(&stop);
            let request = fleet::request(&sandbox, w);
            tasks.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let (parts, ()) = request.clone().into_parts();
                    let result = service
                        .clone()
                        .oneshot(http::Request::from_parts(parts, ()))
                        .await;
                    statuses.push(
                        result
                            .map(|r| r.status().as_u16())
                            .map_err(|e| e.to_string()),
                    );
                }
                statuses
            }));
        }
    }
    let log = sandbox.log().clone();
    // Shared phase.
    until("40 shared requests", || log.len() >= 40).await;
    assert!(stores.iter().all(|s| s.is_sharing()));
    // Redis dies: both workers fall back to half of the budget each.
    server.stop();
    let outage_start = log.len();
    until("both workers in fallback", || {
        stores.iter().all(|s| !s.is_sharing())
    })
    .await;
    let fallback_from = log.len();
    until("80 requests during the outage", || {
        log.len() >= fallback_from + 80
    })
    .await;
    let fallback_to = log.len();
    // Redis is back (empty): the probes find it and sharing resumes.
    server.restart();
    until("both workers sharing again", || {
        stores.iter().all(|s| s.is_sharing())
    })
    .await;
    let resumed_from = log.len();
    until("40 requests after the restart", || {
        log.len() >= resumed_from + 40
    })
    .await;
    stop.store(true, Ordering::Release);
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.extend(task.await.expect("worker task"));
    }

    let entries = fleet::hubspot_entries(&sandbox);
    let throttled: Vec<_> = entries
        .iter()
        .filter(|e| e.status == Some(429))
        .map(|e| (e.seq, e.at))
        .collect();
    assert!(
        throttled.is_empty(),
        "429s at {throttled:?}; outage from seq {outage_start} (fallback from {fallback_from} to \
         {fallback_to}), shared again from {resumed_from}"
    );
    // No request failed: not while Redis was up, down or coming back.
    assert!(
        statuses.iter().all(|s| *s == Ok(200)),
        "every request succeeded: {:?}",
        statuses
            .iter()
            .filter(|s| **s != Ok(200))
            .collect::<Vec<_>>()
    );
    assert!(outage_start <= fallback_from);

    // During the outage each worker ran on its own limiter at half the budget: per worker, at
    // most the fallback's burst plus one permit per fallback interval in any window (plus one
    // for a permit granted under the shared limiter just before the switch).
    let fallback_quota = stores[0].fallback_quota(fleet::client_quota());
    // Checked over 200 ms windows: the outage is shorter than the sandbox's window, and at the
    // full shared rate a worker would send about twice this many.
    let check = Duration::from_millis(200);
    let per_window = fallback_quota.burst() as usize
        + check
            .as_nanos()
            .div_ceil(u128::from(fallback_quota.emission_ns())) as usize;
    let outage: Vec<_> = entries
        .iter()
        .filter(|e| (fallback_from as u64..fallback_to as u64).contains(&e.seq))
        .cloned()
        .collect();
    for w in 0..workers {
        let mine: Vec<_> = outage
            .iter()
            .filter(|e| fleet::worker_of(e) == Some(w.to_string()))
            .cloned()
            .collect();
        assert!(
            !mine.is_empty(),
            "worker {w} kept sending during the outage"
        );
        let densest = fleet::max_in_window(&mine, check);
        assert!(
            densest <= per_window + 1,
            "worker {w}: {densest} requests in one window on a fallback of {per_window}"
        );
    }
    // Sharing resumed: the restarted Redis holds the key's state again, and each store
    // switched exactly twice (to fallback and back).
    let client = redis::Client::open(url.as_str()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1, "{keys:?}");
    for store in &stores {
        assert_eq!(store.transitions(), 2);
    }
    let _ = CLIENT_COUNT;
}
