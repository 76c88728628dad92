use std::time::Duration;

/// Connection-pool settings for the shared HTTP transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// How long an idle pooled connection is kept before it is closed (default 90 s).
    pub idle_timeout: Duration,
    /// The most idle connections kept per host (default 32).
    pub max_idle_per_host: usize,
    /// Timeout for establishing a TCP (and TLS) connection (default 10 s).
    pub connect_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(90),
            max_idle_per_host: 32,
            connect_timeout: Duration::from_secs(10),
        }
    }
}
