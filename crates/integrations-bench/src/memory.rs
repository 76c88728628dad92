//! Memory: the peak resident set (`VmHWM`) of a process running the sync of `integrations sync`
//! (the CLI's own `SyncEngine`: read contacts in batches of 100, find each ManyChat subscriber,
//! send a templated text) over N contacts, streaming one result per contact to a JSON Lines
//! file. The sandbox runs in this process; the sync runs in a child process (this binary's
//! `sync-child` command), so the child's peak is the sync's alone.
//!
//! The HubSpot client's response cache is on, its default (and that of `integrations sync`);
//! a third run shows the same sync with it off.
//!
//! The clients run with their rate limiters off and the sandbox with its limits off: at
//! ManyChat's real limits (25 sends per second) 100,000 contacts take more than an hour, and
//! memory, not pacing, is measured here.

use crate::loopback::{BenchServer, fast_sandbox_config};
use crate::report::{Better, Row};
use client_hubspot::HubSpotClient;
use client_manychat::ManyChatClient;
use integrations_cli::sync::{ResultSink, SendAction, SyncEngine, SyncPlan, SyncProgress};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Contacts processed at once by the measured sync.
pub const CONCURRENCY: usize = 16;

/// The `sync-child` command: syncs the ids of `ids_file` against `base_url` (both APIs) with
/// the tokens from `HUBSPOT_TOKEN` and `MANYCHAT_API_KEY`, writing JSON Lines to `results`;
/// the HubSpot client's response cache is on (its default, as in `integrations sync`) when
/// `cache` is true.
///
/// # Errors
///
/// A client could not be built, or the result file could not be written.
pub fn sync_child(
    base_url: &str,
    ids_file: &Path,
    results: &Path,
    cache: bool,
) -> Result<(), String> {
    let hubspot_token = std::env::var("HUBSPOT_TOKEN").map_err(|_| "HUBSPOT_TOKEN unset")?;
    let manychat_token = std::env::var("MANYCHAT_API_KEY").map_err(|_| "MANYCHAT_API_KEY unset")?;
    let ids: Vec<String> = std::fs::read_to_string(ids_file)
        .map_err(|e| format!("{}: {e}", ids_file.display()))?
        .lines()
        .map(str::to_owned)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let hubspot = HubSpotClient::builder()
            .token(hubspot_token)
            .base_url(base_url)
            .rate_limit(None)
            .cache(if cache {
                Some(Default::default())
            } else {
                None
            })
            .build()
            .map_err(|e| format!("hubspot client: {e}"))?;
        let manychat = ManyChatClient::builder()
            .token(manychat_token)
            .base_url(base_url)
            .rate_limit(None)
            .build()
            .map_err(|e| format!("manychat client: {e}"))?;
        let plan = SyncPlan {
            action: SendAction::Text("Hi {{firstname}}, your order shipped".to_owned()),
            tag: None,
            message_tag: None,
        };
        let engine = SyncEngine::new(hubspot, manychat, plan).concurrency(CONCURRENCY);
        let sink = ResultSink::create(results).map_err(|e| e.to_string())?;
        let summary = engine
            .run(ids, &sink, &SyncProgress::new())
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "sync-child: {} contacts, {} synced, {} no subscriber, {} failed",
            summary.total, summary.synced, summary.no_subscriber, summary.failed
        );
        Ok(())
    })
}

/// What one measured sync did.
#[derive(Debug, Clone, Copy)]
struct Measured {
    peak_bytes: u64,
    seconds: f64,
    lines: usize,
}

fn measure(
    server: &BenchServer,
    contacts: usize,
    cache: bool,
    dir: &Path,
) -> Result<Measured, String> {
    let ids = server.sandbox.control().contact_ids();
    let ids_file = dir.join(format!("ids-{contacts}.txt"));
    let results = dir.join(format!("results-{contacts}.jsonl"));
    {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&ids_file).map_err(|e| format!("{}: {e}", ids_file.display()))?,
        );
        for id in ids.iter().take(contacts) {
            writeln!(file, "{id}").map_err(|e| e.to_string())?;
        }
        file.flush().map_err(|e| e.to_string())?;
    }
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .arg("sync-child")
        .arg(&server.base)
        .arg(&ids_file)
        .arg(&results)
        .args(if cache { None } else { Some("--no-cache") })
        .env("HUBSPOT_TOKEN", &server.token)
        .env("MANYCHAT_API_KEY", server.sandbox.manychat_token())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("sync child: {e}"))?;
    let pid = child.id().to_string();
    let mut peak = 0;
    let status = loop {
        if let Some(hwm) = crate::chaos::procfs::status_kb(&pid, "VmHWM") {
            peak = peak.max(hwm);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for the sync child: {e}")),
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let output = child
        .wait_with_output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !status.success() {
        return Err(format!("the sync child failed ({status}): {output}"));
    }
    print!("{output}");
    let lines = std::fs::read_to_string(&results)
        .map_err(|e| format!("{}: {e}", results.display()))?
        .lines()
        .count();
    let _ = std::fs::remove_file(&ids_file);
    let _ = std::fs::remove_file(&results);
    Ok(Measured {
        peak_bytes: peak,
        seconds,
        lines,
    })
}

/// Measures the sync at `small` and `large` contacts and returns the rows.
///
/// # Errors
///
/// The sandbox, the child or the result file failed, or a contact has no result line.
pub fn run(small: usize, large: usize) -> Result<Vec<Row>, String> {
    let server = BenchServer::start(fast_sandbox_config().with_contacts(large))?;
    let dir: PathBuf =
        std::env::temp_dir().join(format!("integrations-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = (|| {
        let a = measure(&server, small, true, &dir)?;
        server.sandbox.log().clear();
        let b = measure(&server, large, true, &dir)?;
        server.sandbox.log().clear();
        let c = measure(&server, large, false, &dir)?;
        for (n, m) in [(small, a), (large, b), (large, c)] {
            if m.lines != n {
                return Err(format!("{n} contacts but {} result lines", m.lines));
            }
        }
        Ok((a, b, c))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let (a, b, c) = result?;
    let mib = |bytes: u64| bytes as f64 / 1024.0 / 1024.0;
    let rows = vec![
        Row::absolute(
            "memory",
            &format!("sync of {small} contacts to JSON Lines: peak RSS (VmHWM)"),
            mib(a.peak_bytes),
            "MiB",
            Better::Lower,
        ),
        Row::new(
            "memory",
            &format!("sync of {large} contacts to JSON Lines: peak RSS (VmHWM)"),
            &format!("the {small}-contact sync"),
            mib(b.peak_bytes),
            mib(a.peak_bytes),
            "MiB",
            Better::Lower,
        ),
        Row::new(
            "memory",
            &format!("sync of {large} contacts, HubSpot response cache off: peak RSS"),
            &format!("the {large}-contact sync with the cache on (default)"),
            mib(c.peak_bytes),
            mib(b.peak_bytes),
            "MiB",
            Better::Lower,
        ),
        Row::new(
            "memory",
            &format!(
                "sync of {large} contacts: wall time (limiters off, concurrency {CONCURRENCY})"
            ),
            &format!("the {small}-contact sync"),
            b.seconds,
            a.seconds,
            "s",
            Better::Lower,
        ),
    ];
    for row in &rows {
        row.emit();
    }
    Ok(rows)
}
