//! Server-side rate limits: rolling windows (HubSpot's ten-secondly burst, search's secondly
//! limit, ManyChat's per-operation limits) and fixed windows (daily, hourly), all on
//! `tokio::time::Instant`.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// Result of asking a limiter for a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    /// Permits left in the window after this request.
    pub(crate) remaining: u32,
    /// When the next permit frees up (zero when allowed).
    pub(crate) retry_in: Duration,
}

#[derive(Debug, Default)]
struct Rolling {
    hits: VecDeque<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Fixed {
    start: Instant,
    count: u32,
}

/// A set of keyed limiters. Rejected requests do not consume a permit.
#[derive(Debug, Default)]
pub(crate) struct Limiters {
    rolling: HashMap<String, Rolling>,
    fixed: HashMap<String, Fixed>,
}

impl Limiters {
    /// Rolling window: at most `max` requests in any `interval`.
    pub(crate) fn rolling(
        &mut self,
        key: &str,
        max: u32,
        interval: Duration,
        now: Instant,
    ) -> Decision {
        let w = match self.rolling.get_mut(key) {
            Some(w) => w,
            None => self.rolling.entry(key.to_owned()).or_default(),
        };
        while w
            .hits
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= interval)
        {
            w.hits.pop_front();
        }
        if (w.hits.len() as u32) < max {
            w.hits.push_back(now);
            Decision {
                allowed: true,
                remaining: max - w.hits.len() as u32,
                retry_in: Duration::ZERO,
            }
        } else {
            let oldest = w.hits.front().copied().unwrap_or(now);
            Decision {
                allowed: false,
                remaining: 0,
                retry_in: (oldest + interval).saturating_duration_since(now),
            }
        }
    }

    /// Fixed window starting at `origin`: at most `max` requests per `period`.
    pub(crate) fn fixed(
        &mut self,
        key: &str,
        max: u32,
        period: Duration,
        origin: Instant,
        now: Instant,
    ) -> Decision {
        let elapsed = now.saturating_duration_since(origin);
        let n = (elapsed.as_nanos() / period.as_nanos().max(1)) as u32;
        let start = origin + period * n;
        let w = self
            .fixed
            .entry(key.to_owned())
            .or_insert(Fixed { start, count: 0 });
        if w.start != start {
            *w = Fixed { start, count: 0 };
        }
        if w.count < max {
            w.count += 1;
            Decision {
                allowed: true,
                remaining: max - w.count,
                retry_in: Duration::ZERO,
            }
        } else {
            Decision {
                allowed: false,
                remaining: 0,
                retry_in: (start + period).saturating_duration_since(now),
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.rolling.clear();
        self.fixed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rolling_window_frees_permits_as_time_passes() {
        let mut l = Limiters::default();
        let i = Duration::from_secs(10);
        let t0 = Instant::now();
        assert_eq!(l.rolling("k", 2, i, t0).remaining, 1);
        assert!(l.rolling("k", 2, i, t0).allowed);
        let d = l.rolling("k", 2, i, t0 + Duration::from_secs(4));
        assert!(!d.allowed);
        assert_eq!(d.retry_in, Duration::from_secs(6));
        assert!(l.rolling("k", 2, i, t0 + i).allowed);
    }

    #[tokio::test(start_paused = true)]
    async fn fixed_window_resets_each_period() {
        let mut l = Limiters::default();
        let p = Duration::from_secs(60);
        let t0 = Instant::now();
        assert!(l.fixed("d", 1, p, t0, t0).allowed);
        assert!(!l.fixed("d", 1, p, t0, t0 + Duration::from_secs(59)).allowed);
        assert!(l.fixed("d", 1, p, t0, t0 + p).allowed);
    }
}
