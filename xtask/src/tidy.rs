//! `cargo xtask tidy`: layout and hygiene rules that `cargo` itself does not check.
//!
//! - every crate (each `crates/*` and `xtask`) has a `README.md`;
//! - every crate's `Cargo.toml` says `[lints] workspace = true`;
//! - no Rust source under `crates/` or `xtask/` holds a stub macro, a debug macro or an ignored
//!   test (the patterns are assembled at run time so this file does not match itself).
//!
//! The same checks also run as a unit test, so `cargo test` enforces them.

use std::fs;
use std::path::{Path, PathBuf};

/// Runs every tidy check under `root`, reporting all problems at once.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let problems = check(root);
    if problems.is_empty() {
        println!("xtask: tidy: ok");
        Ok(())
    } else {
        Err(format!(
            "{} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

/// Every problem found under `root`, one line each.
pub(crate) fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut crate_dirs: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    crate_dirs.retain(|p| p.join("Cargo.toml").is_file());
    crate_dirs.push(root.join("xtask"));
    crate_dirs.sort();

    for dir in &crate_dirs {
        let name = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
        if !dir.join("README.md").is_file() {
            problems.push(format!("{name}: no README.md"));
        }
        match fs::read_to_string(dir.join("Cargo.toml")) {
            Ok(manifest) if inherits_lints(&manifest) => {}
            Ok(_) => problems.push(format!(
                "{name}/Cargo.toml: missing `[lints] workspace = true`"
            )),
            Err(e) => problems.push(format!("{name}/Cargo.toml: unreadable: {e}")),
        }
        let mut files = Vec::new();
        rust_files(dir, &mut files);
        for file in files {
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            problems.extend(
                forbidden_in(&text)
                    .into_iter()
                    .map(|(line, what)| format!("{shown}:{line}: {what}")),
            );
        }
    }
    problems
}

/// Whether a manifest has a `[lints]` table with `workspace = true`.
fn inherits_lints(manifest: &str) -> bool {
    let mut in_lints = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_lints = line == "[lints]";
        } else if in_lints && line.replace(' ', "") == "workspace=true" {
            return true;
        }
    }
    false
}

/// The forbidden patterns found in `text`, as (line number, description).
fn forbidden_in(text: &str) -> Vec<(usize, String)> {
    let patterns: [(String, &str); 4] = [
        (["todo", "!("].concat(), "stub macro `todo!`"),
        (
            ["unimplemented", "!("].concat(),
            "stub macro `unimplemented!`",
        ),
        (["dbg", "!("].concat(), "debug macro `dbg!`"),
        (["#[", "ignore"].concat(), "ignored test"),
    ];
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (pattern, what) in &patterns {
            if code.contains(pattern.as_str()) {
                found.push((index + 1, what.to_string()));
            }
        }
    }
    found
}

/// All `.rs` files below `dir`, skipping build output.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_is_tidy() {
        let problems = check(&crate::ci::workspace_root());
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn detects_each_forbidden_pattern() {
        let text = [
            "fn a() { ",
            &["todo", "!()"].concat(),
            " }\n",
            &["dbg", "!(1);\n"].concat(),
            &["#[", "ignore]\n"].concat(),
            &["unimplemented", "!()\n"].concat(),
            "// ",
            &["todo", "!() in a comment is fine\n"].concat(),
        ]
        .concat();
        let found = forbidden_in(&text);
        let whats: Vec<&str> = found.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(
            whats,
            [
                "stub macro `todo!`",
                "debug macro `dbg!`",
                "ignored test",
                "stub macro `unimplemented!`"
            ]
        );
        assert_eq!(found[0].0, 1);
        assert_eq!(found[2].0, 3);
    }

    #[test]
    fn lints_table_detection() {
        assert!(inherits_lints(
            "[package]\nname = \"x\"\n\n[lints]\nworkspace = true\n"
        ));
        assert!(!inherits_lints("[package]\nworkspace = true\n"));
        assert!(!inherits_lints("[lints]\n[other]\nworkspace = true\n"));
    }
}
