//! A JSON snapshot of the exported metrics, like the old library's `/metrics.json`.
//!
//! Built from the Prometheus text the exporter renders, so it shows exactly what a scrape sees.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// All metrics at one moment: counters, gauges and histogram summaries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Every counter series.
    pub counters: Vec<CounterSample>,
    /// Every gauge series.
    pub gauges: Vec<GaugeSample>,
    /// Every histogram (or summary) series.
    pub histograms: Vec<HistogramSample>,
}

/// One counter series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterSample {
    /// The metric name.
    pub name: String,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// The count.
    pub value: f64,
}

/// One gauge series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeSample {
    /// The metric name.
    pub name: String,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// One histogram series, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramSample {
    /// The metric name.
    pub name: String,
    /// The labels (without `le`/`quantile`).
    pub labels: BTreeMap<String, String>,
    /// Number of observations.
    pub count: u64,
    /// Sum of observations.
    pub sum: f64,
    /// `sum / count`, when there was at least one observation.
    pub mean: Option<f64>,
    /// Estimated quantiles (`"p50"`, `"p90"`, `"p99"`), interpolated within buckets the way
    /// Prometheus' `histogram_quantile` does, or the summary's own quantiles.
    pub quantiles: BTreeMap<String, f64>,
    /// Cumulative bucket counts by upper bound, without the `+Inf` bucket (which equals `count`).
    pub buckets: Vec<Bucket>,
}

/// One cumulative histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// The upper bound.
    pub le: f64,
    /// Observations less than or equal to `le`.
    pub count: u64,
}

#[derive(Default)]
struct Partial {
    count: u64,
    sum: f64,
    buckets: Vec<(f64, u64)>,
    quantiles: BTreeMap<String, f64>,
}

impl MetricsSnapshot {
    /// Parses Prometheus text exposition (as rendered by the exporter). Lines it does not
    /// understand are skipped.
    pub fn from_prometheus_text(text: &str) -> Self {
        let mut types: BTreeMap<&str, &str> = BTreeMap::new();
        let mut snapshot = Self::default();
        let mut partials: BTreeMap<(String, BTreeMap<String, String>), Partial> = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    types.insert(name, kind);
                }
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, mut labels, value)) = parse_sample(line) else {
                continue;
            };
            let histogram_base = |suffix: &str| {
                name.strip_suffix(suffix)
                    .filter(|base| matches!(types.get(base), Some(&"histogram" | &"summary")))
            };
            if let Some(base) = histogram_base("_bucket") {
                let le = labels.remove("le").and_then(|v| parse_value(&v));
                let entry = partials.entry((base.to_owned(), labels)).or_default();
                if let Some(le) = le.filter(|le| le.is_finite()) {
                    entry.buckets.push((le, value as u64));
                }
            } else if let Some(base) = histogram_base("_sum") {
                partials.entry((base.to_owned(), labels)).or_default().sum = value;
            } else if let Some(base) = histogram_base("_count") {
                partials.entry((base.to_owned(), labels)).or_default().count = value as u64;
            } else {
                match types.get(name) {
                    Some(&"counter") => snapshot.counters.push(CounterSample {
                        name: name.to_owned(),
                        labels,
                        value,
                    }),
                    Some(&"gauge") => snapshot.gauges.push(GaugeSample {
                        name: name.to_owned(),
                        labels,
                        value,
                    }),
                    Some(&"summary") => {
                        let q = labels.remove("quantile");
                        let entry = partials.entry((name.to_owned(), labels)).or_default();
                        if let Some(q) = q {
                            entry.quantiles.insert(format!("q{q}"), value);
                        }
                    }
                    _ => {}
                }
            }
        }
        for ((name, labels), p) in partials {
            let mut quantiles = p.quantiles;
            if !p.buckets.is_empty() {
                for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
                    if let Some(v) = bucket_quantile(q, &p.buckets, p.count) {
                        quantiles.insert(key.to_owned(), v);
                    }
                }
            }
            snapshot.histograms.push(HistogramSample {
                name,
                labels,
                count: p.count,
                sum: p.sum,
                mean: (p.count > 0).then(|| p.sum / p.count as f64),
                quantiles,
                buckets: p
                    .buckets
                    .into_iter()
                    .map(|(le, count)| Bucket { le, count })
                    .collect(),
            });
        }
        snapshot
    }

    /// The snapshot as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The counter `name` with exactly `labels`, if present.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.counters
            .iter()
            .find(|c| c.name == name && same_labels(&c.labels, labels))
            .map(|c| c.value)
    }

    /// The gauge `name` with exactly `labels`, if present.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.gauges
            .iter()
            .find(|g| g.name == name && same_labels(&g.labels, labels))
            .map(|g| g.value)
    }

    /// The histogram `name` with exactly `labels`, if present.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<&HistogramSample> {
        self.histograms
            .iter()
            .find(|h| h.name == name && same_labels(&h.labels, labels))
    }
}

