//! Seeded, reproducible fault and load scenarios that check invariants, not timings.
//!
//! Each scenario takes a seed and a [`Size`] and returns a [`Verdict`]: passed, or the
//! invariant that broke. `cargo xtask chaos` runs them all at [`Size::Full`] and prints one
//! summary line each (`CHAOS-RESULT`); the tests of this crate run the fast ones at
//! [`Size::Quick`] so `cargo xtask ci` checks them too.

pub mod api_bodies;
pub mod bad_input;
pub mod faults;
pub mod flood;
pub mod load;
pub mod procfs;
pub mod slow;
pub mod sync;

use std::fmt;
use std::time::Instant;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 0x5EED_2026;

/// How big a scenario's run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A few seconds: what the tests run.
    Quick,
    /// The sizes the issue names: what `cargo xtask chaos` runs.
    Full,
}

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The broken invariant, if any.
    pub broken: Option<String>,
    /// What was checked and measured (counts, peaks), one line.
    pub detail: String,
}

impl Verdict {
    /// A passed run with what was checked.
    pub fn passed(detail: impl Into<String>) -> Self {
        Self {
            broken: None,
            detail: detail.into(),
        }
    }

    /// A failed run naming the broken invariant.
    pub fn failed(invariant: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            broken: Some(invariant.into()),
            detail: detail.into(),
        }
    }

    /// Whether every invariant held.
    pub fn is_passed(&self) -> bool {
        self.broken.is_none()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.broken {
            None => write!(f, "passed; {}", self.detail),
            Some(invariant) => write!(f, "FAILED: {invariant}; {}", self.detail),
        }
    }
}

/// A scenario: a name, one line about it, whether the tests run it, and its function.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// The name used by `--only`.
    pub name: &'static str,
    /// What it does, one line.
    pub about: &'static str,
    /// Whether it is fast enough for the test suite at [`Size::Quick`].
    pub fast: bool,
    /// Runs the scenario.
    pub run: fn(u64, Size) -> Verdict,
}

/// Every scenario, in the order `cargo xtask chaos` runs them.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "sync-faults",
        about: "20 % random faults of every kind on both APIs and a ManyChat outage during a 5,000-contact sync (the CLI's SyncEngine): every contact accounted for, nothing delivered twice, typed failures, breaker opens and closes",
        fast: true,
        run: sync::run,
    },
    Scenario {
        name: "bad-input",
        about: "proptest-generated configs, Retry-After values, webhook headers and bodies, API error and JSON bodies: typed errors, never a panic",
        fast: true,
        run: bad_input::run,
    },
    Scenario {
        name: "slow-server",
        about: "every response slower than the attempt timeout: every call ends within its total deadline with a typed error",
        fast: true,
        run: slow::run,
    },
    Scenario {
        name: "faults",
        about: "20 % random faults of every kind and an outage while a batch messages every ManyChat subscriber: every item accounted for, nothing delivered twice, breaker opens and closes",
        fast: true,
        run: faults::run,
    },
    Scenario {
        name: "webhook-flood",
        about: "10x the serve queue in signed HubSpot webhooks at once: 204 or 503 only, 503 beyond capacity, nothing accepted is dropped, recovers",
        fast: true,
        run: flood::run,
    },
    Scenario {
        name: "api-bodies",
        about: "generated API answers (status, JSON/text/HTML/empty body, Retry-After) through the HubSpot and ManyChat clients: values or typed errors, never a panic or a success for a non-2xx",
        fast: true,
        run: api_bodies::run,
    },
    Scenario {
        name: "cli-input",
        about: "generated JSON Lines and CSV input files with one bad record (bad JSON, not an object, wrong field count, non-UTF-8): a typed error naming the line",
        fast: true,
        run: bad_input::run_cli_files,
    },
    Scenario {
        name: "load",
        about: "10,000 concurrent calls through one cloned client: no deadlock, typed errors, connections within the pool, memory bounded",
        fast: false,
        run: load::run,
    },
];

/// The summary line of one scenario (`CHAOS-RESULT`, tab-separated).
pub fn summary_line(name: &str, seed: u64, verdict: &Verdict, seconds: f64) -> String {
    format!(
        "CHAOS-RESULT\t{name}\t{}\tseed={seed}\t{seconds:.1}s\t{}",
        if verdict.is_passed() {
            "passed"
        } else {
            "failed"
        },
        verdict.to_string().replace(['\t', '\n'], " ")
    )
}

/// Runs the selected scenarios (all when `only` is `None`) and prints a summary line each.
///
/// # Errors
///
/// Names the scenarios that failed, or an unknown name in `only`.
pub fn run_all(seed: u64, quick: bool, only: Option<&[String]>) -> Result<(), String> {
    if let Some(only) = only
        && let Some(unknown) = only
            .iter()
            .find(|name| !SCENARIOS.iter().any(|s| s.name == name.as_str()))
    {
        return Err(format!("unknown scenario `{unknown}`"));
    }
    let size = if quick { Size::Quick } else { Size::Full };
    let mut failed = Vec::new();
    for scenario in SCENARIOS {
        if only.is_some_and(|o| !o.iter().any(|n| n == scenario.name)) {
            continue;
        }
        println!("chaos: running {} (seed {seed})", scenario.name);
        let started = Instant::now();
        let verdict = (scenario.run)(seed, size);
        println!(
            "{}",
            summary_line(
                scenario.name,
                seed,
                &verdict,
                started.elapsed().as_secs_f64()
            )
        );
        if !verdict.is_passed() {
            failed.push(scenario.name);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} scenario(s) failed: {}; replay with --seed {seed}",
            failed.len(),
            failed.join(", ")
        ))
    }
}

/// A small seeded generator (SplitMix64) for the scenarios' own choices.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// The runtime a scenario runs on: two workers, like the machine.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build a runtime: {e}"))
}

/// An error and its sources, joined with `: `.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    parts.join(": ")
}
