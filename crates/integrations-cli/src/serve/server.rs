//! The server: listener, worker pool, spool resume and graceful shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use obs_health::{HealthChecker, HealthService};
use obs_metrics::PrometheusExporter;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{Mutex as AsyncMutex, Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tower::Layer;
use webhook_verify::{HubSpotVerifier, MemoryReplayGuard, VerifyWebhookLayer};

use super::router::{Enqueue, Router};
use super::spool::{Job, load_spool, write_spool};
use crate::error::CliError;
use crate::sync::{ResultSink, SyncEngine, SyncProgress, SyncSummary};

/// The webhook path.
pub const WEBHOOK_PATH: &str = "/webhooks/hubspot";

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Deliveries waiting for a worker (a full queue answers 503).
    pub queue_capacity: usize,
    /// Workers.
    pub workers: usize,
    /// Spool file (resumed at start, written at shutdown); `None` keeps nothing.
    pub spool: Option<PathBuf>,
    /// The HubSpot app's client secret.
    pub secret: String,
    /// The public base URL HubSpot calls (for v2/v3 signatures).
    pub public_url: Option<String>,
    /// Reconstruct the signed URI with `http://` (local use without a TLS proxy).
    pub plain_http: bool,
    /// How long in-flight work may take to finish at shutdown before it is spooled too.
    pub drain: Duration,
}

/// Counters of a running or stopped server.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServeStats {
    /// Deliveries accepted (204).
    pub accepted: u64,
    /// Deliveries refused because the queue was full (503).
    pub rejected_queue_full: u64,
    /// Contacts in accepted deliveries.
    pub contacts_accepted: u64,
    /// Jobs resumed from the spool at start.
    pub resumed: u64,
    /// Jobs finished.
    pub jobs_done: u64,
    /// Jobs written to the spool at shutdown.
    pub spooled: u64,
    /// Counts over every contact synced.
    pub sync: SyncSummary,
}

/// State shared by the routes and the workers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) tx: mpsc::Sender<Job>,
    pub(crate) accepting: AtomicBool,
    pub(crate) next_id: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected_full: AtomicU64,
    pub(crate) contacts_accepted: AtomicU64,
    resumed: AtomicU64,
    jobs_done: AtomicU64,
    summary: Mutex<SyncSummary>,
    in_flight: Mutex<HashMap<u64, Job>>,
    unfinished: Mutex<Vec<Job>>,
    idle: Notify,
}

impl Shared {
    pub(crate) fn update_depth(&self) {
        let depth = self.tx.max_capacity() - self.tx.capacity();
        metrics::gauge!("integrations_serve_queue_depth").set(depth as f64);
    }

    fn stats(&self) -> ServeStats {
        ServeStats {
            accepted: self.accepted.load(Ordering::SeqCst),
            rejected_queue_full: self.rejected_full.load(Ordering::SeqCst),
            contacts_accepted: self.contacts_accepted.load(Ordering::SeqCst),
            resumed: self.resumed.load(Ordering::SeqCst),
            jobs_done: self.jobs_done.load(Ordering::SeqCst),
            spooled: 0,
            sync: lock(&self.summary).clone(),
        }
    }

