//! Shared helpers for the integration tests: a tiny recording HTTP-like service.
#![allow(dead_code, unreachable_pub)]

use resilience_core::BoxError;
use resilience_ratelimit::Quota;
use std::future::{Ready, ready};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::Service;

pub type Req = http::Request<()>;
pub type Res = http::Response<()>;

pub fn per_sec(n: u32, burst: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(n).unwrap()).with_burst(NonZeroU32::new(burst).unwrap())
}

pub fn req(uri: &str) -> Req {
    http::Request::builder().uri(uri).body(()).unwrap()
}

pub fn ok() -> Res {
    http::Response::new(())
}

pub fn with_headers(status: u16, headers: &[(&str, &str)]) -> Res {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap()
}

/// A ready service that records the (tokio) instant of every call and answers from a script
/// indexed by call number.
#[derive(Clone)]
pub struct Api {
    calls: Arc<Mutex<Vec<Instant>>>,
    script: Arc<dyn Fn(usize) -> Res + Send + Sync>,
}

impl Api {
    pub fn new(script: impl Fn(usize) -> Res + Send + Sync + 'static) -> Self {
        Self {
            calls: Arc::default(),
            script: Arc::new(script),
        }
    }

    pub fn ok() -> Self {
        Self::new(|_| ok())
    }

    /// Call times in milliseconds since `t0`.
    pub fn times_ms(&self, t0: Instant) -> Vec<u128> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|t| t.duration_since(t0).as_millis())
            .collect()
    }

    pub fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl Service<Req> for Api {
    type Response = Res;
    type Error = BoxError;
    type Future = Ready<Result<Res, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Req) -> Self::Future {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Instant::now());
            calls.len() - 1
        };
        ready(Ok((self.script)(n)))
    }
}

pub const LONG: Duration = Duration::from_secs(60);
