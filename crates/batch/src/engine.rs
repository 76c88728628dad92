//! The run loop shared by every `process*` method.
//!
//! Work is split into units (one item, or one chunk of items). The loop keeps at most
//! `concurrency` units running on the caller's task (a `FuturesUnordered`), pulls the next
//! unit from the input only when there is room for it, makes it wait on the rate gate, and
//! turns every finished unit into exactly one record per item. Panics are caught per unit.

use crate::gate::{ChunkPermits, GateFuture, RateGate};
use crate::progress::{Progress, ProgressCallback, Tracker};
use crate::record::{ItemError, ItemOutcome, ItemRecord};
use crate::result::BatchStats;
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::num::NonZeroU32;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Streaming output is handed to the writer in blocks of about this many bytes.
pub(crate) const FLUSH_BYTES: usize = 64 * 1024;

/// How often (in records) progress is published while recording not-started items as
/// cancelled.
const CANCEL_PUBLISH_EVERY: u64 = 4096;

/// What the loop needs from the processor.
pub(crate) struct Settings<'a> {
    pub(crate) concurrency: usize,
    pub(crate) gate: Option<&'a dyn RateGate>,
    pub(crate) permits: ChunkPermits,
    pub(crate) cancel: &'a CancellationToken,
    pub(crate) progress: &'a watch::Sender<Progress>,
    pub(crate) callback: Option<&'a ProgressCallback>,
}

/// What one unit of work returned.
pub(crate) enum UnitOutput<T, E> {
    /// A single item's result.
    Single(Result<T, E>),
    /// A chunk call's result: per-item results in input order, or one error for the chunk.
    Chunk(Result<Vec<Result<T, E>>, E>),
}

/// The final status of a record, as counted.
#[derive(Clone, Copy)]
pub(crate) enum Status {
    Succeeded,
    Failed,
    Cancelled,
}

fn status_of<T, E>(outcome: &ItemOutcome<T, E>) -> Status {
    match outcome {
        ItemOutcome::Succeeded(_) => Status::Succeeded,
        ItemOutcome::Failed(_) => Status::Failed,
        ItemOutcome::Cancelled => Status::Cancelled,
    }
}

/// Where records go.
pub(crate) trait Sink<K, T, E> {
    /// Whether the output is broken (the run must stop starting items).
    fn failed(&self) -> bool;
    /// Takes a record; returns its final status.
    async fn accept(&mut self, record: ItemRecord<K, T, E>) -> Status;
    /// Flushes what is buffered.
    async fn finish(&mut self);
}

/// Records kept in memory, sorted into input order at the end.
pub(crate) struct MemorySink<K, T, E> {
    records: Vec<ItemRecord<K, T, E>>,
}

impl<K, T, E> MemorySink<K, T, E> {
    pub(crate) fn new() -> Self {
        Self {
            records: Vec::new(),
        }
    }

    /// The records in input order.
    pub(crate) fn into_records(self) -> Vec<ItemRecord<K, T, E>> {
        let mut records = self.records;
        // Indices are distinct and contiguous from 0, so this puts record `i` at position `i`.
        records.sort_unstable_by_key(|record| record.index);
        debug_assert!(records.iter().enumerate().all(|(i, r)| r.index == i));
        records
    }
}

impl<K, T, E> Sink<K, T, E> for MemorySink<K, T, E> {
    fn failed(&self) -> bool {
        false
    }

    async fn accept(&mut self, record: ItemRecord<K, T, E>) -> Status {
        let status = status_of(&record.outcome);
        self.records.push(record);
        status
    }

    async fn finish(&mut self) {}
}

/// Records written as JSON Lines as they complete.
pub(crate) struct StreamSink<'w, K, T, E, W> {
    writer: &'w mut W,
    buf: Vec<u8>,
    buffered: u64,
    pub(crate) written: u64,
    pub(crate) first_failures: Vec<ItemRecord<K, T, E>>,
    failure_cap: usize,
    pub(crate) error: Option<io::Error>,
}

impl<'w, K, T, E, W> StreamSink<'w, K, T, E, W> {
    pub(crate) fn new(writer: &'w mut W, failure_cap: usize) -> Self {
        Self {
            writer,
            buf: Vec::with_capacity(FLUSH_BYTES + 4096),
            buffered: 0,
            written: 0,
            first_failures: Vec::new(),
            failure_cap,
            error: None,
        }
    }
}

