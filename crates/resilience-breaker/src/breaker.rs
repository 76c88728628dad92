//! The shared breaker: state machine, sliding window, probe slots and operator controls.
//!
//! # Concurrency
//!
//! The state and a generation number share one `AtomicU64`, so a single load tells a call
//! which state it is in and which period of that state. Closed-state calls touch only atomics:
//! a load of that word when admitted, and on completion a striped, epoch-tagged bucket counter
//! (see `window.rs`) plus the consecutive-failure counter. Half-open probe slots are atomics
//! tagged with the generation, reserved by compare-and-swap, so exactly `half_open_probes` calls
//! can hold one in a half-open period. A mutex is taken only to change state; every change
//! re-checks the word it expected, so racing callers change state at most once, and outcomes of
//! calls admitted in an earlier generation are ignored.

use crate::config::BreakerConfig;
use crate::error::BreakerOpen;
use crate::jitter::{self, SplitMix64};
use crate::metrics::Metrics;
use crate::state::{Snapshot, State, StateChange, TransitionReason};
use crate::window::{self, Window};
use resilience_core::Outcome;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

// ===== state word =====

const STATE_BITS: u32 = 8;

fn pack(state: State, generation: u64) -> u64 {
    (generation << STATE_BITS) | state as u64
}

fn state_of(word: u64) -> State {
    State::from_bits(word as u8)
}

fn generation_of(word: u64) -> u64 {
    word >> STATE_BITS
}

// ===== probe slots =====
//
// A slot is `tag | payload`: the tag is the low 20 bits of the half-open period's generation,
// the payload is FREE, DONE (a verdict of success is in, or the period is over), or the probe's
// deadline in milliseconds since the breaker's epoch, plus one.

const PAYLOAD_BITS: u32 = 44;
const PAYLOAD_MASK: u64 = (1 << PAYLOAD_BITS) - 1;
const FREE: u64 = 0;
const DONE: u64 = PAYLOAD_MASK;
const NANOS_PER_MS: u64 = 1_000_000;

fn slot_tag(generation: u64) -> u64 {
    (generation & ((1 << (64 - PAYLOAD_BITS)) - 1)) << PAYLOAD_BITS
}

fn in_flight_deadline_ms(payload: u64) -> Option<u64> {
    (payload != FREE && payload != DONE).then(|| payload - 1)
}

/// A circuit breaker, shared by every clone and every layer built from it.
///
/// Cloning is cheap (an `Arc`). Build one with [`Breaker::new`], or take a shared one by name
/// from a [`BreakerRegistry`](crate::BreakerRegistry). The tower side is
/// [`CircuitBreakerLayer`](crate::CircuitBreakerLayer); code outside tower can use
/// [`try_acquire`](Breaker::try_acquire) and [`Permit::record`] directly.
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Shared>,
}

struct Shared {
    name: Arc<str>,
    config: BreakerConfig,
    epoch: Instant,
    word: AtomicU64,
    open_until: AtomicU64,
    consecutive: AtomicU32,
    window: Window,
    slots: Box<[AtomicU64]>,
    control: Mutex<Control>,
    metrics: Metrics,
}

struct Control {
    trips: u32,
    rng: SplitMix64,
    sequence: u64,
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.shared.name)
            .field("state", &state_of(self.shared.word.load(Ordering::Relaxed)))
            .finish_non_exhaustive()
    }
}

enum Probe {
    Expired,
    Pending(Option<u64>),
}

