//! Shared helpers: a scripted service that logs when it was called, and a metrics snapshot.

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use http_body_util::Full;
use metrics_util::debugging::{DebugValue, Snapshotter};
use resilience_core::BoxError;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tower::Service;

pub type Req = http::Request<Full<Bytes>>;
pub type Res = http::Response<Bytes>;

/// When each attempt reached the inner service (tokio's clock).
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Instant>>>);

impl Log {
    pub fn record(&self) -> usize {
        let mut calls = self.0.lock().unwrap();
        calls.push(Instant::now());
        calls.len() - 1
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn times(&self) -> Vec<Instant> {
        self.0.lock().unwrap().clone()
    }

    /// The gaps between consecutive attempts.
    pub fn gaps(&self) -> Vec<Duration> {
        self.times().windows(2).map(|w| w[1] - w[0]).collect()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// A service that answers attempt `n` (0-based, counted across all calls) with `reply(n, req)`.
pub fn scripted<B, F>(
    log: Log,
    reply: F,
) -> impl Service<http::Request<B>, Response = Res, Error = BoxError, Future: Send> + Clone
where
    B: Send + 'static,
    F: Fn(usize, &http::Request<B>) -> Result<Res, BoxError> + Clone + Send + 'static,
{
    tower::service_fn(move |req: http::Request<B>| {
        let n = log.record();
        let out = reply(n, &req);
        async move { out }
    })
}

pub fn response(status: u16) -> Res {
    http::Response::builder()
        .status(status)
        .body(Bytes::new())
        .unwrap()
}

pub fn response_with_retry_after(status: u16, retry_after: &str) -> Res {
    http::Response::builder()
        .status(status)
        .header("retry-after", retry_after)
        .body(Bytes::new())
        .unwrap()
}

pub fn request(method: &str) -> Req {
    http::Request::builder()
        .method(method)
        .uri("http://api.test/things")
        .body(Full::new(Bytes::from_static(b"{\"name\":\"x\"}")))
        .unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Counter values taken from a debugging recorder (taking a snapshot drains it, so take one).
pub struct Counters(Vec<(String, Labels, u64)>);

type Labels = Vec<(String, String)>;

impl Counters {
    pub fn take(snapshotter: &Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .filter_map(|(key, _, _, value)| match value {
                    DebugValue::Counter(n) => {
                        let key = key.key();
                        let labels = key
                            .labels()
                            .map(|l| (l.key().to_owned(), l.value().to_owned()))
                            .collect();
                        Some((key.name().to_owned(), labels, n))
                    }
                    _ => None,
                })
                .collect(),
        )
    }

    /// The sum of the counters named `name` that carry all of `labels`; 0 when absent.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.0
            .iter()
            .filter(|(n, ls, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, value)| value)
            .sum()
    }
}
