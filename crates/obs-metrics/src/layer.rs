use crate::error::InvalidPrefix;
use crate::handles::Shared;
use crate::names;
use crate::operation::FromExtension;
use crate::prefix::Prefix;
use crate::service::Metrics;
use crate::status::HttpStatus;
use std::fmt;
use std::sync::Arc;
use tower_layer::Layer;

/// The default limit on distinct operation names per layer (see [`MetricsLayer::max_operations`]).
pub const DEFAULT_MAX_OPERATIONS: usize = 256;

/// Records `{prefix}_api_requests_total{operation,status}`,
/// `{prefix}_api_request_duration_seconds{operation}` and `{prefix}_api_requests_in_flight{operation}`
/// for every call through the services it builds.
///
/// `L` turns a result into the `status` label ([`HttpStatus`] by default); `O` reads the
/// operation name ([`FromExtension`] by default). Metric handles are registered with the recorder
/// that is current at a call's first use of an (operation, status) pair, and cached: install the
/// recorder before the first call.
#[derive(Clone)]
pub struct MetricsLayer<L = HttpStatus, O = FromExtension> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) label: L,
    pub(crate) operation: O,
}

impl MetricsLayer {
    /// A layer whose metric names start with `prefix` (`"hubspot"`).
    ///
    /// # Errors
    ///
    /// [`InvalidPrefix`] when `prefix` is not a safe Prometheus name (see [`Prefix::new`]).
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        Ok(Self::with_prefix(Prefix::new(prefix)?))
    }

    /// A layer for an already validated prefix.
    pub fn with_prefix(prefix: Prefix) -> Self {
        names::describe(&names::client_metrics(&prefix));
        Self {
            shared: Arc::new(Shared::new(prefix, DEFAULT_MAX_OPERATIONS)),
            label: HttpStatus,
            operation: FromExtension,
        }
    }
}

impl<L, O> MetricsLayer<L, O> {
    /// Uses `label` to turn results into the `status` label (for services that are not HTTP).
    pub fn status_label<L2>(self, label: L2) -> MetricsLayer<L2, O> {
        MetricsLayer {
            shared: self.shared,
            label,
            operation: self.operation,
        }
    }

    /// Uses `operation` to read requests' operation names.
    pub fn operation_from<O2>(self, operation: O2) -> MetricsLayer<L, O2> {
        MetricsLayer {
            shared: self.shared,
            label: self.label,
            operation,
        }
    }

    /// Caps the number of distinct operation names (default [`DEFAULT_MAX_OPERATIONS`]); further
    /// names are counted under `operation="other"`, so a bug that puts ids in names cannot blow
    /// up the series count.
    pub fn max_operations(self, max: usize) -> Self {
        Self {
            shared: Arc::new(Shared::new(self.shared.prefix().clone(), max.max(1))),
            ..self
        }
    }

    /// The metric-name prefix.
    pub fn prefix(&self) -> &Prefix {
        self.shared.prefix()
    }
}

impl<L, O> fmt::Debug for MetricsLayer<L, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsLayer")
            .field("prefix", self.shared.prefix())
            .field("max_operations", &self.shared.max_operations())
            .field("label", &std::any::type_name::<L>())
            .field("operation", &std::any::type_name::<O>())
            .finish()
    }
}

impl<S, L: Clone, O: Clone> Layer<S> for MetricsLayer<L, O> {
    type Service = Metrics<S, L, O>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics {
            inner,
            shared: Arc::clone(&self.shared),
            label: self.label.clone(),
            operation: self.operation.clone(),
            last: None,
        }
    }
}
