//! A recorder for asserting metrics in tests, without touching the global recorder.
//!
//! Tests in one process run in parallel, and only one global recorder can ever be installed, so
//! [`TestRecorder`] is used as a *local* recorder: [`TestRecorder::capture`] runs a closure with
//! it (`metrics::with_local_recorder`), [`TestRecorder::enter`] makes it the current thread's
//! recorder until the guard drops (`metrics::set_default_local_recorder`, fit for a
//! current-thread tokio test). Reads never reset anything.

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{AtomicStorage, Registry};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// An in-memory recorder whose values tests can read back (cheap to clone; clones share state).
#[derive(Clone)]
pub struct TestRecorder {
    registry: Arc<Registry<Key, AtomicStorage>>,
}

impl Default for TestRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TestRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRecorder")
            .field("metrics", &self.metrics().len())
            .finish()
    }
}

/// One recorded metric, as [`TestRecorder::metrics`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TestMetric {
    /// The metric name.
    pub name: String,
    /// The labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: TestValue,
}

/// The value of a [`TestMetric`].
#[derive(Debug, Clone, PartialEq)]
pub enum TestValue {
    /// A counter's count.
    Counter(u64),
    /// A gauge's value.
    Gauge(f64),
    /// Every observation a histogram received, in order.
    Histogram(Vec<f64>),
}

fn labels_match(key: &Key, labels: &[(&str, &str)]) -> bool {
    key.labels().count() == labels.len()
        && labels
            .iter()
            .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
}

impl TestRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self {
            registry: Arc::new(Registry::atomic()),
        }
    }

    /// Runs `f` with this recorder as the current thread's recorder.
    pub fn capture<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self, f)
    }

    /// Makes this recorder the current thread's recorder until the guard is dropped.
    pub fn enter(&self) -> metrics::LocalRecorderGuard<'_> {
        metrics::set_default_local_recorder(self)
    }

    /// The counter `name` with exactly `labels` (in any order), if it was registered.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let mut found = None;
        self.registry.visit_counters(|key, c| {
            if key.name() == name && labels_match(key, labels) {
                found = Some(c.load(Ordering::Acquire));
            }
        });
        found
    }

    /// The sum of the counter `name` over all its label sets (0 when never registered).
    pub fn counter_total(&self, name: &str) -> u64 {
        let mut total = 0;
        self.registry.visit_counters(|key, c| {
            if key.name() == name {
                total += c.load(Ordering::Acquire);
            }
        });
        total
    }

    /// The gauge `name` with exactly `labels`, if it was registered.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = None;
        self.registry.visit_gauges(|key, g| {
            if key.name() == name && labels_match(key, labels) {
                found = Some(f64::from_bits(g.load(Ordering::Acquire)));
            }
        });
        found
    }

    /// Every observation of the histogram `name` with exactly `labels`, if it was registered.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<Vec<f64>> {
        let mut found = None;
        self.registry.visit_histograms(|key, h| {
            if key.name() == name && labels_match(key, labels) {
                found = Some(h.data());
            }
        });
        found
    }

    /// Every registered metric, sorted by name and labels.
    pub fn metrics(&self) -> Vec<TestMetric> {
        fn parts(key: &Key) -> (String, Vec<(String, String)>) {
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            (key.name().to_owned(), labels)
        }
        let mut out = Vec::new();
        self.registry.visit_counters(|key, c| {
            let (name, labels) = parts(key);
            let value = TestValue::Counter(c.load(Ordering::Acquire));
            out.push(TestMetric {
                name,
                labels,
                value,
            });
        });
        self.registry.visit_gauges(|key, g| {
            let (name, labels) = parts(key);
            let value = TestValue::Gauge(f64::from_bits(g.load(Ordering::Acquire)));
            out.push(TestMetric {
                name,
                labels,
                value,
            });
        });
        self.registry.visit_histograms(|key, h| {
            let (name, labels) = parts(key);
            let value = TestValue::Histogram(h.data());
            out.push(TestMetric {
                name,
                labels,
                value,
            });
        });
        out.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        out
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.registry
            .get_or_create_counter(key, |c| Counter::from_arc(Arc::clone(c)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.registry
            .get_or_create_gauge(key, |g| Gauge::from_arc(Arc::clone(g)))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.registry
            .get_or_create_histogram(key, |h| Histogram::from_arc(Arc::clone(h)))
    }
}

/// Runs `f` with a fresh [`TestRecorder`] and returns its result with the recorder.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, TestRecorder) {
    let recorder = TestRecorder::new();
    let out = recorder.capture(f);
    (out, recorder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_without_resetting() {
        let ((), rec) = capture(|| {
            metrics::counter!("c_total", "a" => "1", "b" => "2").increment(3);
            metrics::gauge!("g").set(1.5);
            metrics::histogram!("h_seconds").record(0.25);
            metrics::histogram!("h_seconds").record(0.5);
        });
        assert_eq!(rec.counter("c_total", &[("b", "2"), ("a", "1")]), Some(3));
        assert_eq!(rec.counter("c_total", &[("a", "1")]), None);
        assert_eq!(rec.counter("c_total", &[("b", "2"), ("a", "1")]), Some(3));
        assert_eq!(rec.counter_total("c_total"), 3);
        assert_eq!(rec.gauge("g", &[]), Some(1.5));
        assert_eq!(rec.histogram("h_seconds", &[]), Some(vec![0.25, 0.5]));
        assert_eq!(rec.metrics().len(), 3);
        // Outside the closure nothing is recorded here.
        metrics::counter!("c_total", "a" => "1", "b" => "2").increment(1);
        assert_eq!(rec.counter("c_total", &[("a", "1"), ("b", "2")]), Some(3));
    }
}