impl Breaker {
    /// A breaker named `name` (the `service` label of its metrics; keep it low-cardinality, such
    /// as an API name, never an id or a secret).
    pub fn new(name: impl Into<Arc<str>>, config: BreakerConfig) -> Self {
        let name = name.into();
        let rng = config
            .jitter_seed
            .map_or_else(SplitMix64::from_entropy, SplitMix64::new);
        let slots = (0..config.half_open_probes)
            .map(|_| AtomicU64::new(DONE))
            .collect();
        let shared = Shared {
            metrics: Metrics::new(&name),
            window: Window::new(config.window, config.buckets, window::default_stripes()),
            name,
            epoch: Instant::now(),
            word: AtomicU64::new(pack(State::Closed, 0)),
            open_until: AtomicU64::new(0),
            consecutive: AtomicU32::new(0),
            slots,
            control: Mutex::new(Control {
                trips: 0,
                rng,
                sequence: 0,
            }),
            config,
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The breaker's configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.shared.config
    }

    /// `true` when both handles share one breaker.
    pub fn ptr_eq(&self, other: &Breaker) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    pub(crate) fn is_shared(&self) -> bool {
        Arc::strong_count(&self.shared) > 1
    }

    /// The current state. A half-open probe that has outlived the probe timeout is applied
    /// first (the breaker opens again), so a health check never sees a stuck half-open state.
    /// An open breaker stays open until the first call after its open duration.
    pub fn state(&self) -> State {
        let now = Instant::now();
        self.shared.refresh(now);
        state_of(self.shared.word.load(Ordering::Acquire))
    }

    /// A point-in-time view for health checks: state, window counts and rates, next probe time.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_at(Instant::now())
    }

    /// [`snapshot`](Breaker::snapshot) at an explicit `now` (on the tokio clock).
    pub fn snapshot_at(&self, now: Instant) -> Snapshot {
        let s = &*self.shared;
        s.refresh(now);
        let state = state_of(s.word.load(Ordering::Acquire));
        let n = s.nanos(now);
        let totals = s.window.totals(n);
        let rate = |part: u64| (totals.calls > 0).then(|| part as f64 / totals.calls as f64);
        let (next_probe_at, retry_after) = if state == State::Open {
            let until = s.open_until.load(Ordering::Acquire);
            (
                Some(s.epoch + Duration::from_nanos(until)),
                Some(Duration::from_nanos(until.saturating_sub(n))),
            )
        } else {
            (None, None)
        };
        let trips = s
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .trips;
        Snapshot {
            name: s.name.clone(),
            state,
            calls_in_window: totals.calls,
            failures_in_window: totals.failures,
            slow_calls_in_window: totals.slow,
            failure_rate: rate(totals.failures),
            slow_call_rate: rate(totals.slow),
            consecutive_failures: s.consecutive.load(Ordering::Relaxed),
            next_probe_at,
            retry_after,
            consecutive_trips: trips,
        }
    }

