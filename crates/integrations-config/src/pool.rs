use std::time::Duration;

use crate::{ConfigError, Environment};

/// Connection-pool settings for the shared HTTP transport.
///
/// `Default` is the production setting; [`PoolConfig::for_environment`] shortens the connect
/// timeout in development (5 s) and test (2 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// How long an idle pooled connection is kept before it is closed (default 90 s).
    pub idle_timeout: Duration,
    /// The most idle connections kept per host (default 64: at 32, 64 concurrent calls kept
    /// closing and reopening connections, see `docs/benchmarks.md`).
    pub max_idle_per_host: usize,
    /// Timeout for establishing a TCP (and TLS) connection (default 10 s).
    pub connect_timeout: Duration,
}

impl PoolConfig {
    /// The defaults for `environment` (see the table on [`Environment`]).
    pub fn for_environment(environment: Environment) -> Self {
        let connect_timeout = match environment {
            Environment::Production | Environment::Staging => Duration::from_secs(10),
            Environment::Development => Duration::from_secs(5),
            Environment::Test => Duration::from_secs(2),
        };
        Self {
            connect_timeout,
            ..Self::default()
        }
    }

    /// Appends every problem with these settings to `errors`.
    pub(crate) fn check(&self, errors: &mut Vec<ConfigError>) {
        if self.connect_timeout.is_zero() {
            errors.push(ConfigError::InvalidField {
                field: "pool.connect_timeout",
                reason: "must be greater than zero",
            });
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(90),
            max_idle_per_host: 64,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_environment() {
        let prod = PoolConfig::default();
        assert_eq!(prod.idle_timeout, Duration::from_secs(90));
        assert_eq!(prod.max_idle_per_host, 64);
        assert_eq!(prod.connect_timeout, Duration::from_secs(10));
        assert_eq!(PoolConfig::for_environment(Environment::Production), prod);
        assert_eq!(PoolConfig::for_environment(Environment::Staging), prod);
        let dev = PoolConfig::for_environment(Environment::Development);
        assert_eq!(dev.connect_timeout, Duration::from_secs(5));
        assert_eq!(dev.idle_timeout, prod.idle_timeout);
        let test = PoolConfig::for_environment(Environment::Test);
        assert_eq!(test.connect_timeout, Duration::from_secs(2));
        assert_eq!(test.max_idle_per_host, 64);
    }

    #[test]
    fn zero_connect_timeout_is_a_problem() {
        let mut errors = Vec::new();
        PoolConfig::default().check(&mut errors);
        assert!(errors.is_empty());
        let pool = PoolConfig {
            connect_timeout: Duration::ZERO,
            ..PoolConfig::default()
        };
        pool.check(&mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "pool.connect_timeout must be greater than zero"
        );
    }
}
