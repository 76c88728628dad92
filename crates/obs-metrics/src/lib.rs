//! Client metrics as a tower layer, the workspace's one metric naming scheme, and export to
//! Prometheus (text with real histogram buckets, an HTTP endpoint) and JSON.
//!
//! - [`MetricsLayer`] / [`Metrics`]: per call, `{prefix}_api_requests_total{operation,status}`,
//!   `{prefix}_api_request_duration_seconds{operation}` (histogram) and
//!   `{prefix}_api_requests_in_flight{operation}` (gauge, decremented when a call finishes or is
//!   dropped). The prefix is validated ([`Prefix`]); the operation comes from the
//!   [`Operation`](resilience_core::extensions::Operation) request extension (`unknown` when
//!   absent, never the path); the status from a pluggable [`StatusLabel`] ([`HttpStatus`] by
//!   default: `2xx`…`5xx`, `error`, `timeout`, `breaker_open`, `rate_limited`, `rejected`,
//!   `cancelled`). Metric handles are cached per operation and status, so a call costs a map
//!   lookup under a read lock and a few atomic operations.
//! - [`names`]: every metric name the workspace emits, as constants, with kinds, labels and
//!   help texts ([`names::RESILIENCE_METRICS`]).
//! - [`PrometheusConfig`]: a `metrics-exporter-prometheus` recorder whose `_seconds` histograms
//!   have explicit buckets ([`DEFAULT_DURATION_BUCKETS`], 5 ms to 60 s), installed globally with
//!   an opt-in HTTP listener (loopback by default) or built locally; [`PrometheusExporter`]
//!   renders text, a JSON [`MetricsSnapshot`], and serves both ([`MetricsService`]).
//! - [`testing::TestRecorder`]: a local recorder for asserting metrics in tests without the
//!   global recorder.
//!
//! # Example
//!
//! ```
//! use obs_metrics::{MetricsLayer, PrometheusConfig};
//! use resilience_core::extensions::Operation;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A program calls `PrometheusConfig::new().install()?` once; here a local recorder.
//! let (recorder, exporter) = PrometheusConfig::new().build();
//! let _guard = metrics::set_default_local_recorder(&recorder);
//!
//! let service = ServiceBuilder::new()
//!     .layer(MetricsLayer::new("hubspot")?)
//!     .service(service_fn(|_request: http::Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(()))
//!     }));
//!
//! let mut request = http::Request::new(());
//! request.extensions_mut().insert(Operation::new("contacts.get"));
//! service.oneshot(request).await?;
//!
//! let text = exporter.render();
//! assert!(text.contains(r#"hubspot_api_requests_total{operation="contacts.get",status="2xx"} 1"#));
//! assert!(text.contains(r#"hubspot_api_request_duration_seconds_bucket{operation="contacts.get",le="0.005"} 1"#));
//! assert!(text.contains(r#"hubspot_api_requests_in_flight{operation="contacts.get"} 0"#));
//! assert_eq!(
//!     exporter.snapshot().counter(
//!         "hubspot_api_requests_total",
//!         &[("operation", "contacts.get"), ("status", "2xx")],
//!     ),
//!     Some(1.0)
//! );
//! # Ok(())
//! # }
//! ```

mod error;
mod exporter;
mod future;
mod handles;
mod layer;
pub mod names;
mod operation;
mod prefix;
mod service;
mod snapshot;
pub mod status;
pub mod testing;

pub use error::{ExporterError, InvalidPrefix};
pub use exporter::{
    DEFAULT_DURATION_BUCKETS, DEFAULT_LISTEN_ADDR, DEFAULT_UPKEEP_INTERVAL, METRICS_JSON_PATH,
    METRICS_PATH, MetricsListener, MetricsService, PROMETHEUS_CONTENT_TYPE, PrometheusConfig,
    PrometheusExporter,
};
pub use future::ResponseFuture;
pub use layer::{DEFAULT_MAX_OPERATIONS, MetricsLayer};
pub use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};
pub use operation::{
    FixedOperation, FromExtension, OVERFLOW_OPERATION, OperationOf, UNKNOWN_OPERATION,
};
pub use prefix::{MAX_PREFIX_LEN, Prefix};
pub use service::Metrics;
pub use snapshot::{Bucket, CounterSample, GaugeSample, HistogramSample, MetricsSnapshot};
pub use status::{ByOutcome, HttpStatus, StatusLabel};
