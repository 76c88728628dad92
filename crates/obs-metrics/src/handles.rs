//! Metric handles cached per operation and status, so the hot path only bumps atomics.

use crate::names;
use crate::operation::OVERFLOW_OPERATION;
use crate::prefix::Prefix;
use metrics::{Counter, Gauge, Histogram};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A small, fast hasher for the operation map (FxHash's mixing step). Keys are operation names
/// chosen in code and capped in number, so hash flooding is not a concern here.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type OpMap = HashMap<Box<str>, Arc<OpHandles>, BuildHasherDefault<FxHasher>>;

/// Two labels are the same when they are the same static string (the usual case, checked by
/// address first) or equal text.
fn same(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// The state shared by a layer and every service it built.
#[derive(Debug)]
pub(crate) struct Shared {
    prefix: Prefix,
    requests_name: String,
    duration_name: String,
    in_flight_name: String,
    max_operations: usize,
    ops: RwLock<OpMap>,
    warned: AtomicBool,
}

/// The handles of one operation.
#[derive(Debug)]
pub(crate) struct OpHandles {
    requests_name: String,
    operation: String,
    pub(crate) duration: Histogram,
    pub(crate) in_flight: Gauge,
    requests: RwLock<Vec<(&'static str, Counter)>>,
}

impl Shared {
    pub(crate) fn new(prefix: Prefix, max_operations: usize) -> Self {
        Self {
            requests_name: names::api_requests_total(prefix.as_str()),
            duration_name: names::api_request_duration_seconds(prefix.as_str()),
            in_flight_name: names::api_requests_in_flight(prefix.as_str()),
            prefix,
            max_operations,
            ops: RwLock::new(OpMap::default()),
            warned: AtomicBool::new(false),
        }
    }

    pub(crate) fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    pub(crate) fn max_operations(&self) -> usize {
        self.max_operations
    }

    /// The handles of `operation`, registered with the current recorder on first use. Past
    /// `max_operations` distinct names, new names share the `other` handles.
    pub(crate) fn handles(&self, operation: &str) -> Arc<OpHandles> {
        {
            let ops = self.ops.read();
            if let Some(found) = ops.get(operation) {
                return Arc::clone(found);
            }
            if ops.len() >= self.max_operations {
                if let Some(other) = ops.get(OVERFLOW_OPERATION) {
                    return Arc::clone(other);
                }
            }
        }
        let mut ops = self.ops.write();
        if let Some(found) = ops.get(operation) {
            return Arc::clone(found);
        }
        let name = if ops.len() >= self.max_operations {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    prefix = %self.prefix,
                    limit = self.max_operations,
                    "metrics: too many distinct operation names; labelling new ones `other`"
                );
            }
            OVERFLOW_OPERATION
        } else {
            operation
        };
        if let Some(found) = ops.get(name) {
            return Arc::clone(found);
        }
        let handles = Arc::new(OpHandles::new(self, name));
        ops.insert(name.into(), Arc::clone(&handles));
        handles
    }
}

impl OpHandles {
    /// The operation label these handles carry.
    pub(crate) fn operation(&self) -> &str {
        &self.operation
    }

    fn new(shared: &Shared, operation: &str) -> Self {
        let op = operation.to_owned();
        Self {
            duration: metrics::histogram!(shared.duration_name.clone(), names::labels::OPERATION => op.clone()),
            in_flight: metrics::gauge!(shared.in_flight_name.clone(), names::labels::OPERATION => op.clone()),
            requests_name: shared.requests_name.clone(),
            operation: op,
            requests: RwLock::new(Vec::with_capacity(4)),
        }
    }

    /// Adds one to the request counter for `status`.
    pub(crate) fn count(&self, status: &'static str) {
        if let Some((_, counter)) = self.requests.read().iter().find(|(s, _)| same(s, status)) {
            counter.increment(1);
            return;
        }
        let mut requests = self.requests.write();
        if let Some((_, counter)) = requests.iter().find(|(s, _)| same(s, status)) {
            counter.increment(1);
            return;
        }
        let counter = metrics::counter!(
            self.requests_name.clone(),
            names::labels::OPERATION => self.operation.clone(),
            names::labels::STATUS => status
        );
        counter.increment(1);
        requests.push((status, counter));
    }
}
