//! `cargo xtask chaos`: seeded fault and load scenarios that check invariants.
//!
//! The scenarios live in the `integrations-bench` crate; this command builds it in release
//! mode, runs `integrations-bench chaos` with the given options (`--seed N`, `--only NAME,..`,
//! `--quick`, `--list`), shows its output as it comes, and ends with one line per scenario:
//! passed or failed, the invariant that broke, and the seed that replays it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One `CHAOS-RESULT` line: scenario, passed, seed, duration, verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChaosResult {
    pub(crate) name: String,
    pub(crate) passed: bool,
    pub(crate) seed: String,
    pub(crate) took: String,
    pub(crate) verdict: String,
}

impl ChaosResult {
    /// Parses a `CHAOS-RESULT` line; `None` for any other line.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.trim_end().splitn(6, '\t').collect();
        if fields.len() != 6 || fields[0] != "CHAOS-RESULT" {
            return None;
        }
        Some(Self {
            name: fields[1].to_string(),
            passed: match fields[2] {
                "passed" => true,
                "failed" => false,
                _ => return None,
            },
            seed: fields[3].trim_start_matches("seed=").to_string(),
            took: fields[4].to_string(),
            verdict: fields[5].to_string(),
        })
    }
}

/// `cargo xtask chaos`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    for arg in args {
        if arg.starts_with("--")
            && !["--seed", "--only", "--quick", "--list"].contains(&arg.as_str())
        {
            return Err(format!("unknown chaos option `{arg}`"));
        }
    }
    let root = crate::ci::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let started = Instant::now();
    let mut child = Command::new(cargo)
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "integrations-bench",
            "--",
            "chaos",
        ])
        .args(args)
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let mut results = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading the scenario output: {e}"))?;
            match ChaosResult::parse(&line) {
                Some(result) => results.push(result),
                None => println!("    {line}"),
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the scenarios: {e}"))?;
    println!();
    println!("| scenario | result | seed | time | invariants / broken invariant |");
    println!("| --- | --- | --- | ---: | --- |");
    for r in &results {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.name,
            if r.passed { "passed" } else { "FAILED" },
            r.seed,
            r.took,
            r.verdict
        );
    }
    let failed: Vec<&ChaosResult> = results.iter().filter(|r| !r.passed).collect();
    println!(
        "xtask chaos: {} passed, {} failed in {:.0}s",
        results.len() - failed.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        let replay: Vec<String> = failed
            .iter()
            .map(|r| format!("cargo xtask chaos --only {} --seed {}", r.name, r.seed))
            .collect();
        return Err(format!("replay with: {}", replay.join("; ")));
    }
    if !status.success() {
        return Err(format!("integrations-bench chaos failed ({status})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines() {
        let r = ChaosResult::parse(
            "CHAOS-RESULT\tload\tfailed\tseed=42\t3.0s\tFAILED: peak 40 > 32\textra\ttabs",
        )
        .expect("a result");
        assert_eq!(r.name, "load");
        assert!(!r.passed);
        assert_eq!(r.seed, "42");
        assert_eq!(r.verdict, "FAILED: peak 40 > 32\textra\ttabs");
        assert!(ChaosResult::parse("chaos: running load").is_none());
        assert!(ChaosResult::parse("CHAOS-RESULT\tx\tmaybe\tseed=1\t1s\tv").is_none());
    }
}
