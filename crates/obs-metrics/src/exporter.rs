//! Prometheus export: recorder setup with explicit histogram buckets, `render()`, a JSON
//! snapshot, and an opt-in HTTP listener.

use crate::error::ExporterError;
use crate::names;
use crate::snapshot::MetricsSnapshot;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::task::{Context, Poll};
use std::time::Duration;
use tower_service::Service;

/// Buckets of every `_seconds` histogram, in seconds: 5 ms to 60 s.
pub const DEFAULT_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The listener address used by [`PrometheusConfig::with_http_listener`]: loopback only.
pub const DEFAULT_LISTEN_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9000));

/// How often the installed exporter drains histogram samples when nobody scrapes.
pub const DEFAULT_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The path the listener and [`MetricsService`] serve Prometheus text on.
pub const METRICS_PATH: &str = "/metrics";
/// The path the listener and [`MetricsService`] serve the JSON snapshot on.
pub const METRICS_JSON_PATH: &str = "/metrics.json";
/// The Content-Type of Prometheus text exposition.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Settings of the Prometheus exporter.
///
/// Histograms whose name ends in `_seconds` get [`DEFAULT_DURATION_BUCKETS`] (or the buckets of
/// [`duration_buckets`](Self::duration_buckets)), so they are real Prometheus histograms, not the
/// exporter's default summaries; [`histogram_buckets`](Self::histogram_buckets) sets buckets for
/// any other histogram by full name.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    duration_buckets: Vec<f64>,
    metric_buckets: Vec<(String, Vec<f64>)>,
    global_labels: Vec<(String, String)>,
    listen: Option<SocketAddr>,
    upkeep_interval: Duration,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self::new()
    }
}

fn validate_buckets(metric: &str, buckets: &[f64]) -> Result<Vec<f64>, ExporterError> {
    let fail = |reason| {
        Err(ExporterError::InvalidBuckets {
            metric: metric.to_owned(),
            reason,
        })
    };
    if buckets.is_empty() {
        return fail("the list is empty");
    }
    if buckets.iter().any(|b| !b.is_finite() || *b <= 0.0) {
        return fail("every bound must be finite and positive");
    }
    if buckets.windows(2).any(|w| w[0] >= w[1]) {
        return fail("bounds must be strictly increasing");
    }
    Ok(buckets.to_vec())
}

impl PrometheusConfig {
    /// Default buckets, no listener, no global labels.
    pub fn new() -> Self {
        Self {
            duration_buckets: DEFAULT_DURATION_BUCKETS.to_vec(),
            metric_buckets: Vec::new(),
            global_labels: Vec::new(),
            listen: None,
            upkeep_interval: DEFAULT_UPKEEP_INTERVAL,
        }
    }