    fn is_idle(&self) -> bool {
        self.tx.capacity() == self.tx.max_capacity() && lock(&self.in_flight).is_empty()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running webhook server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    rx: Arc<AsyncMutex<mpsc::Receiver<Job>>>,
    stop_accepting: watch::Sender<bool>,
    stop_workers: watch::Sender<bool>,
    accept: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
    config: ServeConfig,
}

impl Server {
    /// Binds, starts the workers, resumes the spool (its jobs go first) and starts serving.
    ///
    /// # Errors
    ///
    /// [`CliError::Failed`] when the address cannot be bound, [`CliError::Input`] for a bad
    /// public URL or spool file.
    pub async fn start(
        config: ServeConfig,
        engine: SyncEngine,
        sink: ResultSink,
        progress: SyncProgress,
        health: HealthChecker,
        exporter: Option<PrometheusExporter>,
    ) -> Result<Self, CliError> {
        if config.secret.trim().is_empty() {
            return Err(CliError::Input("the webhook secret is empty".to_owned()));
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| CliError::failed(format!("cannot listen on {}", config.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::failed("cannot read the bound address", e))?;
        let resumed = match &config.spool {
            Some(path) => load_spool(path)?,
            None => Vec::new(),
        };
        let capacity = config.queue_capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let first_id = resumed.iter().map(|j| j.id + 1).max().unwrap_or(1);
        let shared = Arc::new(Shared {
            tx,
            accepting: AtomicBool::new(true),
            next_id: AtomicU64::new(first_id),
            accepted: AtomicU64::new(0),
            rejected_full: AtomicU64::new(0),
            contacts_accepted: AtomicU64::new(0),
            resumed: AtomicU64::new(0),
            jobs_done: AtomicU64::new(0),
            summary: Mutex::new(SyncSummary::default()),
            in_flight: Mutex::new(HashMap::new()),
            unfinished: Mutex::new(Vec::new()),
            idle: Notify::new(),
        });
        let rx = Arc::new(AsyncMutex::new(rx));
        let (stop_workers, stop_rx) = watch::channel(false);
        let workers = (0..config.workers.max(1))
            .map(|n| {
                tokio::spawn(worker(
                    n,
                    Arc::clone(&shared),
                    Arc::clone(&rx),
                    stop_rx.clone(),
                    engine.clone(),
                    sink.clone(),
                    progress.clone(),
                ))
            })
            .collect();

        if !resumed.is_empty() {
            tracing::info!(jobs = resumed.len(), "resuming spooled work");
            shared.resumed.store(resumed.len() as u64, Ordering::SeqCst);
            // Workers are running, so a spool larger than the queue drains as it goes.
            let tx = shared.tx.clone();
            for job in resumed {
                if tx.send(job).await.is_err() {
                    break;
                }
            }
            if let Some(path) = &config.spool {
                // Everything is queued again; a shutdown writes the spool anew.
                write_spool(path, &[])?;
            }
        }

        let mut layer = VerifyWebhookLayer::new(HubSpotVerifier::new(config.secret.clone()))
            .replay_guard(MemoryReplayGuard::default());
        if let Some(url) = &config.public_url {
            layer = layer
                .public_base_url(url)
                .map_err(|e| CliError::Input(format!("--public-url: {e}")))?;
        } else if config.plain_http {
            layer = layer.request_scheme(http::uri::Scheme::HTTP);
        }
        let router = Router {
            webhook: layer.layer(Enqueue {
                shared: Arc::clone(&shared),
            }),
            health: HealthService::new(health),
            metrics: exporter.map(|e| e.service()),
        };
        let (stop_accepting, stop_accept_rx) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, router, stop_accept_rx));
        tracing::info!(%addr, "serving {WEBHOOK_PATH}, /health, /health/live, /metrics");
        Ok(Self {
            addr,
            shared,
            rx,
            stop_accepting,
            stop_workers,
            accept,
            workers,
            config,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters so far.
    pub fn stats(&self) -> ServeStats {
        self.shared.stats()
    }

    /// Waits until the queue is empty and no job is running.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.shared.idle.notified();
            if self.shared.is_idle() {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Graceful shutdown: stops accepting (new deliveries get 503 while connections close),
    /// lets running jobs finish within the drain time, and writes every job not done (queued,
    /// or still running after the drain time) to the spool.
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] when the spool cannot be written (the jobs are then listed in the log).
    pub async fn shutdown(self) -> Result<ServeStats, CliError> {
        self.shared.accepting.store(false, Ordering::SeqCst);
        let _ = self.stop_accepting.send(true);
        let _ = self.accept.await;
        let _ = self.stop_workers.send(true);
        let drained = tokio::time::timeout(self.config.drain, async {
            for worker in self.workers {
                let _ = worker.await;
            }
        })
        .await
        .is_ok();
        let mut left: Vec<Job> = lock(&self.shared.unfinished).drain(..).collect();
        if !drained {
            let running: Vec<Job> = lock(&self.shared.in_flight).values().cloned().collect();
            tracing::warn!(
                jobs = running.len(),
                "jobs still running after the drain time are spooled"
            );
            left.extend(running);
        }
        {
            let mut rx = self.rx.lock().await;
            rx.close();
            while let Ok(job) = rx.try_recv() {
                left.push(job);
            }
        }
        left.sort_by_key(|j| j.id);
        let mut stats = self.shared.stats();
        stats.spooled = left.len() as u64;
        match &self.config.spool {
            Some(path) => {
                write_spool(path, &left)?;
                if !left.is_empty() {
                    tracing::info!(jobs = left.len(), path = %path.display(), "queued work spooled");
                }
            }
            None if !left.is_empty() => {
                tracing::error!(jobs = ?left, "no spool file: unfinished jobs are listed here");
            }
            None => {}
        }
        Ok(stats)
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let service = service_fn(move |request| {
                    let router = router.clone();
                    async move { Ok::<_, Infallible>(router.route(request).await) }
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        }
    }
    drop(listener);
    // In-flight requests finish (they only verify and enqueue); idle keep-alive connections close.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

async fn worker(
    n: usize,
    shared: Arc<Shared>,
    rx: Arc<AsyncMutex<mpsc::Receiver<Job>>>,
    mut stop: watch::Receiver<bool>,
    engine: SyncEngine,
    sink: ResultSink,
    progress: SyncProgress,
) {
    loop {
        let job = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            job = async { rx.lock().await.recv().await } => job,
        };
        let Some(job) = job else { break };
        shared.update_depth();
        lock(&shared.in_flight).insert(job.id, job.clone());
        tracing::debug!(
            worker = n,
            job = job.id,
            contacts = job.contact_ids.len(),
            "job started"
        );
        match engine.run(job.contact_ids.clone(), &sink, &progress).await {
            Ok(summary) => {
                lock(&shared.summary).merge(&summary);
                shared.jobs_done.fetch_add(1, Ordering::SeqCst);
                metrics::counter!("integrations_serve_jobs_total", "result" => "done").increment(1);
            }
            Err(error) => {
                tracing::error!(job = job.id, error = %error.chain(), "job could not record its results; kept for the spool");
                lock(&shared.unfinished).push(job.clone());
                metrics::counter!("integrations_serve_jobs_total", "result" => "kept").increment(1);
            }
        }
        lock(&shared.in_flight).remove(&job.id);
        shared.idle.notify_waiters();
    }
}
