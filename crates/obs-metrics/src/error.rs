//! The crate's errors.

use std::fmt;

/// A metric-name prefix that is not a safe Prometheus name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPrefix {
    pub(crate) prefix: String,
    pub(crate) reason: &'static str,
}

impl InvalidPrefix {
    /// The rejected prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Why it was rejected.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for InvalidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid metric prefix {:?}: {}",
            self.prefix, self.reason
        )
    }
}

impl std::error::Error for InvalidPrefix {}

/// Setting up or running the Prometheus exporter failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// A bucket list was empty, held a non-finite or non-positive value, or was not strictly
    /// increasing.
    #[error("invalid histogram buckets for {metric}: {reason}")]
    InvalidBuckets {
        /// The metric (or `"_seconds"` for the default duration buckets) the buckets were for.
        metric: String,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A metric name given for per-metric buckets is not a valid Prometheus name.
    #[error("invalid metric name {0:?} for per-metric buckets")]
    InvalidMetricName(String),
    /// A global recorder was already installed in this process.
    #[error("a global metrics recorder is already installed")]
    AlreadyInstalled,
    /// The HTTP listener needs a running tokio runtime, and none was found.
    #[error("the metrics HTTP listener needs a running tokio runtime")]
    NoRuntime,
    /// Binding the HTTP listener's socket failed.
    #[error("binding the metrics HTTP listener to {addr} failed")]
    Bind {
        /// The address that could not be bound.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