    /// Sets the buckets of every `_seconds` histogram (upper bounds in seconds).
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidBuckets`] when the list is empty, not strictly increasing, or holds
    /// a non-finite or non-positive bound.
    pub fn duration_buckets(mut self, buckets: &[f64]) -> Result<Self, ExporterError> {
        self.duration_buckets = validate_buckets("_seconds", buckets)?;
        Ok(self)
    }

    /// Sets the buckets of the histogram named exactly `metric` (takes precedence over the
    /// duration buckets).
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidMetricName`] for a name that is not a valid Prometheus name, and
    /// [`ExporterError::InvalidBuckets`] as for [`duration_buckets`](Self::duration_buckets).
    pub fn histogram_buckets(
        mut self,
        metric: &str,
        buckets: &[f64],
    ) -> Result<Self, ExporterError> {
        let valid_name = !metric.is_empty()
            && !metric.as_bytes()[0].is_ascii_digit()
            && metric
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
        if !valid_name {
            return Err(ExporterError::InvalidMetricName(metric.to_owned()));
        }
        let buckets = validate_buckets(metric, buckets)?;
        self.metric_buckets.retain(|(m, _)| m != metric);
        self.metric_buckets.push((metric.to_owned(), buckets));
        Ok(self)
    }

    /// Adds a label to every series (`instance`, `env`). Never put a secret here.
    pub fn global_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.global_labels.push((key.into(), value.into()));
        self
    }

    /// Serves `GET /metrics` on [`DEFAULT_LISTEN_ADDR`] (127.0.0.1:9000) once installed.
    pub fn with_http_listener(self) -> Self {
        self.with_http_listener_on(DEFAULT_LISTEN_ADDR)
    }

    /// Serves `GET /metrics` on `addr` once installed. Binding a non-loopback address exposes
    /// the metrics to the network: only do it on purpose.
    pub fn with_http_listener_on(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    /// Sets how often the installed exporter drains histogram samples (default 5 s).
    pub fn upkeep_interval(mut self, interval: Duration) -> Self {
        self.upkeep_interval = interval.max(Duration::from_millis(10));
        self
    }

    fn builder(&self) -> PrometheusBuilder {
        let mut builder = PrometheusBuilder::new();
        // The lists were validated (non-empty), so these calls cannot fail; fall back to the
        // unchanged builder rather than panic.
        let suffix = Matcher::Suffix("_seconds".to_owned());
        builder = match builder.set_buckets_for_metric(suffix, &self.duration_buckets) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        for (metric, buckets) in &self.metric_buckets {
            let full = Matcher::Full(metric.clone());
            builder = match builder.set_buckets_for_metric(full, buckets) {
                Ok(b) => b,
                Err(_) => PrometheusBuilder::new(),
            };
        }
        for (k, v) in &self.global_labels {
            builder = builder.add_global_label(k.clone(), v.clone());
        }
        builder
    }

    /// Builds a recorder without installing it, with an exporter reading from it: for embedding
    /// (combine it with other recorders) and for tests (use it with
    /// `metrics::with_local_recorder`). The listener setting is ignored; see
    /// [`PrometheusExporter::spawn_listener`].
    pub fn build(&self) -> (PrometheusRecorder, PrometheusExporter) {
        let recorder = self.builder().build_recorder();
        let exporter = PrometheusExporter {
            handle: recorder.handle(),
            listen_addr: None,
        };
        (recorder, exporter)
    }

    /// Installs the recorder globally, describes every workspace metric, starts an upkeep
    /// thread, and starts the HTTP listener when one was configured.
    ///
    /// # Errors
    ///
    /// [`ExporterError::AlreadyInstalled`] when a global recorder exists,
    /// [`ExporterError::NoRuntime`] when a listener is configured outside a tokio runtime, and
    /// [`ExporterError::Bind`] when its address cannot be bound. Nothing is installed on error.
    pub fn install(self) -> Result<PrometheusExporter, ExporterError> {
        let listener = match self.listen {
            Some(addr) => {
                tokio::runtime::Handle::try_current().map_err(|_| ExporterError::NoRuntime)?;
                Some(bind(addr)?)
            }
            None => None,
        };
        let (recorder, mut exporter) = self.build();
        metrics::set_global_recorder(recorder).map_err(|_| ExporterError::AlreadyInstalled)?;
        names::describe_resilience_metrics();
        let upkeep = exporter.handle.clone();
        let interval = self.upkeep_interval;
        let spawned = std::thread::Builder::new()
            .name("obs-metrics-upkeep".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    upkeep.run_upkeep();
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "metrics: could not start the upkeep thread; scrapes still drain histograms");
        }
        if let Some(listener) = listener {
            let started = exporter.serve(listener)?;
            exporter.listen_addr = Some(started.local_addr());
        }
        Ok(exporter)
    }
}

fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ExporterError> {
    let bind_error = |source| ExporterError::Bind { addr, source };
    let std_listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    std_listener.set_nonblocking(true).map_err(bind_error)?;
    tokio::net::TcpListener::from_std(std_listener).map_err(bind_error)
}

/// Reads the Prometheus recorder: Prometheus text, a JSON snapshot, an HTTP endpoint.
#[derive(Debug, Clone)]
pub struct PrometheusExporter {
    handle: PrometheusHandle,
    listen_addr: Option<SocketAddr>,
}

impl PrometheusExporter {
    /// An exporter over an existing handle (from `PrometheusRecorder::handle`).
    pub fn from_handle(handle: PrometheusHandle) -> Self {
        Self {
            handle,
            listen_addr: None,
        }
    }

    /// The underlying handle.
    pub fn handle(&self) -> &PrometheusHandle {
        &self.handle
    }

