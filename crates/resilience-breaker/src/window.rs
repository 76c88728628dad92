//! A time-based sliding window of call counts, lock-free and striped across threads.
//!
//! The window is `buckets` buckets of `width` each. Time is cut into epochs of one bucket
//! width; an epoch `e` lives in bucket `e % buckets`. Each counter is one `AtomicU64` whose high
//! 32 bits tag the epoch it counts and whose low 32 bits are the count, so a bucket that comes
//! round again is recognised as stale and restarted by a single compare-and-swap, and a reader
//! ignores buckets whose tag is not one of the last `buckets` epochs. The counters are repeated
//! in `stripes` cache-line-padded copies, and each thread writes to its own stripe, so that many
//! threads recording at once do not fight over one cache line; a reader sums every stripe.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// The counts of one window, summed over its live buckets.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

#[derive(Debug, Default)]
#[repr(align(64))]
struct Bucket {
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Window {
    buckets: Box<[Bucket]>,
    len: u32,
    stripes: usize,
    width_nanos: u64,
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// The stripe this thread writes to, assigned round-robin on the thread's first record.
#[inline]
fn this_stripe() -> usize {
    STRIPE
        .try_with(|cell| {
            let stripe = cell.get();
            if stripe != usize::MAX {
                return stripe;
            }
            let stripe = NEXT_STRIPE.fetch_add(1, Relaxed) & (usize::MAX >> 1);
            cell.set(stripe);
            stripe
        })
        .unwrap_or(0)
}

/// The number of stripes: the machine's parallelism, at most 16.
pub(crate) fn default_stripes() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get().clamp(1, 16))
}

