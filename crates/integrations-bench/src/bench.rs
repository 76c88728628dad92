//! `integrations-bench bench`: every benchmark group, in one process.

use crate::loopback::{self, LoopbackConfig};
use crate::micro::{self, MicroConfig};
use crate::report::Row;

/// The groups `bench` runs, in order.
pub const GROUPS: &[&str] = &["micro", "loopback", "budget", "memory"];

/// Runs the selected groups (all when `only` is `None`) and returns their rows.
///
/// # Errors
///
/// An unknown group name, or the first benchmark that failed.
pub fn run(quick: bool, only: Option<&[String]>) -> Result<Vec<Row>, String> {
    if let Some(unknown) = only
        .unwrap_or_default()
        .iter()
        .find(|g| !GROUPS.contains(&g.as_str()) && g.as_str() != "build")
    {
        return Err(format!(
            "unknown group `{unknown}` (groups: {}, build)",
            GROUPS.join(", ")
        ));
    }
    let selected = |group: &str| only.is_none_or(|o| o.iter().any(|g| g == group));
    let mut rows = Vec::new();
    if selected("micro") {
        println!("bench: micro (layer overhead over a no-op service)");
        rows.extend(micro::run(if quick {
            MicroConfig::quick()
        } else {
            MicroConfig::full()
        })?);
    }
    if selected("loopback") {
        println!("bench: loopback (GET one contact from api-sandbox)");
        let config = if quick {
            LoopbackConfig::quick()
        } else {
            LoopbackConfig::full()
        };
        rows.extend(loopback::run(config, &|_| Ok(Vec::new()))?);
    }
    if selected("budget") {
        println!("bench: budget (HubSpot rate limit, time-scaled)");
        rows.extend(crate::budget::run(if quick { 300 } else { 3_000 })?);
    }
    if selected("memory") {
        println!("bench: memory (peak RSS of the sync, 10k and 100k contacts)");
        rows.extend(if quick {
            crate::memory::run(200, 1_000)?
        } else {
            crate::memory::run(10_000, 100_000)?
        });
    }
    Ok(rows)
}
