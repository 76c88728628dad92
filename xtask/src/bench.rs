//! `cargo xtask bench`: release-mode benchmarks, one table of medians over several runs.
//!
//! The measurements live in the `integrations-bench` crate (its binary prints one
//! `BENCH-ROW` line per measurement: a subject and the baseline measured next to it in the same
//! run). This command builds it in release mode, runs it `--runs` times, and prints per row the
//! median value, the median baseline and the median of the per-run ratios. It also times a
//! release build of the `integrations` binary and reports its size.
//!
//! Options: `--runs N` (default 3), `--quick` (tiny workloads, to check the harness),
//! `--only GROUP[,GROUP]` (micro, loopback, budget, memory), `--no-build` (skip the build row),
//! `--cold-build` (time a from-scratch release build in `target/xtask-cold-build` instead of an
//! incremental one), `--json [PATH]` (write the result as JSON to PATH, or print it instead of
//! the table), `--compare OLD.json` (print the change of every row against an earlier run).

pub(crate) mod json;

use json::Json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A parsed `BENCH-ROW` line (see `integrations_bench::Row`).
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    pub(crate) group: String,
    pub(crate) subject: String,
    pub(crate) baseline: String,
    pub(crate) value: f64,
    pub(crate) baseline_value: f64,
    pub(crate) unit: String,
    pub(crate) higher_is_better: bool,
}

impl RawRow {
    /// Parses a `BENCH-ROW` line; `None` for every other line.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.trim_end().split('\t').collect();
        if fields.len() != 8 || fields[0] != "BENCH-ROW" {
            return None;
        }
        Some(Self {
            group: fields[1].to_string(),
            subject: fields[2].to_string(),
            baseline: fields[3].to_string(),
            value: fields[4].parse().ok()?,
            baseline_value: fields[5].parse().ok()?,
            unit: fields[6].to_string(),
            higher_is_better: match fields[7] {
                "higher" => true,
                "lower" => false,
                _ => return None,
            },
        })
    }
}

/// One row of the final table: medians over the runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub(crate) group: String,
    pub(crate) subject: String,
    pub(crate) baseline: String,
    pub(crate) unit: String,
    pub(crate) higher_is_better: bool,
    pub(crate) value: f64,
    pub(crate) baseline_value: f64,
    pub(crate) ratio: f64,
    pub(crate) runs: usize,
}

/// The median of `xs` ignoring NaNs (NaN when none is left).
pub(crate) fn median(xs: &[f64]) -> f64 {
    let mut xs: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Groups the rows of every run by (group, subject), in first-seen order, and takes medians.
pub(crate) fn summarize(runs: &[Vec<RawRow>]) -> Vec<Summary> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut by_key: BTreeMap<(String, String), Vec<&RawRow>> = BTreeMap::new();
    for run in runs {
        for row in run {
            let key = (row.group.clone(), row.subject.clone());
            if !by_key.contains_key(&key) {
                order.push(key.clone());
            }
            by_key.entry(key).or_default().push(row);
        }
    }
    order
        .into_iter()
        .filter_map(|key| {
            let rows = by_key.get(&key)?;
            let first = rows.first()?;
            let values: Vec<f64> = rows.iter().map(|r| r.value).collect();
            let bases: Vec<f64> = rows.iter().map(|r| r.baseline_value).collect();
            let ratios: Vec<f64> = rows.iter().map(|r| r.value / r.baseline_value).collect();
            Some(Summary {
                group: key.0.clone(),
                subject: key.1.clone(),
                baseline: first.baseline.clone(),
                unit: first.unit.clone(),
                higher_is_better: first.higher_is_better,
                value: median(&values),
                baseline_value: median(&bases),
                ratio: median(&ratios),
                runs: rows.len(),
            })
        })
        .collect()
}

fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "-".to_string()
    } else if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// The table as Markdown (so it can be pasted into `docs/benchmarks.md` as it is).
pub(crate) fn table(rows: &[Summary]) -> String {
    let mut out = String::new();
    let mut group = "";
    for row in rows {
        if row.group != group {
            group = &row.group;
            let _ = writeln!(out, "\n### {group}\n");
            let _ = writeln!(
                out,
                "| subject | median | unit | baseline | baseline median | ratio | runs |"
            );
            let _ = writeln!(out, "| --- | ---: | --- | --- | ---: | ---: | ---: |");
        }
        let _ = writeln!(
            out,
            "| {} | {} | {}{} | {} | {} | {} | {} |",
            row.subject,
            fmt_num(row.value),
            row.unit,
            if row.higher_is_better {
                " (higher is better)"
            } else {
                ""
            },
            row.baseline,
            fmt_num(row.baseline_value),
            if row.ratio.is_nan() {
                "-".to_string()
            } else {
                format!("{:.3}x", row.ratio)
            },
            row.runs
        );
    }
    out
}