impl Window {
    /// A window of `length` split into `len` buckets (`len ≥ 1`, each at least 1 ns), with
    /// `stripes` copies of the counters.
    pub(crate) fn new(length: Duration, len: u32, stripes: usize) -> Self {
        let len = len.max(1);
        let stripes = stripes.max(1);
        let width_nanos = u64::try_from((length / len).as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        let buckets = (0..len as usize * stripes)
            .map(|_| Bucket::default())
            .collect();
        Self {
            buckets,
            len,
            stripes,
            width_nanos,
        }
    }

    /// The epoch (bucket-width tick) of `now_nanos`, truncated to the tag width.
    fn epoch(&self, now_nanos: u64) -> u32 {
        (now_nanos / self.width_nanos) as u32
    }

    fn bucket(&self, stripe: usize, epoch: u32) -> &Bucket {
        let index = (stripe % self.stripes) * self.len as usize + (epoch % self.len) as usize;
        &self.buckets[index]
    }

    /// Records one call at `now_nanos` in this thread's stripe.
    #[inline]
    pub(crate) fn record(&self, now_nanos: u64, failure: bool, slow: bool) {
        self.record_in(this_stripe(), now_nanos, failure, slow);
    }

    /// Records one call at `now_nanos` in `stripe`.
    pub(crate) fn record_in(&self, stripe: usize, now_nanos: u64, failure: bool, slow: bool) {
        let epoch = self.epoch(now_nanos);
        let bucket = self.bucket(stripe, epoch);
        // Failures and slow calls first: a concurrent reader then never sees more failures
        // than calls from this record.
        if failure {
            bump(&bucket.failures, epoch);
        }
        if slow {
            bump(&bucket.slow, epoch);
        }
        bump(&bucket.calls, epoch);
    }

    /// The counts of the buckets that belong to the window ending at `now_nanos`: the current
    /// epoch and the `len - 1` before it.
    pub(crate) fn totals(&self, now_nanos: u64) -> Totals {
        let epoch = self.epoch(now_nanos);
        let mut totals = Totals::default();
        for bucket in self.buckets.iter() {
            totals.calls += live(&bucket.calls, epoch, self.len);
            totals.failures += live(&bucket.failures, epoch, self.len);
            totals.slow += live(&bucket.slow, epoch, self.len);
        }
        totals
    }

    /// Forgets every count.
    pub(crate) fn clear(&self) {
        for bucket in self.buckets.iter() {
            bucket.calls.store(0, Relaxed);
            bucket.failures.store(0, Relaxed);
            bucket.slow.store(0, Relaxed);
        }
    }
}

const COUNT_MASK: u64 = u32::MAX as u64;

/// Adds one to `counter` for `epoch`, restarting it when it holds an older epoch.
#[inline]
fn bump(counter: &AtomicU64, epoch: u32) {
    let mut current = counter.load(Relaxed);
    loop {
        let tag = (current >> 32) as u32;
        if tag == epoch {
            if current & COUNT_MASK == COUNT_MASK {
                return; // saturated; 4 billion calls in one bucket of one stripe
            }
            match counter.compare_exchange_weak(current, current + 1, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
            continue;
        }
        // A newer epoch is already here: this record arrived late; it belongs to a bucket the
        // window is about to forget, so dropping it changes nothing that will be read.
        if (tag.wrapping_sub(epoch) as i32) > 0 && current & COUNT_MASK != 0 {
            return;
        }
        match counter.compare_exchange_weak(current, (u64::from(epoch) << 32) | 1, Relaxed, Relaxed)
        {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

/// The count in `counter` when its epoch is within the `len` epochs ending at `epoch`.
fn live(counter: &AtomicU64, epoch: u32, len: u32) -> u64 {
    let value = counter.load(Relaxed);
    let tag = (value >> 32) as u32;
    if epoch.wrapping_sub(tag) < len {
        value & COUNT_MASK
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn counts_and_forgets() {
        let w = Window::new(Duration::from_secs(30), 10, 2);
        for _ in 0..5 {
            w.record_in(0, SEC, true, false);
        }
        w.record_in(1, 2 * SEC, false, true);
        assert_eq!(
            w.totals(2 * SEC),
            Totals {
                calls: 6,
                failures: 5,
                slow: 1
            }
        );
        // At 29.999 s the epoch-0 bucket is still in; at 30 s it has left.
        assert_eq!(w.totals(30 * SEC - 1).calls, 6);
        assert_eq!(w.totals(30 * SEC).calls, 0);
        // Recording into the bucket again restarts it rather than adding to the old count.
        w.record_in(0, 31 * SEC, false, false);
        assert_eq!(
            w.totals(31 * SEC),
            Totals {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        w.clear();
        assert_eq!(w.totals(31 * SEC), Totals::default());
    }

    #[test]
    fn late_record_for_a_forgotten_epoch_is_dropped() {
        let w = Window::new(Duration::from_secs(10), 10, 1);
        w.record_in(0, 15 * SEC, true, false); // epoch 15, bucket 5
        w.record_in(0, 5 * SEC, true, false); // epoch 5, same bucket, older: dropped
        assert_eq!(w.totals(15 * SEC).failures, 1);
    }

    #[test]
    fn many_threads_lose_nothing() {
        let w = std::sync::Arc::new(Window::new(Duration::from_secs(30), 10, 4));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        w.record(SEC, i % 4 == 0, false);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            w.totals(SEC),
            Totals {
                calls: 80_000,
                failures: 20_000,
                slow: 0
            }
        );
    }

    proptest! {
        /// The window agrees with a naive model: the sum of records whose epoch is one of the
        /// last `len` epochs at the time of reading.
        #[test]
        fn window_matches_model(
            len in 1u32..12,
            width_ms in 10u64..5_000,
            stripes in 1usize..4,
            steps in prop::collection::vec((0u64..8_000, any::<bool>(), any::<bool>(), 0usize..4), 1..200),
        ) {
            let width = width_ms * 1_000_000;
            let w = Window::new(Duration::from_nanos(width * u64::from(len)), len, stripes);
            let mut now = 0u64;
            let mut log: Vec<(u64, bool, bool)> = Vec::new();
            for (advance_ms, failure, slow, stripe) in steps {
                now += advance_ms * 1_000_000;
                w.record_in(stripe, now, failure, slow);
                log.push((now / width, failure, slow));
                let epoch = now / width;
                let mut model = Totals::default();
                for &(e, f, s) in &log {
                    if epoch - e < u64::from(len) {
                        model.calls += 1;
                        model.failures += u64::from(f);
                        model.slow += u64::from(s);
                    }
                }
                prop_assert_eq!(w.totals(now), model);
                prop_assert!(model.failures <= model.calls && model.slow <= model.calls);
            }
        }
    }
}
