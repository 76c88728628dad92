//! Progress of a sync: a bar (indicatif, drawn on stdout) on a terminal, periodic log lines
//! otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A progress bar on stdout (a terminal).
    Bar,
    /// An `info` log line every interval.
    Log(Duration),
    /// Nothing.
    Off,
}

/// Counters shared by the workers and the reporter.
#[derive(Debug, Clone, Default)]
pub struct SyncProgress {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    total: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
}

impl SyncProgress {
    /// New counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` contacts to the expected total.
    pub fn add_total(&self, n: u64) {
        self.inner.total.fetch_add(n, Ordering::Relaxed);
    }

    /// Records one finished contact.
    pub fn finish_one(&self, failed: bool) {
        self.inner.done.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.inner.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (done, total, failed).
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.inner.done.load(Ordering::Relaxed),
            self.inner.total.load(Ordering::Relaxed),
            self.inner.failed.load(Ordering::Relaxed),
        )
    }

    /// Starts showing progress; stop it with [`ProgressReporter::finish`].
    pub fn report(&self, mode: ProgressMode, label: &'static str) -> ProgressReporter {
        let progress = self.clone();
        let (handle, bar) = match mode {
            ProgressMode::Off => (None, None),
            ProgressMode::Bar => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_message(label);
                let shown = bar.clone();
                let handle = tokio::spawn(async move {
                    loop {
                        let (done, total, _) = progress.snapshot();
                        shown.set_length(total);
                        shown.set_position(done);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                });
                (Some(handle), Some(bar))
            }
            ProgressMode::Log(every) => {
                let handle = tokio::spawn(async move {
                    let start = Instant::now();
                    loop {
                        tokio::time::sleep(every).await;
                        let (done, total, failed) = progress.snapshot();
                        let secs = start.elapsed().as_secs_f64();
                        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
                        tracing::info!(
                            done,
                            total,
                            failed,
                            rate = format!("{rate:.1}/s"),
                            "{label} progress"
                        );
                    }
                });
                (Some(handle), None)
            }
        };
        ProgressReporter {
            handle,
            bar,
            progress: self.clone(),
            label,
        }
    }
}

/// A running progress display.
#[derive(Debug)]
pub struct ProgressReporter {
    handle: Option<JoinHandle<()>>,
    bar: Option<ProgressBar>,
    progress: SyncProgress,
    label: &'static str,
}

impl ProgressReporter {
    /// Stops the display: the bar shows the final count, or a last log line is written.
    pub fn finish(self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
        let (done, total, failed) = self.progress.snapshot();
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
                bar.finish();
                // The bar leaves the cursor on its line: the next output starts below it.
                println!();
            }
            None if self.handle.is_some() => {
                tracing::info!(done, total, failed, "{} finished", self.label);
            }
            None => {}
        }
    }
}
