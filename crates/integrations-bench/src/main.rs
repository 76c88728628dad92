//! The `integrations-bench` binary, run by `cargo xtask bench` and `cargo xtask chaos`.
//!
//! ```text
//! integrations-bench bench [--quick] [--only micro,loopback,...]
//! integrations-bench chaos [--seed N] [--only NAME,...] [--quick] [--list]
//! ```

use integrations_bench::{bench, chaos};
use std::process::ExitCode;

const USAGE: &str = "usage: integrations-bench bench [--quick] [--only GROUP,..] | chaos [--seed N] [--only NAME,..] [--quick] [--list]";

fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only: Option<Vec<String>> =
        value_of(&args, "--only").map(|s| s.split(',').map(str::to_string).collect());
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::run(quick, only.as_deref()).map(drop),
        Some("sync-child") => match (args.get(1), args.get(2), args.get(3)) {
            (Some(base), Some(ids), Some(results)) => integrations_bench::memory::sync_child(
                base,
                std::path::Path::new(ids),
                std::path::Path::new(results),
                !args.iter().any(|a| a == "--no-cache"),
            ),
            _ => Err("usage: integrations-bench sync-child BASE_URL IDS_FILE RESULTS".to_string()),
        },
        Some("chaos") => {
            if args.iter().any(|a| a == "--list") {
                for scenario in chaos::SCENARIOS {
                    println!("{:<14} {}", scenario.name, scenario.about);
                }
                Ok(())
            } else {
                match value_of(&args, "--seed").map(str::parse::<u64>) {
                    Some(Err(e)) => Err(format!("--seed: {e}")),
                    seed => {
                        let seed = seed.and_then(Result::ok).unwrap_or(chaos::DEFAULT_SEED);
                        chaos::run_all(seed, quick, only.as_deref())
                    }
                }
            }
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("integrations-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
