//! The benchmark harness at its tiny size: every subject runs against the real sandbox and
//! produces a row with a finite, positive value and its baseline. (No thresholds: the table of
//! `cargo xtask bench` is the result.)

use integrations_bench::loopback::{self, LoopbackConfig};
use integrations_bench::micro::{self, MicroConfig};
use integrations_bench::{Better, Row};

fn assert_sane(rows: &[Row]) {
    for row in rows {
        assert!(row.value.is_finite() && row.value > 0.0, "{row}");
        assert!(
            row.baseline_value.is_finite() && row.baseline_value > 0.0,
            "{row}"
        );
        assert_eq!(Row::parse(&row.to_line()).as_ref(), Some(row));
    }
}

#[test]
fn micro_benchmarks_measure_every_layer_on_one_and_eight_tasks() {
    let rows = micro::run(MicroConfig::quick()).expect("micro benchmarks run");
    assert_eq!(rows.len(), 12);
    assert_sane(&rows);
    for subject in [
        "circuit breaker",
        "retry",
        "rate limiter",
        "metrics layer",
        "cache hit",
        "webhook v3",
    ] {
        for tasks in ["1 task", "8 tasks"] {
            assert!(
                rows.iter()
                    .any(|r| r.subject.starts_with(subject) && r.subject.ends_with(tasks)),
                "no row for {subject}, {tasks}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn loopback_benchmarks_get_the_contact_through_every_client() {
    let rows =
        tokio::task::spawn_blocking(|| loopback::run(LoopbackConfig::quick(), &|_| Ok(Vec::new())))
            .await
            .expect("joined")
            .expect("loopback benchmarks run");
    assert_sane(&rows);
    let subjects = [
        "bare hyper-util",
        "integrations-http",
        "reqwest",
        "reqwest + reqwest-middleware",
    ];
    for subject in subjects {
        assert!(
            rows.iter()
                .any(|r| r.subject.contains(subject) && r.better == Better::Lower)
        );
        assert!(
            rows.iter()
                .any(|r| r.subject.contains(subject) && r.better == Better::Higher)
        );
    }
}
