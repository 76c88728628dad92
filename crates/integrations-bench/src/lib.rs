//! Loopback benchmarks and seeded chaos scenarios for this workspace.
//!
//! `cargo xtask bench` and `cargo xtask chaos` run the `integrations-bench` binary of this crate
//! in release mode and turn its output into one table. Every measurement is printed as one
//! machine-readable [`Row`] line: a subject and the baseline it was measured against in the
//! same run, so the ratio is meaningful on any machine.
//!
//! ```
//! use integrations_bench::{Better, Row};
//!
//! let row = Row::new("micro", "breaker 1 task", "bare no-op", 12.0, 10.0, "ns/call", Better::Lower);
//! assert_eq!(Row::parse(&row.to_line()), Some(row.clone()));
//! assert!((row.ratio() - 1.2).abs() < 1e-9);
//! ```

pub mod bench;
pub mod budget;
pub mod chaos;
pub mod loopback;
pub mod memory;
pub mod micro;
mod report;

pub use report::{Better, Row};
