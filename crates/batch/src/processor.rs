//! `BatchProcessor`: configuration and the `process*` entry points.

use crate::engine::{self, MemorySink, Settings, StreamSink, UnitOutput};
use crate::error::{BatchError, ConfigError};
use crate::gate::{ChunkPermits, ItemRate, RateGate};
use crate::progress::{Progress, ProgressCallback, ProgressStream};
use crate::result::{BatchResult, StreamedBatch};
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use tokio::io::AsyncWrite;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Default number of items (or chunks) in flight at once (as in the library this replaces).
pub const DEFAULT_CONCURRENCY: usize = 5;
/// Default chunk size for [`BatchProcessor::process_chunks`] (HubSpot's batch endpoints take
/// up to 100 inputs).
pub const DEFAULT_CHUNK_SIZE: usize = 100;
/// Default number of failed records a streaming run keeps in memory for its summary.
pub const DEFAULT_FAILURE_SAMPLE: usize = 100;

/// Runs an async operation over many items with bounded concurrency, an optional rate,
/// chunking, progress events and cancellation, and accounts for every item.
///
/// See the [crate documentation](crate) for the model. Clones share the rate gate, the
/// cancellation token and the progress channel. Run one batch at a time per processor (or
/// per clone family) if you watch its progress: concurrent runs publish to the same channel.
#[derive(Clone)]
pub struct BatchProcessor {
    concurrency: usize,
    chunk_size: usize,
    chunk_permits: ChunkPermits,
    failure_sample: usize,
    gate: Option<Arc<dyn RateGate>>,
    cancel: CancellationToken,
    callback: Option<ProgressCallback>,
    progress: Arc<watch::Sender<Progress>>,
}

impl fmt::Debug for BatchProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("concurrency", &self.concurrency)
            .field("chunk_size", &self.chunk_size)
            .field("chunk_permits", &self.chunk_permits)
            .field("failure_sample", &self.failure_sample)
            .field("gate", &self.gate)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("on_progress", &self.callback.is_some())
            .finish()
    }
}