    /// Asks to make one call now.
    ///
    /// # Errors
    ///
    /// [`BreakerOpen`] when the breaker is open, forced open, or half-open with every probe slot
    /// taken; the call must not be made.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit, BreakerOpen> {
        self.acquire(None)
    }

    /// [`try_acquire`](Breaker::try_acquire) at an explicit `now` (on the tokio clock), for
    /// callers that keep their own time.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Breaker::try_acquire).
    pub fn try_acquire_at(&self, now: Instant) -> Result<Permit, BreakerOpen> {
        self.acquire(Some(now))
    }

    /// Forces the breaker open: every call fails fast until [`reset`](Breaker::reset).
    pub fn force_open(&self) {
        self.shared.transition(
            None,
            State::ForcedOpen,
            TransitionReason::ForcedOpen,
            Instant::now(),
        );
    }

    /// Disables the breaker: every call passes and nothing is recorded until
    /// [`reset`](Breaker::reset).
    pub fn disable(&self) {
        self.shared.transition(
            None,
            State::Disabled,
            TransitionReason::Disabled,
            Instant::now(),
        );
    }

    /// Closes the breaker with a clean slate: empty window, no failures in a row, and the open
    /// duration back to its base.
    pub fn reset(&self) {
        self.shared
            .transition(None, State::Closed, TransitionReason::Reset, Instant::now());
    }

    /// `true` when a call made now would be refused (used by `poll_ready`, which then does not
    /// wait for the inner service).
    #[inline]
    pub(crate) fn would_reject(&self) -> bool {
        let s = &*self.shared;
        let word = s.word.load(Ordering::Acquire);
        match state_of(word) {
            State::Closed | State::Disabled => false,
            State::ForcedOpen => true,
            State::Open => s.nanos(Instant::now()) < s.open_until.load(Ordering::Acquire),
            State::HalfOpen => {
                let free = slot_tag(generation_of(word)) | FREE;
                !s.slots
                    .iter()
                    .any(|slot| slot.load(Ordering::Acquire) == free)
            }
        }
    }

    pub(crate) fn reject_stale_readiness(&self) -> BreakerOpen {
        self.shared.reject(State::Open, Some(Duration::ZERO))
    }

    #[inline]
    fn acquire(&self, mut now: Option<Instant>) -> Result<Permit, BreakerOpen> {
        let s = &*self.shared;
        let slow_rule = s.config.slow_calls.is_some();
        loop {
            let word = s.word.load(Ordering::Acquire);
            match state_of(word) {
                State::Closed => {
                    let started = slow_rule.then(|| *now.get_or_insert_with(Instant::now));
                    return Ok(self.permit(Ticket::Closed { word }, started));
                }
                State::Disabled => return Ok(self.permit(Ticket::Passthrough, None)),
                State::ForcedOpen => return Err(s.reject(State::ForcedOpen, None)),
                State::Open => {
                    let at = *now.get_or_insert_with(Instant::now);
                    let n = s.nanos(at);
                    let until = s.open_until.load(Ordering::Acquire);
                    if n < until {
                        return Err(s.reject(State::Open, Some(Duration::from_nanos(until - n))));
                    }
                    s.transition(
                        Some(word),
                        State::HalfOpen,
                        TransitionReason::OpenElapsed,
                        at,
                    );
                }
                State::HalfOpen => {
                    let at = *now.get_or_insert_with(Instant::now);
                    let n = s.nanos(at);
                    let tag = slot_tag(generation_of(word));
                    let timeout =
                        u64::try_from(s.config.probe_timeout.as_nanos()).unwrap_or(u64::MAX);
                    let deadline_ms = n.saturating_add(timeout).div_ceil(NANOS_PER_MS);
                    let value = tag | (deadline_ms + 1).min(DONE - 1);
                    for (index, slot) in s.slots.iter().enumerate() {
                        if slot
                            .compare_exchange(
                                tag | FREE,
                                value,
                                Ordering::AcqRel,
                                Ordering::Acquire,
                            )
                            .is_ok()
                        {
                            let started = slow_rule.then_some(at);
                            return Ok(self.permit(Ticket::Probe { word, index, value }, started));
                        }
                    }
                    match s.probes(word, n) {
                        Probe::Expired => {
                            s.transition(
                                Some(word),
                                State::Open,
                                TransitionReason::ProbeTimedOut,
                                at,
                            );
                        }
                        Probe::Pending(earliest_ms) => {
                            let wait = earliest_ms.map(|ms| {
                                Duration::from_nanos(
                                    ms.saturating_mul(NANOS_PER_MS).saturating_sub(n),
                                )
                            });
                            return Err(s.reject(State::HalfOpen, wait));
                        }
                    }
                }
            }
        }
    }

    #[inline]
    fn permit(&self, ticket: Ticket, started: Option<Instant>) -> Permit {
        Permit {
            breaker: self.clone(),
            ticket,
            started,
        }
    }
}

impl Shared {
    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn reject(&self, state: State, retry_after: Option<Duration>) -> BreakerOpen {
        self.metrics.rejected();
        tracing::trace!(
            service = %self.name,
            state = state.as_str(),
            retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
            "circuit breaker rejected a call"
        );
        BreakerOpen::new(self.name.clone(), state, retry_after)
    }

    /// In half-open period `word`: has an unanswered probe outlived its deadline, and if not,
    /// when does the first one expire?
    fn probes(&self, word: u64, now_nanos: u64) -> Probe {
        let tag = slot_tag(generation_of(word));
        let now_ms = now_nanos / NANOS_PER_MS;
        let mut earliest: Option<u64> = None;
        for slot in self.slots.iter() {
            let value = slot.load(Ordering::Acquire);
            if value & !PAYLOAD_MASK != tag {
                continue;
            }
            if let Some(deadline) = in_flight_deadline_ms(value & PAYLOAD_MASK) {
                if deadline <= now_ms {
                    return Probe::Expired;
                }
                earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
            }
        }
        Probe::Pending(earliest)
    }

    /// Applies a due probe timeout.
    fn refresh(&self, now: Instant) {
        let word = self.word.load(Ordering::Acquire);
        if state_of(word) == State::HalfOpen {
            if let Probe::Expired = self.probes(word, self.nanos(now)) {
                self.transition(
                    Some(word),
                    State::Open,
                    TransitionReason::ProbeTimedOut,
                    now,
                );
            }
        }
    }