    /// The address the listener started by [`PrometheusConfig::install`] is bound to.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen_addr
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Every metric as counters, gauges and histogram summaries.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot::from_prometheus_text(&self.render())
    }

    /// [`snapshot`](Self::snapshot) as JSON.
    pub fn snapshot_json(&self) -> serde_json::Value {
        self.snapshot().to_json()
    }

    /// A tower service serving `GET /metrics` (Prometheus text) and `GET /metrics.json`.
    pub fn service(&self) -> MetricsService {
        MetricsService {
            exporter: self.clone(),
        }
    }

    /// Binds `addr` and serves [`service`](Self::service) on it with hyper, on the current tokio
    /// runtime. Use port 0 for an ephemeral port and read it from the returned handle.
    ///
    /// # Errors
    ///
    /// [`ExporterError::NoRuntime`] outside a tokio runtime, [`ExporterError::Bind`] when the
    /// address cannot be bound.
    pub fn spawn_listener(&self, addr: SocketAddr) -> Result<MetricsListener, ExporterError> {
        tokio::runtime::Handle::try_current().map_err(|_| ExporterError::NoRuntime)?;
        self.serve(bind(addr)?)
    }

    fn serve(&self, listener: tokio::net::TcpListener) -> Result<MetricsListener, ExporterError> {
        let local_addr = listener
            .local_addr()
            .map_err(|source| ExporterError::Bind {
                addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
                source,
            })?;
        let service = self.service();
        let task = tokio::spawn(async move {
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and similar errors persist: back off briefly
                        // instead of spinning a core on a loop of failing accepts.
                        tracing::warn!(%error, "metrics listener: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let hyper_service = hyper::service::service_fn(
                        move |request: Request<hyper::body::Incoming>| {
                            let mut service = service.clone();
                            service.call(request)
                        },
                    );
                    let builder = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    if let Err(error) = builder
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), hyper_service)
                        .await
                    {
                        tracing::debug!(%error, "metrics listener: connection error");
                    }
                });
            }
        });
        tracing::info!(addr = %local_addr, "metrics: serving Prometheus text on /metrics");
        Ok(MetricsListener { local_addr, task })
    }
}

/// A running metrics HTTP listener. Dropping the handle leaves it running; call
/// [`abort`](Self::abort) to stop it.
#[derive(Debug)]
pub struct MetricsListener {
    local_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsListener {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections.
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// A tower service serving the exporter: `GET`/`HEAD` [`METRICS_PATH`] (Prometheus text) and
/// [`METRICS_JSON_PATH`] (the JSON snapshot); 404 for other paths, 405 for other methods.
#[derive(Debug, Clone)]
pub struct MetricsService {
    exporter: PrometheusExporter,
}

impl MetricsService {
    fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        if path != METRICS_PATH && path != METRICS_JSON_PATH {
            return simple(StatusCode::NOT_FOUND);
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = simple(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let (content_type, body) = if path == METRICS_PATH {
            (PROMETHEUS_CONTENT_TYPE, self.exporter.render())
        } else {
            (
                "application/json",
                self.exporter.snapshot_json().to_string(),
            )
        };
        let body = if request.method() == Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from(body)
        };
        let mut response = Response::new(Full::new(body));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(content_type),
        );
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        response
    }
}

fn simple(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

impl<B> Service<Request<B>> for MetricsService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_validation() {
        let c = PrometheusConfig::new();
        assert!(c.clone().duration_buckets(&[0.1, 1.0]).is_ok());
        for bad in [
            &[][..],
            &[1.0, 0.5],
            &[0.1, 0.1],
            &[-1.0, 1.0],
            &[0.1, f64::INFINITY],
        ] {
            let err = c.clone().duration_buckets(bad).unwrap_err();
            assert!(
                matches!(err, ExporterError::InvalidBuckets { .. }),
                "{bad:?}"
            );
        }
        assert!(matches!(
            c.clone().histogram_buckets("bad-name", &[1.0]),
            Err(ExporterError::InvalidMetricName(_))
        ));
        assert!(
            c.histogram_buckets("batch_size", &[1.0, 10.0, 100.0])
                .is_ok()
        );
    }

    #[test]
    fn listener_needs_a_runtime() {
        let (_recorder, exporter) = PrometheusConfig::new().build();
        let err = exporter
            .spawn_listener("127.0.0.1:0".parse().unwrap())
            .unwrap_err();
        assert!(matches!(err, ExporterError::NoRuntime));
    }
}
