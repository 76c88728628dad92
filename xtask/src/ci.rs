//! `cargo xtask ci`: every CI step in order, stopping at the first failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// One CI step: a name and the commands that make it up.
struct Step {
    name: &'static str,
    commands: Vec<Cmd>,
}

/// A command line with extra environment variables.
struct Cmd {
    program: String,
    args: Vec<&'static str>,
    env: Vec<(&'static str, &'static str)>,
}

impl Cmd {
    fn cargo(args: &[&'static str]) -> Self {
        let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        Self {
            program,
            args: args.to_vec(),
            env: Vec::new(),
        }
    }

    fn env(mut self, key: &'static str, value: &'static str) -> Self {
        self.env.push((key, value));
        self
    }

    fn display(&self) -> String {
        let env: String = self.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        format!("{env}cargo {}", self.args.join(" "))
    }

    fn run(&self, root: &Path) -> Result<(), String> {
        println!("xtask: $ {}", self.display());
        let status = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().copied())
            .current_dir(root)
            .status()
            .map_err(|e| format!("could not start `{}`: {e}", self.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", self.display()))
        }
    }
}

/// Whether `cargo nextest` is installed.
fn has_nextest() -> bool {
    let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    Command::new(program)
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn steps() -> Vec<Step> {
    let tests = if has_nextest() {
        vec![
            Cmd::cargo(&["nextest", "run", "--workspace", "--no-tests=fail"]),
            Cmd::cargo(&["test", "--workspace", "--doc"]),
        ]
    } else {
        vec![Cmd::cargo(&["test", "--workspace"])]
    };
    vec![
        Step {
            name: "fmt",
            commands: vec![Cmd::cargo(&["fmt", "--all", "--check"])],
        },
        Step {
            name: "clippy",
            commands: vec![Cmd::cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])],
        },
        Step {
            name: "test",
            commands: tests,
        },
        Step {
            name: "doc",
            commands: vec![
                Cmd::cargo(&["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"),
            ],
        },
    ]
}

/// Runs every step; the first failure stops the run with a message naming the step.
pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    let started = Instant::now();
    let mut passed = Vec::new();
    for step in steps() {
        println!("xtask: == {} ==", step.name);
        let step_started = Instant::now();
        for cmd in &step.commands {
            cmd.run(&root).map_err(|e| {
                format!(
                    "step `{}` failed: {e}; passed before it: {}",
                    step.name,
                    list(&passed)
                )
            })?;
        }
        passed.push(format!(
            "{} ({:.0}s)",
            step.name,
            step_started.elapsed().as_secs_f64()
        ));
    }
    println!("xtask: == tidy ==");
    crate::tidy::run(&root).map_err(|e| {
        format!(
            "step `tidy` failed: {e}; passed before it: {}",
            list(&passed)
        )
    })?;
    passed.push("tidy".to_string());
    println!(
        "xtask ci: all {} steps passed in {:.0}s: {}",
        passed.len(),
        started.elapsed().as_secs_f64(),
        list(&passed)
    );
    Ok(())
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