/// The machine the numbers were measured on.
pub(crate) fn machine() -> Vec<(&'static str, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(
            || "unknown".to_string(),
            |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
        );
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    vec![
        ("cpu", cpu),
        ("cpus", cpus.to_string()),
        ("memory", mem),
        ("rustc", rustc),
    ]
}

/// The result as JSON.
pub(crate) fn to_json(rows: &[Summary], runs: usize) -> String {
    let machine = machine()
        .into_iter()
        .map(|(k, v)| (k.to_string(), Json::Str(v)))
        .collect();
    let rows = rows
        .iter()
        .map(|r| {
            Json::Obj(vec![
                ("group".into(), Json::Str(r.group.clone())),
                ("subject".into(), Json::Str(r.subject.clone())),
                ("baseline".into(), Json::Str(r.baseline.clone())),
                ("unit".into(), Json::Str(r.unit.clone())),
                (
                    "better".into(),
                    Json::Str(
                        if r.higher_is_better {
                            "higher"
                        } else {
                            "lower"
                        }
                        .into(),
                    ),
                ),
                ("value".into(), Json::Num(r.value)),
                ("baseline_value".into(), Json::Num(r.baseline_value)),
                ("ratio".into(), Json::Num(r.ratio)),
                ("runs".into(), Json::Num(r.runs as f64)),
            ])
        })
        .collect();
    Json::Obj(vec![
        ("machine".into(), Json::Obj(machine)),
        ("runs".into(), Json::Num(runs as f64)),
        ("rows".into(), Json::Arr(rows)),
    ])
    .to_string()
}

/// Reads the rows of a JSON file written by [`to_json`].
pub(crate) fn from_json(text: &str) -> Result<Vec<Summary>, String> {
    let value = json::parse(text)?;
    let rows = value
        .get("rows")
        .and_then(Json::as_array)
        .ok_or("no `rows` array")?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let s = |k: &str| {
                row.get(k)
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("rows[{i}].{k}: missing or not a string"))
            };
            let n = |k: &str| {
                row.get(k)
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .ok_or_else(|| format!("rows[{i}].{k}: missing"))
            };
            Ok(Summary {
                group: s("group")?,
                subject: s("subject")?,
                baseline: s("baseline")?,
                unit: s("unit")?,
                higher_is_better: s("better")? == "higher",
                value: n("value")?,
                baseline_value: n("baseline_value")?,
                ratio: n("ratio")?,
                runs: n("runs")? as usize,
            })
        })
        .collect()
}

/// The change of every row of `new` against the same row of `old`.
pub(crate) fn compare(old: &[Summary], new: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| group | subject | old | new | change | old ratio | new ratio | verdict |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for row in new {
        let Some(before) = old
            .iter()
            .find(|o| o.group == row.group && o.subject == row.subject)
        else {
            let _ = writeln!(
                out,
                "| {} | {} | - | {} | - | - | {} | new row |",
                row.group,
                row.subject,
                fmt_num(row.value),
                fmt_num(row.ratio)
            );
            continue;
        };
        let change = (row.value - before.value) / before.value * 100.0;
        let improved = if row.higher_is_better {
            change > 0.0
        } else {
            change < 0.0
        };
        let verdict = if change.is_nan() {
            "-"
        } else if change.abs() < 5.0 {
            "same (within 5 %)"
        } else if improved {
            "better"
        } else {
            "worse"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:+.1} % | {} | {} | {verdict} |",
            row.group,
            row.subject,
            fmt_num(before.value),
            fmt_num(row.value),
            change,
            fmt_num(before.ratio),
            fmt_num(row.ratio)
        );
    }
    for before in old {
        if !new
            .iter()
            .any(|r| r.group == before.group && r.subject == before.subject)
        {
            let _ = writeln!(
                out,
                "| {} | {} | {} | - | - | - | - | gone |",
                before.group,
                before.subject,
                fmt_num(before.value)
            );
        }
    }
    out
}

