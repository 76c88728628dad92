//! The request log: every request the sandbox saw, with its arrival time, outcome and any fault.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::faults::Api;

/// One logged request.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Arrival order (starts at 0).
    pub seq: u64,
    /// Which API the path belongs to.
    pub api: Api,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status sent, or `None` when the connection was dropped before any response.
    pub status: Option<u16>,
    /// Arrival time as time since the sandbox started (monotonic, `tokio::time`).
    #[serde(serialize_with = "ser_ms")]
    pub at: Duration,
    /// When the response was handed to the connection, as time since start.
    #[serde(serialize_with = "ser_ms")]
    pub completed: Duration,
    /// The label of the token used (`None`: no token; `"unknown"`: a token the sandbox does not
    /// accept). Never the token itself.
    pub token: Option<String>,
    /// Request headers, with `authorization`, cookies and signatures redacted.
    pub headers: Vec<(String, String)>,
    /// Name of the fault applied, if any (e.g. `"status"`, `"drop_after_processing"`).
    pub fault: Option<String>,
    /// True when the request reached the API logic (so any side effect happened).
    pub processed: bool,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<Vec<LogEntry>>,
    notify: Notify,
}

/// Shared handle to the request log (cheap to clone).
#[derive(Debug, Clone)]
pub struct RequestLog {
    inner: Arc<Inner>,
    start: Instant,
}

/// Headers whose values never appear in the log.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-hubspot-signature",
    "x-hubspot-signature-v3",
];

impl RequestLog {
    pub(crate) fn new(start: Instant) -> Self {
        Self {
            inner: Arc::new(Inner::default()),
            start,
        }
    }

    pub(crate) fn since_start(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.start)
    }

    pub(crate) fn redact(headers: &http::HeaderMap) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(k, v)| {
                let name = k.as_str().to_owned();
                let value = if SECRET_HEADERS.contains(&k.as_str()) {
                    "[redacted]".to_owned()
                } else {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                };
                (name, value)
            })
            .collect()
    }

    pub(crate) fn push(&self, entry: LogEntry) {
        {
            let mut e = self.inner.entries.lock();
            let pos = e.partition_point(|x| x.seq < entry.seq);
            e.insert(pos, entry);
        }
        self.inner.notify.notify_waiters();
    }

    /// All entries in arrival order.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.inner.entries.lock().clone()
    }

    /// Number of requests logged so far.
    pub fn len(&self) -> usize {
        self.inner.entries.lock().len()
    }

    /// True when nothing has been logged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries whose path starts with `prefix`, in arrival order.
    pub fn for_path(&self, prefix: &str) -> Vec<LogEntry> {
        self.filter(|e| e.path.starts_with(prefix))
    }

    /// Entries matching a predicate, in arrival order.
    pub fn filter(&self, pred: impl Fn(&LogEntry) -> bool) -> Vec<LogEntry> {
        self.inner
            .entries
            .lock()
            .iter()
            .filter(|e| pred(e))
            .cloned()
            .collect()
    }

    /// Number of entries matching a predicate.
    pub fn count(&self, pred: impl Fn(&LogEntry) -> bool) -> usize {
        self.inner.entries.lock().iter().filter(|e| pred(e)).count()
    }

    /// Arrival gaps between consecutive entries matching a predicate (for spacing assertions,
    /// e.g. "the retry came no earlier than the `Retry-After` said").
    pub fn gaps(&self, pred: impl Fn(&LogEntry) -> bool) -> Vec<Duration> {
        let at: Vec<Duration> = self.filter(pred).iter().map(|e| e.at).collect();
        at.windows(2).map(|w| w[1].saturating_sub(w[0])).collect()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.inner.entries.lock().clear();
    }

    /// Waits until at least `n` entries have been logged.
    pub async fn wait_for(&self, n: usize) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() >= n {
                return;
            }
            notified.await;
        }
    }
}
