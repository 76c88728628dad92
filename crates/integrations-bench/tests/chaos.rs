//! The fast chaos scenarios at their quick size, so `cargo xtask ci` runs them: every
//! invariant must hold for the default seed and for a second seed.

use integrations_bench::chaos::{self, DEFAULT_SEED, SCENARIOS, Size};

/// The scenarios this file runs; every scenario marked fast must be here.
const COVERED: &[&str] = &[
    "bad-input",
    "slow-server",
    "faults",
    "sync-faults",
    "webhook-flood",
    "api-bodies",
    "cli-input",
];

#[test]
fn every_fast_scenario_runs_in_the_test_suite() {
    let mut fast: Vec<&str> = SCENARIOS
        .iter()
        .filter(|s| s.fast)
        .map(|s| s.name)
        .collect();
    let mut covered = COVERED.to_vec();
    fast.sort_unstable();
    covered.sort_unstable();
    assert_eq!(fast, covered);
}

fn assert_passes(name: &str) {
    let scenario = SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario named {name}"));
    assert!(scenario.fast, "{name} is not marked fast");
    for seed in [DEFAULT_SEED, 7] {
        let verdict = (scenario.run)(seed, Size::Quick);
        assert!(verdict.is_passed(), "{name} with seed {seed}: {verdict}");
    }
}

#[test]
fn bad_input_gets_typed_errors_and_never_a_panic() {
    assert_passes("bad-input");
}

#[test]
fn every_scenario_has_a_unique_name_and_the_summary_line_names_the_seed() {
    let mut names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SCENARIOS.len());
    let verdict = chaos::Verdict::failed("peak 40 > 32", "10 calls");
    let line = chaos::summary_line("load", 42, &verdict, 1.0);
    assert_eq!(
        line,
        "CHAOS-RESULT\tload\tfailed\tseed=42\t1.0s\tFAILED: peak 40 > 32; 10 calls"
    );
    let unknown = chaos::run_all(1, true, Some(&["nope".to_string()]));
    assert!(unknown.is_err_and(|e| e.contains("nope")));
}

#[test]
fn bad_cli_input_files_get_a_typed_error_naming_the_line() {
    assert_passes("cli-input");
}

#[test]
fn slow_server_calls_end_within_their_deadline() {
    assert_passes("slow-server");
}

#[test]
fn faults_never_lose_an_item_or_deliver_twice_and_the_breaker_recovers() {
    assert_passes("faults");
}

#[test]
fn a_sync_under_faults_accounts_for_every_contact_and_never_sends_twice() {
    assert_passes("sync-faults");
}

#[test]
fn a_webhook_flood_gets_503_beyond_capacity_and_drops_nothing_accepted() {
    assert_passes("webhook-flood");
}

#[test]
fn generated_api_answers_become_values_or_typed_errors() {
    assert_passes("api-bodies");
}