fn same_labels(have: &BTreeMap<String, String>, want: &[(&str, &str)]) -> bool {
    have.len() == want.len()
        && want
            .iter()
            .all(|(k, v)| have.get(*k).is_some_and(|h| h == v))
}

/// `histogram_quantile`: linear interpolation inside the bucket holding rank `q * count`.
fn bucket_quantile(q: f64, buckets: &[(f64, u64)], count: u64) -> Option<f64> {
    if count == 0 {
        return None;
    }
    let rank = q * count as f64;
    let mut lower_bound = 0.0;
    let mut lower_count = 0u64;
    for &(le, cumulative) in buckets {
        if cumulative as f64 >= rank {
            let in_bucket = (cumulative - lower_count) as f64;
            if in_bucket == 0.0 {
                return Some(le);
            }
            let fraction = (rank - lower_count as f64) / in_bucket;
            return Some(lower_bound + (le - lower_bound) * fraction);
        }
        lower_bound = le;
        lower_count = cumulative;
    }
    // The rank falls in the +Inf bucket: report the highest finite bound, as Prometheus does.
    buckets.last().map(|&(le, _)| le)
}

fn parse_value(v: &str) -> Option<f64> {
    match v {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => v.parse().ok(),
    }
}

/// Parses `name{a="x",b="y"} value [timestamp]`.
fn parse_sample(line: &str) -> Option<(&str, BTreeMap<String, String>, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let end;
        loop {
            // Skip separators.
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' || c == ' ' {
                    chars.next();
                } else {
                    break;
                }
            }
            let (start, c) = *chars.peek()?;
            if c == '}' {
                end = start + 1;
                break;
            }
            let eq = inner[start..].find('=')? + start;
            let key = inner[start..eq].trim().to_owned();
            while let Some(&(i, _)) = chars.peek() {
                if i > eq {
                    break;
                }
                chars.next();
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    other => value.push(other),
                }
            }
            labels.insert(key, value);
        }
        rest = &inner[end..];
    }
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some((name, labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP x_total help
# TYPE x_total counter
x_total{operation="a",status="2xx"} 3
x_total{operation="we\"ird\\",status="5xx"} 1

# TYPE g gauge
g 0

# TYPE d_seconds histogram
d_seconds_bucket{operation="a",le="0.1"} 1
d_seconds_bucket{operation="a",le="1"} 3
d_seconds_bucket{operation="a",le="+Inf"} 4
d_seconds_sum{operation="a"} 6.55
d_seconds_count{operation="a"} 4

# TYPE s summary
s{quantile="0.5"} 2
s_sum 4
s_count 2
"#;

    #[test]
    fn parses_every_kind() {
        let s = MetricsSnapshot::from_prometheus_text(TEXT);
        assert_eq!(
            s.counter("x_total", &[("operation", "a"), ("status", "2xx")]),
            Some(3.0)
        );
        assert_eq!(
            s.counter("x_total", &[("operation", "we\"ird\\"), ("status", "5xx")]),
            Some(1.0)
        );
        assert_eq!(s.gauge("g", &[]), Some(0.0));
        let h = s.histogram("d_seconds", &[("operation", "a")]).unwrap();
        assert_eq!(h.count, 4);
        assert_eq!(h.sum, 6.55);
        assert_eq!(
            h.buckets,
            vec![Bucket { le: 0.1, count: 1 }, Bucket { le: 1.0, count: 3 }]
        );
        // rank 2 of 4 is half way through the (0.1, 1] bucket.
        assert!((h.quantiles["p50"] - 0.55).abs() < 1e-9);
        // rank 3.96 falls in +Inf: the highest finite bound.
        assert_eq!(h.quantiles["p99"], 1.0);
        let summary = s.histogram("s", &[]).unwrap();
        assert_eq!(summary.quantiles["q0.5"], 2.0);
        assert_eq!(summary.mean, Some(2.0));
    }
}
