//! Small helpers: a deterministic PRNG, the sandbox clock, date formatting and query parsing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use tokio::time::Instant;

/// SplitMix64: tiny, fast and stable across versions, so seeds give the same data forever.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n == 0` gives 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Source of fresh correlation ids (UUID v4 shaped, deterministic per sandbox).
#[derive(Debug)]
pub(crate) struct IdSource {
    seed: u64,
    counter: AtomicU64,
}

impl IdSource {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn uuid(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut rng = Rng::new(self.seed.wrapping_mul(31).wrapping_add(n));
        let a = rng.next_u64();
        let b = rng.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            (a as u16) & 0x0fff,
            ((b >> 48) as u16 & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The sandbox clock: monotonic time from `tokio::time` (so a paused test clock drives it) and a
/// fixed, configurable wall-clock epoch for the dates the APIs return (so data is deterministic).
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    start: Instant,
    epoch_ms: i64,
    scale: f64,
}

impl Clock {
    pub(crate) fn new(epoch_ms: i64, scale: f64) -> Self {
        Self {
            start: Instant::now(),
            epoch_ms,
            scale,
        }
    }

    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// Simulated wall-clock milliseconds: the epoch plus the time elapsed since start.
    pub(crate) fn now_ms(&self) -> i64 {
        self.epoch_ms + self.start.elapsed().as_millis() as i64
    }

    /// A documented duration (a "10 second" window) scaled by the configured time scale.
    pub(crate) fn scaled(&self, d: Duration) -> Duration {
        scale(d, self.scale)
    }
}

pub(crate) fn scale(d: Duration, factor: f64) -> Duration {
    let scaled = d.as_secs_f64() * factor;
    if scaled.is_finite() && scaled > 0.0 {
        Duration::from_secs_f64(scaled).max(Duration::from_millis(1))
    } else {
        Duration::from_millis(1)
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn split_ms(ms: i64) -> ((i64, i64, i64), i64, i64, i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    (
        civil_from_days(days),
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    )
}

/// `2024-08-15T17:09:13.648Z` (HubSpot's format).
pub(crate) fn iso_ms(ms: i64) -> String {
    let ((y, mo, d), h, mi, s, milli) = split_ms(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `2024-08-15T17:09:13+00:00` (ManyChat's W3C format).
pub(crate) fn w3c(ms: i64) -> String {
    let ((y, mo, d), h, mi, s, _) = split_ms(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00")
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.fff]Z` or epoch milliseconds.
pub(crate) fn parse_time_ms(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if b.len() >= 19 && (b[10] == b'T' || b[10] == b' ') {
        ms += num(11..13)? * 3_600_000 + num(14..16)? * 60_000 + num(17..19)? * 1000;
        if b.len() >= 23 && b[19] == b'.' {
            ms += num(20..23)?;
        }
    } else if b.len() != 10 {
        return None;
    }
    Some(ms)
}

/// Query string as a multimap, form-decoded.
pub(crate) fn parse_query(q: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(decode(k)).or_default().push(decode(v));
    }
    out
}

/// Percent-decodes a query component (`+` is a space).
pub(crate) fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Percent-decodes a path segment (`+` stays).
pub(crate) fn decode_path(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let ms = parse_time_ms("2024-08-15T17:09:13.648Z").expect("parses");
        assert_eq!(iso_ms(ms), "2024-08-15T17:09:13.648Z");
        assert_eq!(parse_time_ms("1970-01-02"), Some(86_400_000));
        assert_eq!(w3c(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(parse_time_ms("nope"), None);
    }

    #[test]
    fn uuids_are_fresh_and_shaped() {
        let ids = IdSource::new(1);
        let (a, b) = (ids.uuid(), ids.uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
