//! Rate gates: what an item waits on before it starts.

use crate::error::ConfigError;
use parking_lot::Mutex;
use resilience_core::BoxError;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The future a [`RateGate`] returns: resolves when the permits are granted, or with the
/// gate's reason for refusing them.
pub type GateFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;

/// Something a batch waits on before it starts an item (or a chunk): the plug point for a
/// rate shared with other callers.
///
/// The batch calls [`acquire`](RateGate::acquire) once per item (or once per chunk, with the
/// chunk's number of permits, see [`ChunkPermits`]) and starts the work when the future
/// resolves. An `Err` fails the item (or every item of the chunk) with
/// [`ItemError::RateGate`](crate::ItemError::RateGate): the operation never sees it.
///
/// If the batch is dropped or cancelled while it waits, the future is dropped; a gate may
/// then count the permits as spent (the built-in [`ItemRate`] does: its slot passes unused).
pub trait RateGate: Send + Sync + fmt::Debug {
    /// Waits until `permits` units of work may start.
    fn acquire(&self, permits: NonZeroU32) -> GateFuture<'_>;
}

impl<G: RateGate + ?Sized> RateGate for Arc<G> {
    fn acquire(&self, permits: NonZeroU32) -> GateFuture<'_> {
        (**self).acquire(permits)
    }
}

/// How many permits a chunk takes from the gate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkPermits {
    /// One permit per item in the chunk (the default): a rate in items per second holds for
    /// chunked runs too.
    #[default]
    PerItem,
    /// One permit per chunk: for a gate that counts requests, where one batch-endpoint call is
    /// one request whatever its size.
    PerChunk,
}

/// A built-in rate gate: at most a given number of items per second, spread evenly (GCRA).
///
/// Each permit takes one emission interval (`1 / rate`). With the default burst of 1, starts
/// are spaced by at least one interval, so N items take at least `(N - 1) / rate`; a burst of
/// `b` lets `b` items start at once after an idle period. A request for `n` permits (a chunk)
/// starts at the first permit's slot and reserves the following `n - 1` slots, so the next
/// caller waits for them: the average rate holds.
///
/// Clones share the same schedule, so one `ItemRate` can pace several batches together.
/// Time is tokio time (works with a paused clock).
#[derive(Clone)]
pub struct ItemRate {
    interval: Duration,
    burst: u32,
    tat: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for ItemRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemRate")
            .field("interval", &self.interval)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl ItemRate {
    /// At most `rate` items per second, evenly spaced (burst 1).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRate`] when `rate` is not finite or not above 0, and
    /// [`ConfigError::ZeroInterval`] when it is so large that the interval rounds to zero.
    pub fn per_second(rate: f64) -> Result<Self, ConfigError> {
        if !rate.is_finite() || rate <= 0.0 {
            return Err(ConfigError::InvalidRate { rate });
        }
        let interval = Duration::try_from_secs_f64(1.0 / rate)
            .map_err(|_| ConfigError::InvalidRate { rate })?;
        Self::with_interval(interval)
    }

    /// One item per `interval`, evenly spaced (burst 1).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroInterval`] when `interval` is zero.
    pub fn with_interval(interval: Duration) -> Result<Self, ConfigError> {
        if interval.is_zero() {
            return Err(ConfigError::ZeroInterval);
        }
        Ok(Self {
            interval,
            burst: 1,
            tat: Arc::new(Mutex::new(None)),
        })
    }

    /// Lets `burst` items start at once after an idle period (default 1).
    pub fn with_burst(mut self, burst: NonZeroU32) -> Self {
        self.burst = burst.get();
        self
    }

    /// The emission interval (time per permit).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How many permits may be taken at once after an idle period.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Reserves `permits` slots and returns the moment the first one is due.
    fn reserve(&self, permits: u32) -> Instant {
        let now = Instant::now();
        let tolerance = self.interval.saturating_mul(self.burst - 1);
        let mut tat_slot = self.tat.lock();
        let tat = tat_slot.unwrap_or(now).max(now);
        let start = tat
            .checked_sub(tolerance)
            .map_or(now, |earliest| earliest.max(now));
        // Saturating: an interval configured near `Duration::MAX` must not panic the batch.
        let next = self.interval.saturating_mul(permits);
        *tat_slot = Some(tat.checked_add(next).unwrap_or_else(|| far_future(tat)));
        start
    }
}

/// The latest instant after `from` that `Instant` can represent, within a century (what tokio's
/// own timer treats as "never").
fn far_future(from: Instant) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    from.checked_add(CENTURY).unwrap_or(from)
}

impl RateGate for ItemRate {
    fn acquire(&self, permits: NonZeroU32) -> GateFuture<'_> {
        Box::pin(async move {
            let start = self.reserve(permits.get());
            tokio::time::sleep_until(start).await;
            Ok(())
        })
    }
}
