use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The deployment environment, read from `ENVIRONMENT`; it picks the defaults of every setting
/// that no variable sets.
///
/// Parsing trims the value and ignores case; `prod`, `stage`, `dev` and `testing` are accepted
/// as aliases. An unset or empty `ENVIRONMENT` means [`Environment::Production`].
///
/// | setting | production | staging | development | test |
/// | --- | --- | --- | --- | --- |
/// | request timeout (`*_TIMEOUT`) | 30 s | 30 s | 10 s | 5 s |
/// | max retries (`*_MAX_RETRIES`) | 3 | 3 | 3 | 3 |
/// | retry base delay / multiplier | 250 ms ×2 | 250 ms ×2 | 250 ms ×2 | 10 ms ×2 |
/// | retry max delay | 20 s | 20 s | 5 s | 100 ms |
/// | retry jitter | on | on | on | off |
/// | longest `Retry-After` honoured | 60 s | 60 s | 60 s | 60 s |
/// | breaker open duration (×2 up to) | 5 s (60 s) | 5 s (60 s) | 1 s (10 s) | 100 ms (1 s) |
/// | breaker thresholds | 50 % of ≥ 20 calls in 30 s, or 10 in a row; 3 half-open probes | same | same | same |
/// | cache TTL / capacity | 5 min / 10 000 | 5 min / 10 000 | 30 s / 10 000 | 5 min / 10 000 |
/// | pool connect timeout | 10 s | 10 s | 5 s | 2 s |
/// | pool idle timeout / max idle per host | 90 s / 64 | 90 s / 64 | 90 s / 64 | 90 s / 64 |
///
/// Staging mirrors production so that what passes there behaves the same in production.
/// Development shortens waits so a broken setup shows quickly. Test makes retries
/// deterministic (no jitter) and short, so suites against the sandbox run fast.
///
/// ```
/// use integrations_config::Environment;
///
/// assert_eq!(" Test ".parse::<Environment>().unwrap(), Environment::Test);
/// assert_eq!(Environment::default(), Environment::Production);
/// assert_eq!(Environment::Test.request_timeout().as_secs(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Environment {
    /// Live traffic (the default).
    #[default]
    Production,
    /// A pre-production copy of production; same defaults.
    Staging,
    /// A developer's machine: shorter timeouts and delays.
    Development,
    /// Automated tests: short timeouts, short deterministic retries.
    Test,
}

impl Environment {
    /// Every environment, in order.
    pub const ALL: [Self; 4] = [
        Self::Production,
        Self::Staging,
        Self::Development,
        Self::Test,
    ];

    /// The canonical lowercase name (`production`, `staging`, `development`, `test`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
            Self::Development => "development",
            Self::Test => "test",
        }
    }

    /// The default timeout of one HTTP attempt (`HUBSPOT_TIMEOUT`, `MANYCHAT_TIMEOUT`).
    pub fn request_timeout(self) -> Duration {
        match self {
            Self::Production | Self::Staging => Duration::from_secs(30),
            Self::Development => Duration::from_secs(10),
            Self::Test => Duration::from_secs(5),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = ParseEnvironmentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(Self::Production),
            "staging" | "stage" => Ok(Self::Staging),
            "development" | "dev" => Ok(Self::Development),
            "test" | "testing" => Ok(Self::Test),
            _ => Err(ParseEnvironmentError {
                value: s.trim().to_owned(),
            }),
        }
    }
}

/// The error of parsing an [`Environment`] from a string that names none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of production, staging, development, test")]
pub struct ParseEnvironmentError {
    value: String,
}

impl ParseEnvironmentError {
    /// The refused value (trimmed).
    pub fn value(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_aliases_any_case_and_trims() {
        for (input, expected) in [
            ("production", Environment::Production),
            ("PRODUCTION", Environment::Production),
            ("prod", Environment::Production),
            ("Staging", Environment::Staging),
            ("stage", Environment::Staging),
            ("development", Environment::Development),
            ("Dev", Environment::Development),
            (" test\n", Environment::Test),
            ("TESTING", Environment::Test),
        ] {
            assert_eq!(input.parse::<Environment>(), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn refuses_unknown_names() {
        let err = "prodution".parse::<Environment>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"prodution\" is not one of production, staging, development, test"
        );
        assert_eq!(err.value(), "prodution");
        assert!("".parse::<Environment>().is_err());
    }

    #[test]
    fn display_round_trips() {
        for env in Environment::ALL {
            assert_eq!(env.to_string().parse::<Environment>(), Ok(env));
        }
    }

    #[test]
    fn timeouts_shrink_outside_production() {
        assert_eq!(Environment::default(), Environment::Production);
        assert_eq!(
            Environment::Production.request_timeout(),
            Duration::from_secs(30)
        );
        assert_eq!(
            Environment::Staging.request_timeout(),
            Duration::from_secs(30)
        );
        assert_eq!(
            Environment::Development.request_timeout(),
            Duration::from_secs(10)
        );
        assert_eq!(Environment::Test.request_timeout(), Duration::from_secs(5));
    }
}