impl<K, T, E, W: AsyncWrite + Unpin> StreamSink<'_, K, T, E, W> {
    async fn flush_buffer(&mut self) {
        if self.error.is_some() || self.buf.is_empty() {
            self.buf.clear();
            return;
        }
        match self.writer.write_all(&self.buf).await {
            Ok(()) => self.written += self.buffered,
            Err(error) => self.error = Some(error),
        }
        self.buffered = 0;
        self.buf.clear();
    }
}

impl<K, T, E, W> Sink<K, T, E> for StreamSink<'_, K, T, E, W>
where
    K: Serialize,
    T: Serialize,
    E: fmt::Display,
    W: AsyncWrite + Unpin,
{
    fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// A record whose value cannot be serialized is written, and counted, as failed.
    async fn accept(&mut self, record: ItemRecord<K, T, E>) -> Status {
        let status = status_of(&record.outcome);
        if self.error.is_some() {
            // The output is broken: the record is counted, not written.
            return status;
        }
        let mark = self.buf.len();
        let status = match serde_json::to_writer(&mut self.buf, &record) {
            Ok(()) => status,
            Err(error) => {
                self.buf.truncate(mark);
                let fallback = serde_json::json!({
                    "index": record.index,
                    "status": "failed",
                    "error_kind": "serialize",
                    "error": format!("the result could not be serialized: {error}"),
                });
                // A `serde_json::Value` always serializes.
                let _ = serde_json::to_writer(&mut self.buf, &fallback);
                Status::Failed
            }
        };
        self.buf.push(b'\n');
        self.buffered += 1;
        if matches!(record.outcome, ItemOutcome::Failed(_))
            && self.first_failures.len() < self.failure_cap
        {
            self.first_failures.push(record);
        }
        if self.buf.len() >= FLUSH_BYTES {
            self.flush_buffer().await;
        }
        status
    }

    async fn finish(&mut self) {
        self.flush_buffer().await;
        if self.error.is_none() {
            if let Err(error) = self.writer.flush().await {
                self.error = Some(error);
            }
        }
    }
}

/// A unit taken from the input and not yet started.
struct Unit<I, K> {
    first: usize,
    chunk: usize,
    keys: Vec<K>,
    items: Vec<I>,
}

/// What a running unit carries besides its future.
struct Meta<K> {
    first: usize,
    chunk: usize,
    keys: Vec<K>,
}

type Panic = Box<dyn Any + Send + 'static>;

/// Starts a unit: calls the operation (catching a panic in the call itself) and wraps its
/// future so that a panic while it runs is caught too.
fn launch<I, K, T, E, U, UF>(
    make: &mut U,
    unit: Unit<I, K>,
) -> impl Future<Output = (Meta<K>, Result<UnitOutput<T, E>, Panic>)> + use<I, K, T, E, U, UF>
where
    U: FnMut(Vec<I>) -> UF,
    UF: Future<Output = UnitOutput<T, E>>,
{
    let Unit {
        first,
        chunk,
        keys,
        items,
    } = unit;
    let meta = Meta { first, chunk, keys };
    let started = catch_unwind(AssertUnwindSafe(|| make(items)));
    async move {
        let output = match started {
            Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
            Err(panic) => Err(panic),
        };
        (meta, output)
    }
}

