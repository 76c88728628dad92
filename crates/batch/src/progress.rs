//! Progress events: a snapshot after every change, through a callback and a `Stream`.

use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_stream::wrappers::WatchStream;

/// A snapshot of a run's progress.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// How many items the input holds, when known (an exact `size_hint`, or once the input
    /// is exhausted).
    pub total: Option<u64>,
    /// Items with a final record: `succeeded + failed + cancelled`.
    pub done: u64,
    /// Items that succeeded so far.
    pub succeeded: u64,
    /// Items that failed so far.
    pub failed: u64,
    /// Items recorded as cancelled so far.
    pub cancelled: u64,
    /// Items started and not yet finished.
    pub in_flight: u64,
    /// Time since the run started (tokio time).
    pub elapsed: Duration,
    /// Items finished (succeeded or failed) per second since the start; 0 before any time
    /// has passed.
    pub rate: f64,
    /// Estimated time left: the items not yet done at the current rate (when the total is
    /// known and the rate is above 0).
    pub eta: Option<Duration>,
    /// Whether this is the run's last event: then `done == total`.
    pub finished: bool,
}

/// The callback type for [`on_progress`](crate::BatchProcessorBuilder::on_progress).
pub(crate) type ProgressCallback = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A `Stream` of [`Progress`] snapshots for the processor's runs, from
/// [`BatchProcessor::progress`](crate::BatchProcessor::progress).
///
/// It yields the latest snapshot whenever it changed since the last poll (a slow consumer
/// skips intermediate snapshots, never the last one), and ends after the first snapshot with
/// `finished == true`. Subscribe before starting the run: a stream sees changes made after it
/// was created.
pub struct ProgressStream {
    inner: WatchStream<Progress>,
    ended: bool,
}

impl fmt::Debug for ProgressStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressStream")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl ProgressStream {
    pub(crate) fn new(rx: watch::Receiver<Progress>) -> Self {
        Self {
            inner: WatchStream::from_changes(rx),
            ended: false,
        }
    }
}

impl Stream for ProgressStream {
    type Item = Progress;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Progress>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(progress)) => {
                if progress.finished {
                    self.ended = true;
                }
                Poll::Ready(Some(progress))
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The run-side bookkeeping that publishes snapshots.
pub(crate) struct Tracker<'a> {
    started: Instant,
    snapshot: Progress,
    sender: &'a watch::Sender<Progress>,
    callback: Option<&'a ProgressCallback>,
}

impl<'a> Tracker<'a> {
    pub(crate) fn new(
        total: Option<u64>,
        sender: &'a watch::Sender<Progress>,
        callback: Option<&'a ProgressCallback>,
    ) -> Self {
        Self {
            started: Instant::now(),
            snapshot: Progress {
                total,
                ..Progress::default()
            },
            sender,
            callback,
        }
    }

    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    pub(crate) fn snapshot(&self) -> &Progress {
        &self.snapshot
    }

    pub(crate) fn set_total(&mut self, total: u64) {
        self.snapshot.total = Some(total);
    }

    pub(crate) fn set_in_flight(&mut self, in_flight: u64) {
        self.snapshot.in_flight = in_flight;
    }

    pub(crate) fn succeeded(&mut self) {
        self.snapshot.succeeded += 1;
    }

    pub(crate) fn failed(&mut self) {
        self.snapshot.failed += 1;
    }

    pub(crate) fn cancelled(&mut self) {
        self.snapshot.cancelled += 1;
    }

    /// Recomputes the derived fields and publishes the snapshot.
    pub(crate) fn publish(&mut self, finished: bool) {
        let p = &mut self.snapshot;
        p.done = p.succeeded + p.failed + p.cancelled;
        p.elapsed = self.started.elapsed();
        let secs = p.elapsed.as_secs_f64();
        let finished_items = (p.succeeded + p.failed) as f64;
        p.rate = if secs > 0.0 {
            finished_items / secs
        } else {
            0.0
        };
        p.eta = match p.total {
            Some(total) if p.rate > 0.0 => {
                let left = total.saturating_sub(p.done) as f64;
                Duration::try_from_secs_f64(left / p.rate).ok()
            }
            _ => None,
        };
        if finished {
            p.in_flight = 0;
            p.eta = Some(Duration::ZERO);
        }
        p.finished = finished;
        if let Some(callback) = self.callback {
            callback(p);
        }
        self.sender.send_replace(p.clone());
    }
}
