//! Load: many concurrent calls through one cloned client against the sandbox (rate limits off,
//! so nothing but the stack itself bounds the load).
//!
//! Invariants: every call ends (no deadlock: all finish within a generous bound); every call
//! succeeds or fails with a typed error; the connections open at the sandbox (counted from
//! `/proc/net/tcp` on its port) never exceed what the client's pool allows; once the load is
//! over, at most `max_idle_per_host` stay open; memory stays bounded.

use super::{Size, Verdict, procfs};
use api_sandbox::Sandbox;
use futures_util::future::BoxFuture;
use integrations_config::PoolConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Ending {
    Ok,
    TimedOut,
    Rejected,
    OtherTyped,
}

type Call = Arc<dyn Fn() -> BoxFuture<'static, Ending> + Send + Sync>;

/// The most memory the load may add to the process.
const MAX_RSS_GROWTH: u64 = 256 * 1024 * 1024;

/// The bound on the whole run: past it, calls are considered deadlocked.
const DEADLOCK_BOUND: Duration = Duration::from_secs(120);

fn manychat(sandbox: &Sandbox, pool: &PoolConfig) -> Result<(String, Call), String> {
    let client = client_manychat::ManyChatClient::builder()
        .token(sandbox.manychat_token())
        .base_url(sandbox.manychat_url())
        .rate_limit(None)
        .metrics(None)
        .pool(pool.clone())
        .build()
        .map_err(|e| format!("manychat client: {e}"))?;
    let call: Call = Arc::new(move || {
        let client = client.clone();
        Box::pin(async move {
            match client.health_check().await {
                Ok(_) => Ending::Ok,
                Err(e) if e.is_timeout() => Ending::TimedOut,
                Err(e) if e.is_rejected() => Ending::Rejected,
                Err(_) => Ending::OtherTyped,
            }
        })
    });
    Ok(("manychat page.info".to_string(), call))
}

fn hubspot(sandbox: &Sandbox, pool: &PoolConfig) -> Result<(String, Call), String> {
    let id = sandbox
        .control()
        .contact_ids()
        .first()
        .map(u64::to_string)
        .ok_or("the sandbox has no contacts")?;
    let client = client_hubspot::HubSpotClient::builder()
        .token(sandbox.hubspot_token())
        .base_url(sandbox.hubspot_url())
        .cache(None)
        .rate_limit(None)
        .metrics(None)
        .pool(pool.clone())
        .build()
        .map_err(|e| format!("hubspot client: {e}"))?;
    let call: Call = Arc::new(move || {
        let (client, id) = (client.clone(), id.clone());
        Box::pin(async move {
            match client
                .contacts()
                .get(&id, &client_hubspot::GetOptions::new())
                .await
            {
                Ok(_) => Ending::Ok,
                Err(e) if e.is_timeout() => Ending::TimedOut,
                Err(e) if e.is_rejected() => Ending::Rejected,
                Err(_) => Ending::OtherTyped,
            }
        })
    });
    Ok(("hubspot contacts.get".to_string(), call))
}

/// Samples the sandbox's established connections and this process's RSS until stopped.
fn sampler(
    port: u16,
    stop: Arc<AtomicBool>,
    peak_conns: Arc<AtomicUsize>,
    peak_rss: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            peak_conns.fetch_max(procfs::established_to(port), Ordering::Relaxed);
            if let Some(rss) = procfs::rss_bytes() {
                peak_rss.fetch_max(rss as usize, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Runs the scenario.
pub fn run(seed: u64, size: Size) -> Verdict {
    match super::runtime() {
        Ok(rt) => rt.block_on(scenario(seed, size)),
        Err(e) => Verdict::failed(e, "no runtime"),
    }
}

async fn scenario(seed: u64, size: Size) -> Verdict {
    let calls: usize = match size {
        Size::Quick => 300,
        Size::Full => 10_000,
    };
    let sandbox = match Sandbox::start(crate::loopback::fast_sandbox_config().with_seed(seed)).await
    {
        Ok(s) => s,
        Err(e) => return Verdict::failed(format!("sandbox: {e}"), ""),
    };
    let port = sandbox.addr().port();
    let pool = PoolConfig::default();
    let mut clients = Vec::new();
    for make in [hubspot, manychat] {
        match make(&sandbox, &pool) {
            Ok(c) => clients.push(c),
            Err(e) => return Verdict::failed(e, ""),
        }
    }
    let mut details = Vec::new();
    for (name, call) in clients {
        let rss_before = procfs::rss_bytes().unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let peak_conns = Arc::new(AtomicUsize::new(0));
        let peak_rss = Arc::new(AtomicUsize::new(rss_before as usize));
        let sampling = sampler(port, stop.clone(), peak_conns.clone(), peak_rss.clone());
        let started = Instant::now();
        let handles: Vec<_> = (0..calls)
            .map(|_| {
                let call = call.clone();
                tokio::spawn(async move { call().await })
            })
            .collect();
        let joined =
            tokio::time::timeout(DEADLOCK_BOUND, futures_util::future::join_all(handles)).await;
        let took = started.elapsed();
        let endings = match joined {
            Ok(endings) => endings,
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                let _ = sampling.join();
                return Verdict::failed(
                    format!(
                        "{name}: {calls} calls not finished after {DEADLOCK_BOUND:?} (deadlock?)"
                    ),
                    "",
                );
            }
        };
        let mut counts = std::collections::BTreeMap::new();
        for ending in endings {
            match ending {
                Ok(e) => *counts.entry(e).or_insert(0usize) += 1,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    let _ = sampling.join();
                    return Verdict::failed(format!("{name}: a call panicked: {e}"), "");
                }
            }
        }
        // Let the pool settle: idle connections beyond the pool's idle limit are closed.
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Count the client ends: the server side also shows sockets accepted from the burst's
        // overflowing accept queue whose client end is already closed (kernel, not pool).
        let after_2s = procfs::established_from_clients_to(port);
        tokio::time::sleep(Duration::from_secs(4)).await;
        let settled = procfs::established_from_clients_to(port);
        let server_side = procfs::established_to(port);
        stop.store(true, Ordering::Relaxed);
        let _ = sampling.join();
        let peak = peak_conns.load(Ordering::Relaxed);
        let growth = (peak_rss.load(Ordering::Relaxed) as u64).saturating_sub(rss_before);
        let summary = format!(
            "{name}: {calls} concurrent calls in {:.2}s, endings {counts:?}, peak {peak} connections at the sandbox, {after_2s} open (client side) 2 s after the load and {settled} after 6 s ({server_side} on the sandbox side), RSS +{:.1} MiB",
            took.as_secs_f64(),
            growth as f64 / 1024.0 / 1024.0
        );
        if settled > pool.max_idle_per_host {
            return Verdict::failed(
                format!(
                    "{name}: {settled} connections still open after the load, pool keeps at most {}",
                    pool.max_idle_per_host
                ),
                summary,
            );
        }
        if growth > MAX_RSS_GROWTH {
            return Verdict::failed(
                format!(
                    "{name}: memory grew by more than {} MiB",
                    MAX_RSS_GROWTH >> 20
                ),
                summary,
            );
        }
        details.push(summary);
    }
    Verdict::passed(details.join("; "))
}