fn panic_message(panic: &Panic) -> String {
    if let Some(message) = panic.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// Maps what a unit returned to exactly `n` outcomes; results beyond `n` are counted in
/// `unmatched`.
fn outcomes<T, E>(
    chunk: usize,
    n: usize,
    output: Result<UnitOutput<T, E>, Panic>,
    unmatched: &mut u64,
) -> Vec<ItemOutcome<T, E>> {
    let results = match output {
        Err(panic) => {
            let message = panic_message(&panic);
            return (0..n)
                .map(|_| {
                    ItemOutcome::Failed(ItemError::Panicked {
                        message: message.clone(),
                    })
                })
                .collect();
        }
        Ok(UnitOutput::Chunk(Err(error))) => {
            let error = Arc::new(error);
            return (0..n)
                .map(|_| {
                    ItemOutcome::Failed(ItemError::Chunk {
                        chunk,
                        error: Arc::clone(&error),
                    })
                })
                .collect();
        }
        Ok(UnitOutput::Single(result)) => vec![result],
        Ok(UnitOutput::Chunk(Ok(results))) => results,
    };
    let returned = results.len();
    if returned > n {
        let extra = returned - n;
        *unmatched += extra as u64;
        tracing::warn!(
            chunk,
            expected = n,
            returned,
            "batch chunk returned {extra} more results than items; the extra results match no input"
        );
    } else if returned < n {
        tracing::warn!(
            chunk,
            expected = n,
            returned,
            "batch chunk returned fewer results than items; the items without one are failed"
        );
    }
    let mut mapped: Vec<ItemOutcome<T, E>> = results
        .into_iter()
        .take(n)
        .map(|result| match result {
            Ok(value) => ItemOutcome::Succeeded(value),
            Err(error) => ItemOutcome::Failed(ItemError::Operation(error)),
        })
        .collect();
    mapped.extend((returned..n).map(|_| {
        ItemOutcome::Failed(ItemError::MissingResult {
            chunk,
            expected: n,
            returned,
        })
    }));
    mapped
}

/// Counts, progress and output of one run.
struct State<'o, 's, S> {
    out: &'o mut S,
    tracker: Tracker<'s>,
    stats: BatchStats,
    pending_records: usize,
    in_flight_items: u64,
}

impl<S> State<'_, '_, S> {
    fn took(&mut self, n: usize) {
        self.pending_records += n;
        self.stats.peak_pending_records = self.stats.peak_pending_records.max(self.pending_records);
    }

    async fn emit<K, T, E>(&mut self, record: ItemRecord<K, T, E>)
    where
        S: Sink<K, T, E>,
    {
        match self.out.accept(record).await {
            Status::Succeeded => {
                self.stats.succeeded += 1;
                self.tracker.succeeded();
            }
            Status::Failed => {
                self.stats.failed += 1;
                self.tracker.failed();
            }
            Status::Cancelled => {
                self.stats.cancelled += 1;
                self.tracker.cancelled();
            }
        }
        self.pending_records -= 1;
    }

    async fn cancel_unit<I, K, T, E>(&mut self, unit: Unit<I, K>)
    where
        S: Sink<K, T, E>,
    {
        drop(unit.items);
        for (offset, key) in unit.keys.into_iter().enumerate() {
            let record = ItemRecord {
                index: unit.first + offset,
                key,
                outcome: ItemOutcome::Cancelled,
            };
            self.emit(record).await;
        }
    }

    async fn fail_unit<I, K, T, E>(
        &mut self,
        unit: Unit<I, K>,
        error: Arc<dyn std::error::Error + Send + Sync>,
    ) where
        S: Sink<K, T, E>,
    {
        drop(unit.items);
        for (offset, key) in unit.keys.into_iter().enumerate() {
            let record = ItemRecord {
                index: unit.first + offset,
                key,
                outcome: ItemOutcome::Failed(ItemError::RateGate {
                    error: Arc::clone(&error),
                }),
            };
            self.emit(record).await;
        }
    }

    async fn finish_unit<K, T, E>(&mut self, meta: Meta<K>, output: Result<UnitOutput<T, E>, Panic>)
    where
        S: Sink<K, T, E>,
    {
        let n = meta.keys.len();
        self.in_flight_items -= n as u64;
        self.tracker.set_in_flight(self.in_flight_items);
        let outcomes = outcomes(meta.chunk, n, output, &mut self.stats.unmatched_results);
        for (offset, (key, outcome)) in meta.keys.into_iter().zip(outcomes).enumerate() {
            let record = ItemRecord {
                index: meta.first + offset,
                key,
                outcome,
            };
            self.emit(record).await;
        }
    }
}

/// Runs `items` through `make` in units of `unit_size`, emitting one record per item to `out`.
pub(crate) async fn drive<It, I, K, KF, U, UF, T, E, S>(
    settings: &Settings<'_>,
    items: It,
    mut key_fn: KF,
    unit_size: usize,
    mut make: U,
    out: &mut S,
) -> BatchStats
where
    It: Iterator<Item = I>,
    KF: FnMut(&I) -> K,
    U: FnMut(Vec<I>) -> UF,
    UF: Future<Output = UnitOutput<T, E>>,
    S: Sink<K, T, E>,
{
    let mut items = items;
    let (low, high) = items.size_hint();
    let total_hint = (high == Some(low)).then_some(low as u64);
    let mut state = State {
        out,
        tracker: Tracker::new(total_hint, settings.progress, settings.callback),
        stats: BatchStats::default(),
        pending_records: 0,
        in_flight_items: 0,
    };
    state.tracker.publish(false);

    let mut running = FuturesUnordered::new();
    let mut pending: Option<Unit<I, K>> = None;
    let mut gate_wait: Option<GateFuture<'_>> = None;
    let mut next_index = 0usize;
    let mut next_chunk = 0usize;
    let mut exhausted = false;
    let mut stopping = false;

    loop {
        // Stop starting work once cancelled or once the output is broken.
        if !stopping && (settings.cancel.is_cancelled() || state.out.failed()) {
            stopping = true;
            gate_wait = None;
            if let Some(unit) = pending.take() {
                state.cancel_unit::<I, K, T, E>(unit).await;
                state.tracker.publish(false);
            }
        }
        // Take the next unit from the input when there is room to run it.
        if !stopping && pending.is_none() && !exhausted && running.len() < settings.concurrency {
            let batch: Vec<I> = items.by_ref().take(unit_size).collect();
            if batch.is_empty() {
                exhausted = true;
                state.tracker.set_total(next_index as u64);
            } else {
                let n = batch.len();
                let keys = batch.iter().map(&mut key_fn).collect();
                state.took(n);
                pending = Some(Unit {
                    first: next_index,
                    chunk: next_chunk,
                    keys,
                    items: batch,
                });
                next_index += n;
                next_chunk += 1;
                if let Some(gate) = settings.gate {
                    let permits = match settings.permits {
                        ChunkPermits::PerChunk => NonZeroU32::MIN,
                        ChunkPermits::PerItem => u32::try_from(n)
                            .ok()
                            .and_then(NonZeroU32::new)
                            .unwrap_or(NonZeroU32::MAX),
                    };
                    gate_wait = Some(gate.acquire(permits));
                }
            }
        }
        // Start it as soon as the gate (if any) let it through.
        if gate_wait.is_none() {
            if let Some(unit) = pending.take() {
                let n = unit.items.len();
                running.push(launch(&mut make, unit));
                state.in_flight_items += n as u64;
                state.tracker.set_in_flight(state.in_flight_items);
                state.stats.peak_in_flight = state.stats.peak_in_flight.max(running.len());
                continue;
            }
        }
        if pending.is_none() && running.is_empty() && (exhausted || stopping) {
            break;
        }
        tokio::select! {
            biased;
            () = settings.cancel.cancelled(), if !stopping => {
                // Handled at the top of the loop.
            }
            Some((meta, output)) = running.next(), if !running.is_empty() => {
                state.finish_unit(meta, output).await;
                state.tracker.publish(false);
            }
            granted = async { match gate_wait.as_mut() { Some(wait) => wait.await, None => Ok(()) } },
                if gate_wait.is_some() =>
            {
                gate_wait = None;
                if let Err(error) = granted {
                    if let Some(unit) = pending.take() {
                        state
                            .fail_unit::<I, K, T, E>(unit, ItemError::<E>::rate_gate(error))
                            .await;
                        state.tracker.publish(false);
                    }
                }
            }
            else => break,
        }
    }

    // Anything taken but not started (only reachable through `else`) is cancelled, not lost.
    if let Some(unit) = pending.take() {
        state.cancel_unit::<I, K, T, E>(unit).await;
    }
    // Items never taken from the input: one cancelled record each.
    if stopping {
        let mut since_publish = 0u64;
        for item in items.by_ref() {
            let key = key_fn(&item);
            drop(item);
            state.took(1);
            let record = ItemRecord {
                index: next_index,
                key,
                outcome: ItemOutcome::Cancelled,
            };
            next_index += 1;
            state.emit(record).await;
            since_publish += 1;
            if since_publish == CANCEL_PUBLISH_EVERY {
                since_publish = 0;
                state.tracker.publish(false);
            }
        }
        state.tracker.set_total(next_index as u64);
    }

    state.out.finish().await;
    state.stats.total = next_index as u64;
    state.stats.duration = state.tracker.started().elapsed();
    state.tracker.set_in_flight(0);
    state.tracker.publish(true);
    tracing::debug!(
        total = state.stats.total,
        succeeded = state.stats.succeeded,
        failed = state.stats.failed,
        cancelled = state.stats.cancelled,
        duration_s = state.stats.duration.as_secs_f64(),
        "batch run finished"
    );
    debug_assert_eq!(
        state.stats.total,
        state.stats.succeeded + state.stats.failed + state.stats.cancelled
    );
    debug_assert_eq!(state.tracker.snapshot().done, state.stats.total);
    state.stats
}