impl Default for BatchProcessor {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchProcessor {
    /// A processor with the defaults: concurrency 5, no rate, chunks of 100, no cancellation.
    pub fn new() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            chunk_size: DEFAULT_CHUNK_SIZE,
            chunk_permits: ChunkPermits::default(),
            failure_sample: DEFAULT_FAILURE_SAMPLE,
            gate: None,
            cancel: CancellationToken::new(),
            callback: None,
            progress: Arc::new(watch::Sender::new(Progress::default())),
        }
    }

    /// A builder starting from the defaults.
    pub fn builder() -> BatchProcessorBuilder {
        BatchProcessorBuilder {
            processor: Self::new(),
            rate: None,
            concurrency: DEFAULT_CONCURRENCY,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// The most items (or chunks) in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The chunk size used by the `process_chunks*` methods.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The token that cancels this processor's runs. Cancelling it stops every current and
    /// later run from starting items.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// A stream of progress snapshots for the next run (subscribe before starting it). It
    /// ends after the run's final snapshot.
    pub fn progress(&self) -> ProgressStream {
        ProgressStream::new(self.progress.subscribe())
    }

    fn settings(&self) -> Settings<'_> {
        Settings {
            concurrency: self.concurrency,
            gate: self.gate.as_deref(),
            permits: self.chunk_permits,
            cancel: &self.cancel,
            progress: &self.progress,
            callback: self.callback.as_ref(),
        }
    }

    /// Runs `op` once per item and returns one record per item, in input order.
    ///
    /// `op` is the call itself (typically a client method whose tower stack already retries,
    /// rate-limits and breaks circuits): the batch does not retry, so an item is attempted
    /// exactly as often as the client's policy decides.
    pub async fn process<It, I, F, Fut, T, E>(&self, items: It, op: F) -> BatchResult<(), T, E>
    where
        It: IntoIterator<Item = I>,
        F: Fn(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.process_keyed(items, |_: &I| (), op).await
    }

    /// Like [`process`](Self::process), with a key derived from each item (an id, an email)
    /// kept in its record.
    pub async fn process_keyed<It, I, K, KF, F, Fut, T, E>(
        &self,
        items: It,
        key: KF,
        op: F,
    ) -> BatchResult<K, T, E>
    where
        It: IntoIterator<Item = I>,
        KF: FnMut(&I) -> K,
        F: Fn(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut sink = MemorySink::new();
        let stats = engine::drive(
            &self.settings(),
            items.into_iter(),
            key,
            1,
            |items: Vec<I>| single_unit(&op, items),
            &mut sink,
        )
        .await;
        BatchResult {
            stats,
            records: sink.into_records(),
        }
    }

    /// Runs a batch-endpoint operation over chunks of [`chunk_size`](Self::chunk_size) items
    /// (default 100), mapping its per-item results back to the items, in input order.
    ///
    /// `op` gets a chunk's items in input order and returns either one result per item, in the
    /// same order, or an error for the whole chunk:
    ///
    /// - a chunk-level `Err` fails every item of the chunk with
    ///   [`ItemError::Chunk`](crate::ItemError::Chunk) (the error shared through an `Arc`);
    /// - fewer results than items: the items without one fail with
    ///   [`ItemError::MissingResult`](crate::ItemError::MissingResult);
    /// - more results than items: the extra ones match no input; they are counted in
    ///   [`BatchStats::unmatched_results`](crate::BatchStats::unmatched_results) and logged.
    ///
    /// Results are matched by position, so an API that answers in its own order (or leaves
    /// out items it did not find) must be re-ordered by `op`, for example by id, putting an
    /// `Err` where an item has no answer.
    pub async fn process_chunks<It, I, F, Fut, T, E>(
        &self,
        items: It,
        op: F,
    ) -> BatchResult<(), T, E>
    where
        It: IntoIterator<Item = I>,
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = Result<Vec<Result<T, E>>, E>>,
    {
        self.process_chunks_keyed(items, |_: &I| (), op).await
    }

    /// Like [`process_chunks`](Self::process_chunks), with a key derived from each item.
    pub async fn process_chunks_keyed<It, I, K, KF, F, Fut, T, E>(
        &self,
        items: It,
        key: KF,
        op: F,
    ) -> BatchResult<K, T, E>
    where
        It: IntoIterator<Item = I>,
        KF: FnMut(&I) -> K,
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = Result<Vec<Result<T, E>>, E>>,
    {
        let mut sink = MemorySink::new();
        let stats = engine::drive(
            &self.settings(),
            items.into_iter(),
            key,
            self.chunk_size,
            |items: Vec<I>| {
                let call = op(items);
                async move { UnitOutput::Chunk(call.await) }
            },
            &mut sink,
        )
        .await;
        BatchResult {
            stats,
            records: sink.into_records(),
        }
    }

    /// Runs `op` once per item and writes each record to `writer` as one JSON Lines object as
    /// soon as it completes (completion order; each line carries its `index`), keeping only the
    /// counts and the first failures in memory.
    ///
    /// The line format is described on [`ItemRecord`](crate::ItemRecord)'s `Serialize`
    /// implementation. The writer is flushed at the end.
    ///
    /// # Errors
    ///
    /// [`BatchError::Write`] when writing fails: the run starts no new item, lets the items in
    /// flight finish, and reports the counts and how many records were written.
    pub async fn process_to_writer<It, I, K, KF, F, Fut, T, E, W>(
        &self,
        items: It,
        key: KF,
        op: F,
        writer: &mut W,
    ) -> Result<StreamedBatch<K, T, E>, BatchError>
    where
        It: IntoIterator<Item = I>,
        KF: FnMut(&I) -> K,
        F: Fn(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Serialize,
        T: Serialize,
        E: fmt::Display,
        W: AsyncWrite + Unpin,
    {
        let mut sink = StreamSink::new(writer, self.failure_sample);
        let stats = engine::drive(
            &self.settings(),
            items.into_iter(),
            key,
            1,
            |items: Vec<I>| single_unit(&op, items),
            &mut sink,
        )
        .await;
        streamed(stats, sink)
    }

    /// The chunked form of [`process_to_writer`](Self::process_to_writer): chunks as in
    /// [`process_chunks`](Self::process_chunks), records streamed as JSON Lines.
    ///
    /// # Errors
    ///
    /// [`BatchError::Write`] when writing fails (see
    /// [`process_to_writer`](Self::process_to_writer)).
    pub async fn process_chunks_to_writer<It, I, K, KF, F, Fut, T, E, W>(
        &self,
        items: It,
        key: KF,
        op: F,
        writer: &mut W,
    ) -> Result<StreamedBatch<K, T, E>, BatchError>
    where
        It: IntoIterator<Item = I>,
        KF: FnMut(&I) -> K,
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = Result<Vec<Result<T, E>>, E>>,
        K: Serialize,
        T: Serialize,
        E: fmt::Display,
        W: AsyncWrite + Unpin,
    {
        let mut sink = StreamSink::new(writer, self.failure_sample);
        let stats = engine::drive(
            &self.settings(),
            items.into_iter(),
            key,
            self.chunk_size,
            |items: Vec<I>| {
                let call = op(items);
                async move { UnitOutput::Chunk(call.await) }
            },
            &mut sink,
        )
        .await;
        streamed(stats, sink)
    }
}

/// Runs a unit of one item: calls `op` at once (so a panic in the call itself surfaces where the
/// engine makes the unit) and wraps its future. An empty unit is never made; it would map to no
/// result.
fn single_unit<I, T, E, F, Fut>(
    op: &F,
    items: Vec<I>,
) -> impl Future<Output = UnitOutput<T, E>> + use<I, T, E, F, Fut>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let call = items.into_iter().next().map(op);
    async move {
        match call {
            Some(future) => UnitOutput::Single(future.await),
            None => UnitOutput::Chunk(Ok(Vec::new())),
        }
    }
}