#[derive(Debug, Default)]
struct Options {
    runs: usize,
    quick: bool,
    only: Option<String>,
    build: bool,
    cold_build: bool,
    json: Option<Option<PathBuf>>,
    compare: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        runs: 3,
        build: true,
        ..Options::default()
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let next = args.get(i + 1).filter(|a| !a.starts_with("--"));
        match arg {
            "--runs" => {
                o.runs = next
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--runs needs a positive number")?;
                i += 1;
            }
            "--quick" => o.quick = true,
            "--no-build" => o.build = false,
            "--cold-build" => o.cold_build = true,
            "--only" => {
                o.only = Some(next.ok_or("--only needs a group list")?.clone());
                i += 1;
            }
            "--json" => {
                o.json = Some(next.map(PathBuf::from));
                if next.is_some() {
                    i += 1;
                }
            }
            "--compare" => {
                o.compare = Some(PathBuf::from(next.ok_or("--compare needs a file")?));
                i += 1;
            }
            other => return Err(format!("unknown bench option `{other}`")),
        }
        i += 1;
    }
    Ok(o)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Runs `cargo args..` in `root` with stdout and stderr shown, failing on a non-zero exit.
fn cargo_status(root: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<(), String> {
    let status = Command::new(cargo())
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// Whether `crates/<name>` has been committed (a crate still being written is left out).
pub(crate) fn committed(root: &Path, name: &str) -> bool {
    Command::new("git")
        .args(["log", "--oneline", "-1", "--", &format!("crates/{name}")])
        .current_dir(root)
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// Times a release build of the `integrations` binary and measures its size.
fn build_rows(root: &Path, cold: bool) -> Result<Vec<RawRow>, String> {
    if !committed(root, "integrations-cli") {
        println!("xtask bench: integrations-cli is not committed yet: no build row");
        return Ok(Vec::new());
    }
    let target = if cold {
        let dir = root.join("target").join("xtask-cold-build");
        let _ = std::fs::remove_dir_all(&dir);
        dir
    } else {
        root.join("target")
    };
    let started = Instant::now();
    cargo_status(
        root,
        &["build", "--release", "--quiet", "-p", "integrations-cli"],
        &[("CARGO_TARGET_DIR", &target)],
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let binary = target.join("release").join("integrations");
    let size = std::fs::metadata(&binary)
        .map_err(|e| format!("{}: {e}", binary.display()))?
        .len() as f64;
    // The release profile keeps line tables (for backtraces); the stripped size is what the
    // code itself weighs.
    let stripped_path = root.join("target").join("xtask-integrations-stripped");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&stripped_path)
        .arg(&binary)
        .status()
        .ok()
        .filter(std::process::ExitStatus::success)
        .and_then(|_| std::fs::metadata(&stripped_path).ok())
        .map(|m| m.len() as f64);
    let _ = std::fs::remove_file(&stripped_path);
    if cold {
        // The cold build's target dir is only for the measurement (over a GiB).
        let _ = std::fs::remove_dir_all(&target);
    }
    let kind = if cold {
        "cold (empty target dir)"
    } else {
        "incremental (shared target dir)"
    };
    let mut rows = vec![
        RawRow {
            group: "build".into(),
            subject: format!("release build of `integrations`, {kind}"),
            baseline: "-".into(),
            value: seconds,
            baseline_value: f64::NAN,
            unit: "s".into(),
            higher_is_better: false,
        },
        RawRow {
            group: "build".into(),
            subject: "size of the release `integrations` binary (line-tables debug info)".into(),
            baseline: "-".into(),
            value: size / 1024.0 / 1024.0,
            baseline_value: f64::NAN,
            unit: "MiB".into(),
            higher_is_better: false,
        },
    ];
    if let Some(stripped) = stripped {
        rows.push(RawRow {
            group: "build".into(),
            subject: "size of the release `integrations` binary, stripped".into(),
            baseline: "-".into(),
            value: stripped / 1024.0 / 1024.0,
            baseline_value: f64::NAN,
            unit: "MiB".into(),
            higher_is_better: false,
        });
    }
    Ok(rows)
}

/// Runs the bench binary once and returns its rows.
fn run_bench_binary(root: &Path, options: &Options) -> Result<Vec<RawRow>, String> {
    let mut args = vec![
        "run",
        "--release",
        "--quiet",
        "-p",
        "integrations-bench",
        "--",
        "bench",
    ];
    if options.quick {
        args.push("--quick");
    }
    if let Some(only) = &options.only {
        args.push("--only");
        args.push(only);
    }
    let output = Command::new(cargo())
        .args(&args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines().filter(|l| !l.starts_with("BENCH-ROW")) {
        println!("    {line}");
    }
    if !output.status.success() {
        return Err(format!(
            "the bench binary failed ({}); its output is above",
            output.status
        ));
    }
    Ok(stdout.lines().filter_map(RawRow::parse).collect())
}

/// `cargo xtask bench`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = parse_args(args)?;
    let root = crate::ci::workspace_root();
    let started = Instant::now();
    println!("xtask bench: building integrations-bench (release)");
    cargo_status(
        &root,
        &["build", "--release", "--quiet", "-p", "integrations-bench"],
        &[],
    )?;
    let mut runs = Vec::with_capacity(options.runs);
    let only_build_group = options
        .only
        .as_deref()
        .is_some_and(|o| o.split(',').all(|g| g == "build"));
    let bench_runs = if only_build_group { 0 } else { options.runs };
    for i in 0..bench_runs {
        println!("xtask bench: run {} of {}", i + 1, options.runs);
        runs.push(run_bench_binary(&root, &options)?);
    }
    let only_build = options
        .only
        .as_deref()
        .is_none_or(|o| o.split(',').any(|g| g == "build"));
    if options.build && only_build && !options.quick {
        println!("xtask bench: timing a release build of `integrations`");
        let rows = build_rows(&root, options.cold_build)?;
        runs.push(rows);
    }
    let rows = summarize(&runs);
    let json = to_json(&rows, bench_runs);
    match &options.json {
        Some(Some(path)) => {
            std::fs::write(path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("{}", table(&rows));
            println!("xtask bench: wrote {}", path.display());
        }
        Some(None) => println!("{json}"),
        None => println!("{}", table(&rows)),
    }
    if let Some(path) = &options.compare {
        let old = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let old = from_json(&old).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("\nchange against {}:\n", path.display());
        println!("{}", compare(&old, &rows));
    }
    let machine: Vec<String> = machine()
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    println!(
        "xtask bench: {} row(s), {} run(s), {:.0}s; {}",
        rows.len(),
        bench_runs,
        started.elapsed().as_secs_f64(),
        machine.join("; ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(subject: &str, value: f64, base: f64) -> RawRow {
        RawRow {
            group: "g".into(),
            subject: subject.into(),
            baseline: "b".into(),
            value,
            baseline_value: base,
            unit: "ns".into(),
            higher_is_better: false,
        }
    }

    #[test]
    fn parses_bench_rows_and_ignores_other_lines() {
        let row = RawRow::parse("BENCH-ROW\tmicro\tx, 1 task\tbare\t12.5\t2.5\tns/call\tlower")
            .expect("a row");
        assert_eq!(row.subject, "x, 1 task");
        assert!((row.value - 12.5).abs() < 1e-12);
        assert!(!row.higher_is_better);
        assert!(RawRow::parse("  micro / x: 12 ns").is_none());
        assert!(RawRow::parse("BENCH-ROW\tmicro\tx\tbare\tNaN?\t2\tns\tlower").is_none());
    }

    #[test]
    fn medians_are_taken_per_row_and_ratios_per_run() {
        let runs = vec![
            vec![raw("a", 10.0, 5.0), raw("b", 1.0, f64::NAN)],
            vec![raw("a", 30.0, 10.0)],
            vec![raw("a", 20.0, 20.0)],
        ];
        let rows = summarize(&runs);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].subject, "a");
        assert_eq!(rows[0].runs, 3);
        assert!((rows[0].value - 20.0).abs() < 1e-12);
        assert!((rows[0].baseline_value - 10.0).abs() < 1e-12);
        // Ratios per run are 2, 3, 1: the median is 2, not 20 / 10 by accident of the medians.
        assert!((rows[0].ratio - 2.0).abs() < 1e-12);
        assert!(rows[1].ratio.is_nan());
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
    }

    #[test]
    fn json_round_trips_and_compare_names_changes() {
        let old = summarize(&[vec![raw("a", 10.0, 5.0), raw("gone", 1.0, 1.0)]]);
        let text = to_json(&old, 1);
        let back = from_json(&text).expect("valid json");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].subject, "a");
        assert!((back[0].ratio - 2.0).abs() < 1e-12);
        let new = summarize(&[vec![raw("a", 20.0, 5.0), raw("fresh", 1.0, 1.0)]]);
        let report = compare(&back, &new);
        assert!(
            report.contains("| g | a | 10.0 | 20.0 | +100.0 % |"),
            "{report}"
        );
        assert!(report.contains("worse"), "{report}");
        assert!(
            report.contains("| fresh |") && report.contains("new row"),
            "{report}"
        );
        assert!(
            report.contains("| gone |") && report.contains("gone |"),
            "{report}"
        );
        assert!(from_json("{\"rows\": 3}").is_err());
    }

    #[test]
    fn options_parse() {
        let args: Vec<String> = ["--runs", "5", "--json", "--compare", "old.json", "--quick"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse_args(&args).expect("valid");
        assert_eq!(o.runs, 5);
        assert_eq!(o.json, Some(None));
        assert_eq!(o.compare, Some(PathBuf::from("old.json")));
        assert!(o.quick);
        assert!(parse_args(&["--runs".to_string(), "0".to_string()]).is_err());
        assert!(parse_args(&["--bogus".to_string()]).is_err());
    }
}