    #[inline]
    fn complete(&self, ticket: Ticket, outcome: Outcome, started: Option<Instant>, now: Instant) {
        let slow = match (self.config.slow_calls, started) {
            (Some(rule), Some(started)) => now.saturating_duration_since(started) >= rule.threshold,
            _ => false,
        };
        match ticket {
            Ticket::Closed { word } => {
                self.metrics.outcome(outcome);
                self.record_closed(word, outcome, slow, now);
            }
            Ticket::Probe { word, index, value } => {
                self.metrics.outcome(outcome);
                self.record_probe(word, index, value, outcome, slow, now);
            }
            Ticket::Passthrough | Ticket::Spent => {}
        }
    }

    #[inline]
    fn record_closed(&self, word: u64, outcome: Outcome, slow: bool, now: Instant) {
        let failure = match outcome {
            Outcome::Success => false,
            Outcome::Failure => true,
            // Neither a failure nor a success: they do not move the window either way.
            Outcome::Throttled { .. } | Outcome::Neutral => return,
        };
        if self.word.load(Ordering::Acquire) != word {
            return; // admitted in an earlier generation
        }
        let n = self.nanos(now);
        self.window.record(n, failure, slow);
        let mut reason = None;
        if failure {
            let count = self
                .consecutive
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                    Some(c.saturating_add(1))
                })
                .unwrap_or(u32::MAX)
                .saturating_add(1);
            if self
                .config
                .consecutive_failures
                .is_some_and(|limit| count >= limit)
            {
                reason = Some(TransitionReason::ConsecutiveFailures);
            }
        } else if self.consecutive.load(Ordering::Relaxed) != 0 {
            self.consecutive.store(0, Ordering::Relaxed);
        }
        if reason.is_none() && (failure || slow) {
            let totals = self.window.totals(n);
            if totals.calls >= u64::from(self.config.minimum_calls) {
                let calls = totals.calls as f64;
                if failure
                    && self
                        .config
                        .failure_rate
                        .is_some_and(|rate| totals.failures as f64 / calls >= rate)
                {
                    reason = Some(TransitionReason::FailureRate);
                } else if slow
                    && self
                        .config
                        .slow_calls
                        .is_some_and(|rule| totals.slow as f64 / calls >= rule.rate)
                {
                    reason = Some(TransitionReason::SlowCallRate);
                }
            }
        }
        if let Some(reason) = reason {
            self.transition(Some(word), State::Open, reason, now);
        }
    }

    fn record_probe(
        &self,
        word: u64,
        index: usize,
        value: u64,
        outcome: Outcome,
        slow: bool,
        now: Instant,
    ) {
        let tag = value & !PAYLOAD_MASK;
        let slot = &self.slots[index];
        match outcome {
            Outcome::Success if !slow => {
                // SeqCst: of two probes finishing at once, at least one sees both verdicts.
                if slot
                    .compare_exchange(value, tag | DONE, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                    && self
                        .slots
                        .iter()
                        .all(|s| s.load(Ordering::SeqCst) == tag | DONE)
                {
                    self.transition(
                        Some(word),
                        State::Closed,
                        TransitionReason::ProbesSucceeded,
                        now,
                    );
                }
            }
            Outcome::Success | Outcome::Failure => {
                if slot
                    .compare_exchange(value, tag | DONE, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    self.transition(Some(word), State::Open, TransitionReason::ProbeFailed, now);
                }
            }
            // No verdict: give the slot to the next caller.
            Outcome::Throttled { .. } | Outcome::Neutral => self.release(index, value),
        }
    }

    fn release(&self, index: usize, value: u64) {
        let tag = value & !PAYLOAD_MASK;
        let _ = self.slots[index].compare_exchange(
            value,
            tag | FREE,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Moves to `to` if the word is still `expected` (or unconditionally for `None`). Returns
    /// whether the state changed.
    fn transition(
        &self,
        expected: Option<u64>,
        to: State,
        reason: TransitionReason,
        now: Instant,
    ) -> bool {
        let change = {
            let mut control = self.control.lock().unwrap_or_else(PoisonError::into_inner);
            let word = self.word.load(Ordering::Acquire);
            if expected.is_some_and(|e| e != word) {
                return false;
            }
            let from = state_of(word);
            if from == to {
                if to == State::Closed {
                    // A reset of a closed breaker: clean slate, no state change to report.
                    self.window.clear();
                    self.consecutive.store(0, Ordering::Relaxed);
                    control.trips = 0;
                }
                return false;
            }
            let generation = generation_of(word) + 1;
            if from == State::HalfOpen {
                // Seal the old period's slots: late probes can neither reserve nor report.
                let sealed = slot_tag(generation_of(word)) | DONE;
                for slot in self.slots.iter() {
                    slot.store(sealed, Ordering::Release);
                }
            }
            let mut open_for = None;
            match to {
                State::Open => {
                    control.trips = control.trips.saturating_add(1);
                    let config = &self.config;
                    let nominal = jitter::nominal(
                        config.open_duration,
                        config.open_multiplier,
                        config.max_open_duration,
                        control.trips,
                    );
                    let wait = if config.jitter > 0.0 {
                        jitter::jittered(nominal, config.jitter, control.rng.next_unit())
                    } else {
                        nominal
                    };
                    let wait_nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
                    self.open_until.store(
                        self.nanos(now).saturating_add(wait_nanos),
                        Ordering::Release,
                    );
                    open_for = Some(wait);
                }
                State::HalfOpen => {
                    let free = slot_tag(generation) | FREE;
                    for slot in self.slots.iter() {
                        slot.store(free, Ordering::Release);
                    }
                }
                State::Closed => {
                    self.window.clear();
                    self.consecutive.store(0, Ordering::Relaxed);
                    control.trips = 0;
                }
                State::ForcedOpen | State::Disabled => {}
            }
            self.word.store(pack(to, generation), Ordering::Release);
            self.metrics.state(to);
            control.sequence += 1;
            StateChange {
                name: self.name.clone(),
                from,
                to,
                reason,
                at: now,
                open_for,
                sequence: control.sequence,
            }
        };
        self.publish(&change);
        true
    }

    fn publish(&self, change: &StateChange) {
        self.metrics.transition(change.from, change.to);
        let open_for_ms = change.open_for.map(|d| d.as_millis() as u64);
        match change.to {
            State::Open | State::ForcedOpen => tracing::warn!(
                service = %self.name,
                from = change.from.as_str(),
                to = change.to.as_str(),
                reason = change.reason.as_str(),
                open_for_ms,
                "circuit breaker opened"
            ),
            State::Closed => tracing::info!(
                service = %self.name,
                from = change.from.as_str(),
                to = change.to.as_str(),
                reason = change.reason.as_str(),
                "circuit breaker closed"
            ),
            State::HalfOpen | State::Disabled => tracing::info!(
                service = %self.name,
                from = change.from.as_str(),
                to = change.to.as_str(),
                reason = change.reason.as_str(),
                "circuit breaker changed state"
            ),
        }
        if let Some(listener) = &self.config.listener {
            listener(change);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Ticket {
    Closed { word: u64 },
    Probe { word: u64, index: usize, value: u64 },
    Passthrough,
    Spent,
}

/// Leave to make one call through a [`Breaker`]; report how it went with
/// [`record`](Permit::record).
///
/// Dropping a permit without recording (the call was cancelled) records nothing; a half-open
/// probe slot it held is given back, so the next caller can probe instead.
#[must_use = "record the call's outcome, or drop the permit to release it without a verdict"]
pub struct Permit {
    breaker: Breaker,
    ticket: Ticket,
    started: Option<Instant>,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.shared.name)
            .field("probe", &self.is_probe())
            .finish()
    }
}

impl Permit {
    /// `true` when this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        matches!(self.ticket, Ticket::Probe { .. })
    }

    /// Records the call's outcome now.
    #[inline]
    pub fn record(self, outcome: Outcome) {
        self.record_at(outcome, Instant::now());
    }

    /// Records the call's outcome at an explicit `now` (on the tokio clock).
    #[inline]
    pub fn record_at(mut self, outcome: Outcome, now: Instant) {
        let ticket = std::mem::replace(&mut self.ticket, Ticket::Spent);
        self.breaker
            .shared
            .complete(ticket, outcome, self.started, now);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ticket::Probe { index, value, .. } = self.ticket {
            self.breaker.shared.release(index, value);
        }
    }
}