fn streamed<K, T, E, W>(
    stats: crate::BatchStats,
    sink: StreamSink<'_, K, T, E, W>,
) -> Result<StreamedBatch<K, T, E>, BatchError> {
    let StreamSink {
        written,
        first_failures,
        error,
        ..
    } = sink;
    match error {
        None => Ok(StreamedBatch {
            stats,
            first_failures,
            written,
        }),
        Some(source) => Err(BatchError::Write {
            source,
            written,
            stats: Box::new(stats),
        }),
    }
}

/// Builds a [`BatchProcessor`], validating its settings.
#[must_use]
pub struct BatchProcessorBuilder {
    processor: BatchProcessor,
    rate: Option<f64>,
    concurrency: usize,
    chunk_size: usize,
}

impl fmt::Debug for BatchProcessorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchProcessorBuilder")
            .field("processor", &self.processor)
            .field("rate", &self.rate)
            .field("concurrency", &self.concurrency)
            .field("chunk_size", &self.chunk_size)
            .finish()
    }
}

impl BatchProcessorBuilder {
    /// The most items (or chunks) in flight at once (default [`DEFAULT_CONCURRENCY`]).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Starts at most `items_per_second` items per second, evenly spaced (an [`ItemRate`]
    /// with burst 1). Replaces any gate set before.
    pub fn rate_per_second(mut self, items_per_second: f64) -> Self {
        self.rate = Some(items_per_second);
        self.processor.gate = None;
        self
    }

    /// Makes every item (or chunk) wait on `gate` before it starts: a rate shared with other
    /// batches or callers. Replaces any rate set before.
    pub fn rate_gate(mut self, gate: impl RateGate + 'static) -> Self {
        self.processor.gate = Some(Arc::new(gate));
        self.rate = None;
        self
    }

    /// Like [`rate_gate`](Self::rate_gate), for a gate already behind an `Arc`.
    pub fn shared_rate_gate(mut self, gate: Arc<dyn RateGate>) -> Self {
        self.processor.gate = Some(gate);
        self.rate = None;
        self
    }

    /// The number of items per chunk for the `process_chunks*` methods (default
    /// [`DEFAULT_CHUNK_SIZE`]).
    pub fn chunk_size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size;
        self
    }

    /// How many gate permits a chunk takes (default [`ChunkPermits::PerItem`]).
    pub fn chunk_permits(mut self, permits: ChunkPermits) -> Self {
        self.processor.chunk_permits = permits;
        self
    }

    /// Cancels runs when `token` is cancelled: items not started are recorded as cancelled,
    /// items in flight finish. Pass a child token to cancel one processor without the others.
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.processor.cancel = token;
        self
    }

    /// Calls `callback` with a snapshot after every change (on the run's task: keep it quick).
    pub fn on_progress(mut self, callback: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.processor.callback = Some(Arc::new(callback));
        self
    }

    /// How many failed records a streaming run keeps for its summary (default
    /// [`DEFAULT_FAILURE_SAMPLE`]; 0 keeps none). Every failure is in the output either way.
    pub fn failure_sample(mut self, failures: usize) -> Self {
        self.processor.failure_sample = failures;
        self
    }

    /// Checks the settings and builds the processor.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroConcurrency`], [`ConfigError::ZeroChunkSize`], or
    /// [`ConfigError::InvalidRate`] for a rate that is not a finite number above 0.
    pub fn build(self) -> Result<BatchProcessor, ConfigError> {
        let Self {
            mut processor,
            rate,
            concurrency,
            chunk_size,
        } = self;
        if concurrency == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        if chunk_size == 0 {
            return Err(ConfigError::ZeroChunkSize);
        }
        if let Some(rate) = rate {
            processor.gate = Some(Arc::new(ItemRate::per_second(rate)?));
        }
        processor.concurrency = concurrency;
        processor.chunk_size = chunk_size;
        Ok(processor)
    }
}
