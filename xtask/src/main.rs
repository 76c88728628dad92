//! Developer commands for this workspace, in the [cargo-xtask](https://github.com/matklad/cargo-xtask) style.
//!
//! - `cargo xtask ci`: fmt, clippy, tests (nextest when installed, plus doc tests), docs, tidy.
//! - `cargo xtask tidy`: the layout and hygiene checks alone.
//! - `cargo xtask bench`: release-mode benchmarks, one table of medians (see `bench.rs`).
//! - `cargo xtask chaos`: seeded fault and load scenarios with invariants (see `chaos.rs`).
//!
//! The binary uses the standard library only, so `cargo xtask` builds in seconds.

mod bench;
mod chaos;
mod ci;
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci     run every CI step in order: fmt, clippy, test, doc, tidy
  tidy   check crate layout and library-code hygiene
  bench  release-mode benchmarks against baselines, one table of medians
         [--runs N] [--quick] [--only GROUP,..] [--no-build] [--cold-build]
         [--json [PATH]] [--compare OLD.json]
  chaos  seeded fault and load scenarios that check invariants
         [--seed N] [--only NAME,..] [--quick] [--list]
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("tidy") => tidy::run(&ci::workspace_root()),
        Some("bench") => bench::run(&args[1..]),
        Some("chaos") => chaos::run(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
