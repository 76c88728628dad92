//! Fleet mode end to end: several `integrations` processes on one Redis share one HubSpot
//! rate budget (`--rate-limit-redis-url` / `RATE_LIMIT_REDIS_URL`).
//!
//! Real processes and a real Redis need real time: the sandbox's HubSpot window is time-scaled
//! to 100 requests per 1 s, and every bound is a count from the sandbox's request log.

mod common;

use std::time::Duration;

use api_sandbox::{Api, LogEntry, Sandbox, SandboxConfig, WindowLimit};
use common::{Out, run, sandbox_env};

/// The sandbox's limit: `SERVER_MAX` per rolling `WINDOW` (HubSpot's 10 s, scaled by 0.1).
const SERVER_MAX: usize = 100;
const WINDOW: Duration = Duration::from_secs(1);
/// The processes' limit: 90 per window (burst 9), 10 below the server's as a margin for the
/// jitter between a permit and the request's arrival.
const CLIENT_LIMIT: &str = "90/1s";
const PROCESSES: usize = 3;
/// Batch reads per process (100 ids each): one process alone would finish in under a window.
const REQUESTS_PER_PROCESS: usize = 60;

async fn sandbox() -> Sandbox {
    let mut config = SandboxConfig::small().with_time_scale(0.1);
    config.hubspot.burst = Some(WindowLimit::new(100, Duration::from_secs(10)));
    Sandbox::start(config).await.expect("sandbox starts")
}

/// The most requests that arrived in any half-open window `[t, t + WINDOW)`.
fn densest_window(entries: &[LogEntry]) -> usize {
    let mut times: Vec<Duration> = entries.iter().map(|e| e.at).collect();
    times.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] >= times[start] + WINDOW {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Runs `PROCESSES` batch reads of `REQUESTS_PER_PROCESS` × 100 ids at once.
async fn run_fleet(sandbox: &Sandbox, extra_env: &[(&str, &str)]) -> Vec<Out> {
    let ids = (1..=REQUESTS_PER_PROCESS * 100)
        .map(|i| (900_000 + i).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut env = sandbox_env(sandbox);
    env.push(("HUBSPOT_RATE_LIMIT".into(), CLIENT_LIMIT.into()));
    env.extend(extra_env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let runs = (0..PROCESSES).map(|_| {
        let env = env.clone();
        let ids = ids.clone();
        async move {
            let args = ["-q", "hubspot", "batch-read", "--ids", &ids];
            run(&args, &env).await
        }
    });
    futures_util::future::join_all(runs).await
}

fn hubspot_log(sandbox: &Sandbox) -> Vec<LogEntry> {
    let mut entries = sandbox.log().filter(|e| e.api == Api::HubSpot);
    entries.sort_by_key(|e| e.at);
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_on_one_redis_share_one_hubspot_budget() {
    let (redis_url, _server) = common::redis::redis();

    // Control: without Redis each process spends the whole budget, and together they overrun
    // the server's window (so the shared run below proves the sharing, not the pacing alone).
    let alone = sandbox().await;
    run_fleet(&alone, &[]).await;
    let log = hubspot_log(&alone);
    let throttled = log.iter().filter(|e| e.status == Some(429)).count();
    assert!(
        throttled > 0 || densest_window(&log) > SERVER_MAX,
        "three unshared processes should overrun {SERVER_MAX} per {WINDOW:?}: densest window \
         {}, {throttled} throttled",
        densest_window(&log)
    );

    // Shared through Redis: one budget for the three of them.
    let shared = sandbox().await;
    let outs = run_fleet(
        &shared,
        &[
            ("RATE_LIMIT_REDIS_URL", redis_url.as_str()),
            ("RATE_LIMIT_REDIS_WORKERS", "3"),
        ],
    )
    .await;
    for out in &outs {
        // The ids do not exist: every item is a per-item failure (exit 1), none is lost.
        let result = out.result();
        let items = result["items"].as_array().map_or(0, Vec::len);
        assert_eq!(items, REQUESTS_PER_PROCESS * 100, "{}", out.stdout);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
        assert!(
            !out.stdout.contains("redis unreachable"),
            "redis stayed reachable: {}",
            out.stdout
        );
    }
    let log = hubspot_log(&shared);
    assert_eq!(
        log.len(),
        PROCESSES * REQUESTS_PER_PROCESS,
        "every batch reached the sandbox exactly once"
    );
    let throttled = log.iter().filter(|e| e.status == Some(429)).count();
    assert_eq!(throttled, 0, "the sandbox never had to throttle");
    let densest = densest_window(&log);
    assert!(
        densest <= SERVER_MAX,
        "{densest} requests in one {WINDOW:?} window; the limit is {SERVER_MAX}"
    );
    let span = log[log.len() - 1].at - log[0].at;
    let rate = (log.len() - 1) as f64 / span.as_secs_f64();
    println!("shared: densest window {densest}, rate {rate:.1}/s over {span:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_redis_url_is_a_config_error_that_never_prints_the_url() {
    let secret = "s3cret-redis-password";
    let env = [
        ("ENVIRONMENT".to_owned(), "test".to_owned()),
        ("HUBSPOT_TOKEN".to_owned(), "pat-na1-0000".to_owned()),
        (
            "RATE_LIMIT_REDIS_URL".to_owned(),
            format!("http://:{secret}@redis.internal:6379/0"),
        ),
    ];
    let out = run(&["hubspot", "get", "1"], &env).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(out.result()["error"]["kind"], "config", "{}", out.stdout);
    assert!(
        out.stdout.contains("RATE_LIMIT_REDIS_URL"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    // The flag overrides the variable, and --help never shows the variable's value.
    let flag = format!("--rate-limit-redis-url=redis://:{secret}@[::1");
    let out = run(&[flag.as_str(), "hubspot", "get", "1"], &env).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    let help = run(&["--help"], &env).await;
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("RATE_LIMIT_REDIS_URL"),
        "{}",
        help.stdout
    );
    assert!(!help.stdout.contains(secret), "{}", help.stdout);
}

#[test]
fn the_rate_limit_flag_reads_max_and_window() {
    use integrations_cli::cli::parse_rate_limit;
    let limit = parse_rate_limit("190").expect("plain count");
    assert_eq!(
        (limit.max_requests, limit.interval),
        (190, Duration::from_secs(10))
    );
    let limit = parse_rate_limit("100/1s").expect("seconds");
    assert_eq!(
        (limit.max_requests, limit.interval),
        (100, Duration::from_secs(1))
    );
    let limit = parse_rate_limit(" 50 / 500ms ").expect("milliseconds");
    assert_eq!(
        (limit.max_requests, limit.interval),
        (50, Duration::from_millis(500))
    );
    for bad in ["", "0", "-1", "10/", "10/0s", "10/5m", "x/1s", "10/1.5s"] {
        assert!(parse_rate_limit(bad).is_err(), "{bad:?}");
    }
}
