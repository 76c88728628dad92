use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::Duration;

use crate::load::{self, Lookup, Reader};
use crate::vars::{
    HUBSPOT_BASE_URL, HUBSPOT_CACHE_ENABLED, HUBSPOT_CIRCUIT_BREAKER_ENABLED, HUBSPOT_MAX_RETRIES,
    HUBSPOT_METRICS_ENABLED, HUBSPOT_TIMEOUT, HUBSPOT_TOKEN,
};
use crate::{
    BaseUrl, BreakerConfig, CacheConfig, ConfigErrors, Environment, PoolConfig, RetryConfig, Secret,
};

/// Everything the HubSpot client needs.
///
/// Build it from variables ([`HubSpotConfig::from_env`], [`HubSpotConfig::from_map`],
/// [`HubSpotConfig::from_lookup`]) or in code ([`HubSpotConfig::new`], then set fields and
/// call [`HubSpotConfig::validate`]).
///
/// | field | variable | default |
/// | --- | --- | --- |
/// | `token` | `HUBSPOT_TOKEN` | required |
/// | `base_url` | `HUBSPOT_BASE_URL` | `https://api.hubapi.com` |
/// | `timeout` | `HUBSPOT_TIMEOUT` | 30 s (by [`Environment`]) |
/// | `retry.max_retries` | `HUBSPOT_MAX_RETRIES` | 3 |
/// | `breaker.enabled` | `HUBSPOT_CIRCUIT_BREAKER_ENABLED` | true |
/// | `cache.enabled` | `HUBSPOT_CACHE_ENABLED` | true |
/// | `metrics_enabled` | `HUBSPOT_METRICS_ENABLED` | true |
/// | `environment` | `ENVIRONMENT` | production |
///
/// ```
/// use integrations_config::HubSpotConfig;
///
/// let mut config = HubSpotConfig::new("pat-na1-0000");
/// config.retry.max_retries = 5;
/// config.validate().unwrap();
/// assert_eq!(config.base_url.to_string(), "https://api.hubapi.com/");
/// assert_eq!(format!("{:?}", config.token), "[redacted]");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HubSpotConfig {
    /// Private-app or OAuth access token (`HUBSPOT_TOKEN`).
    pub token: Secret,
    /// API base URL (`HUBSPOT_BASE_URL`).
    pub base_url: BaseUrl,
    /// Timeout of one HTTP attempt (`HUBSPOT_TIMEOUT`).
    pub timeout: Duration,
    /// Retry settings; `max_retries` from `HUBSPOT_MAX_RETRIES`.
    pub retry: RetryConfig,
    /// Circuit-breaker settings; `enabled` from `HUBSPOT_CIRCUIT_BREAKER_ENABLED`.
    pub breaker: BreakerConfig,
    /// Cache settings; `enabled` from `HUBSPOT_CACHE_ENABLED`.
    pub cache: CacheConfig,
    /// Connection-pool settings.
    pub pool: PoolConfig,
    /// Whether the client records metrics (`HUBSPOT_METRICS_ENABLED`).
    pub metrics_enabled: bool,
    /// The environment the defaults came from (`ENVIRONMENT`).
    pub environment: Environment,
}

impl HubSpotConfig {
    /// The default API base URL.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.hubapi.com";

    /// A config with `token` and the production defaults.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self::for_environment(Environment::Production, token)
    }

    /// A config with `token` and the defaults of `environment`.
    pub fn for_environment(environment: Environment, token: impl Into<Secret>) -> Self {
        Self {
            token: token.into(),
            base_url: BaseUrl::from_static(Self::DEFAULT_BASE_URL),
            timeout: environment.request_timeout(),
            retry: RetryConfig::for_environment(environment),
            breaker: BreakerConfig::for_environment(environment),
            cache: CacheConfig::for_environment(environment),
            pool: PoolConfig::for_environment(environment),
            metrics_enabled: true,
            environment,
        }
    }

    /// Loads the config from the process environment.
    ///
    /// # Errors
    ///
    /// Returns every problem at once (see [`HubSpotConfig::from_lookup`]); a variable that is
    /// not valid UTF-8 is one more problem.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::load(&mut load::process_env)
    }

    /// Loads the config from a map of variable name to value.
    ///
    /// # Errors
    ///
    /// Returns every problem at once (see [`HubSpotConfig::from_lookup`]).
    pub fn from_map<S: BuildHasher>(
        map: &HashMap<String, String, S>,
    ) -> Result<Self, ConfigErrors> {
        Self::from_lookup(|var| map.get(var).cloned())
    }

    /// Loads the config from any lookup function (variable name → value).
    ///
    /// Values are trimmed; unset, empty and whitespace-only values all mean "use the default"
    /// (for `HUBSPOT_TOKEN`: missing).
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigErrors`] naming every bad variable: a missing token, a number or
    /// boolean that does not parse, a base URL that is not an http(s) URL with a host, a zero
    /// or too long timeout, more than 10 retries, an unknown `ENVIRONMENT`.
    pub fn from_lookup<F>(mut lookup: F) -> Result<Self, ConfigErrors>
    where
        F: FnMut(&str) -> Option<String>,
    {
        Self::load(&mut |var| load::from_option(lookup(var)))
    }

    fn load(source: &mut dyn FnMut(&str) -> Lookup) -> Result<Self, ConfigErrors> {
        let mut reader = Reader::new(source);
        let environment = reader.environment();
        let mut config = Self::for_environment(environment, reader.secret(HUBSPOT_TOKEN));
        config.base_url = reader.base_url(HUBSPOT_BASE_URL, config.base_url);
        config.timeout = reader.seconds(HUBSPOT_TIMEOUT, config.timeout);
        config.retry.max_retries = reader.count(HUBSPOT_MAX_RETRIES, config.retry.max_retries);
        config.breaker.enabled =
            reader.flag(HUBSPOT_CIRCUIT_BREAKER_ENABLED, config.breaker.enabled);
        config.cache.enabled = reader.flag(HUBSPOT_CACHE_ENABLED, config.cache.enabled);
        config.metrics_enabled = reader.flag(HUBSPOT_METRICS_ENABLED, config.metrics_enabled);
        let mut errors = reader.errors;
        config.check(&mut errors);
        load::finish(errors).map(|()| config)
    }

    /// Checks a config built or changed in code.
    ///
    /// # Errors
    ///
    /// Returns every problem at once, each naming the variable that sets the field (or the
    /// field's path for settings no variable sets): an empty or malformed token, a zero or too
    /// long timeout, more than 10 retries, unusable retry, breaker, cache or pool settings.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        self.check(&mut errors);
        load::finish(errors)
    }

    fn check(&self, errors: &mut Vec<crate::ConfigError>) {
        load::check_secret(HUBSPOT_TOKEN, self.token.expose(), errors);
        load::check_timeout(HUBSPOT_TIMEOUT, self.timeout, errors);
        self.retry.check(HUBSPOT_MAX_RETRIES, errors);
        self.breaker.check(errors);
        self.cache.check(errors);
        self.pool.check(errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";

    fn load(vars: &[(&str, &str)]) -> Result<HubSpotConfig, ConfigErrors> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        HubSpotConfig::from_map(&map)
    }

    fn messages(vars: &[(&str, &str)]) -> Vec<String> {
        load(vars)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn only_the_token_is_required() {
        let config = load(&[("HUBSPOT_TOKEN", TOKEN)]).unwrap();
        assert_eq!(config, HubSpotConfig::new(TOKEN));
        assert_eq!(config.token.expose(), TOKEN);
        assert_eq!(config.base_url.as_uri().host(), Some("api.hubapi.com"));
        assert_eq!(config.base_url.as_uri().scheme_str(), Some("https"));
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.retry.max_retries, 3);
        assert!(config.breaker.enabled);
        assert!(config.cache.enabled);
        assert!(config.metrics_enabled);
        assert_eq!(config.environment, Environment::Production);
        assert_eq!(config.pool, PoolConfig::default());
    }

    #[test]
    fn every_variable_is_read() {
        let config = load(&[
            ("HUBSPOT_TOKEN", &format!("  {TOKEN}\n")),
            ("HUBSPOT_BASE_URL", "http://127.0.0.1:9000/hubspot"),
            ("HUBSPOT_TIMEOUT", "2.5"),
            ("HUBSPOT_MAX_RETRIES", "0"),
            ("HUBSPOT_CIRCUIT_BREAKER_ENABLED", "off"),
            ("HUBSPOT_CACHE_ENABLED", "No"),
            ("HUBSPOT_METRICS_ENABLED", "0"),
            ("ENVIRONMENT", "staging"),
        ])
        .unwrap();
        assert_eq!(config.token.expose(), TOKEN, "the token is trimmed");
        assert_eq!(config.base_url.to_string(), "http://127.0.0.1:9000/hubspot");
        assert_eq!(config.timeout, Duration::from_millis(2500));
        assert_eq!(config.retry.max_retries, 0);
        assert!(!config.breaker.enabled);
        assert!(!config.cache.enabled);
        assert!(!config.metrics_enabled);
        assert_eq!(config.environment, Environment::Staging);
    }

    #[test]
    fn empty_and_blank_optional_variables_mean_default() {
        let config = load(&[
            ("HUBSPOT_TOKEN", TOKEN),
            ("HUBSPOT_BASE_URL", ""),
            ("HUBSPOT_TIMEOUT", "  "),
            ("HUBSPOT_MAX_RETRIES", ""),
            ("HUBSPOT_CACHE_ENABLED", "\t"),
            ("ENVIRONMENT", ""),
        ])
        .unwrap();
        assert_eq!(config, HubSpotConfig::new(TOKEN));
    }

    #[test]
    fn environment_picks_defaults_and_variables_override_them() {
        let test = load(&[("HUBSPOT_TOKEN", TOKEN), ("ENVIRONMENT", "TEST")]).unwrap();
        assert_eq!(test.environment, Environment::Test);
        assert_eq!(test.timeout, Duration::from_secs(5));
        assert!(!test.retry.jitter);
        assert_eq!(test.retry, RetryConfig::for_environment(Environment::Test));
        assert_eq!(
            test.breaker,
            BreakerConfig::for_environment(Environment::Test)
        );
        assert_eq!(test.pool, PoolConfig::for_environment(Environment::Test));
        assert_eq!(
            test,
            HubSpotConfig::for_environment(Environment::Test, TOKEN)
        );

        let dev = load(&[("HUBSPOT_TOKEN", TOKEN), ("ENVIRONMENT", "development")]).unwrap();
        assert_eq!(dev.timeout, Duration::from_secs(10));
        assert_eq!(dev.cache.ttl, Duration::from_secs(30));

        let overridden = load(&[
            ("HUBSPOT_TOKEN", TOKEN),
            ("ENVIRONMENT", "test"),
            ("HUBSPOT_TIMEOUT", "60"),
        ])
        .unwrap();
        assert_eq!(overridden.timeout, Duration::from_secs(60));
        assert!(!overridden.retry.jitter);
    }

    #[test]
    fn missing_and_empty_token_are_missing() {
        assert_eq!(messages(&[]), ["HUBSPOT_TOKEN is missing"]);
        assert_eq!(
            messages(&[("HUBSPOT_TOKEN", "")]),
            ["HUBSPOT_TOKEN is missing"]
        );
        assert_eq!(
            messages(&[("HUBSPOT_TOKEN", "  \n ")]),
            ["HUBSPOT_TOKEN is missing"]
        );
    }

    #[test]
    fn every_bad_variable_has_its_message() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "HUBSPOT_TIMEOUT",
                "abc",
                r#"HUBSPOT_TIMEOUT="abc" is not a number of seconds"#,
            ),
            (
                "HUBSPOT_TIMEOUT",
                "0",
                "HUBSPOT_TIMEOUT must be greater than zero",
            ),
            (
                "HUBSPOT_TIMEOUT",
                "-3",
                "HUBSPOT_TIMEOUT must be greater than zero",
            ),
            (
                "HUBSPOT_TIMEOUT",
                "7200",
                "HUBSPOT_TIMEOUT=7200 is more than the maximum of 3600 seconds",
            ),
            (
                "HUBSPOT_MAX_RETRIES",
                "99",
                "HUBSPOT_MAX_RETRIES=99 is more than the maximum of 10",
            ),
            (
                "HUBSPOT_MAX_RETRIES",
                "three",
                r#"HUBSPOT_MAX_RETRIES="three" is not a whole number"#,
            ),
            (
                "HUBSPOT_MAX_RETRIES",
                "-1",
                "HUBSPOT_MAX_RETRIES=-1 must not be negative",
            ),
            (
                "HUBSPOT_BASE_URL",
                "ftp://x",
                r#"HUBSPOT_BASE_URL="ftp://x" must be an http or https URL"#,
            ),
            (
                "HUBSPOT_BASE_URL",
                "not a url",
                r#"HUBSPOT_BASE_URL="not a url" is not a valid URL"#,
            ),
            (
                "HUBSPOT_BASE_URL",
                "https://api.hubapi.com?x=1",
                r#"HUBSPOT_BASE_URL="https://api.hubapi.com?x=1" must not have a query string or fragment"#,
            ),
            (
                "HUBSPOT_CIRCUIT_BREAKER_ENABLED",
                "sometimes",
                r#"HUBSPOT_CIRCUIT_BREAKER_ENABLED="sometimes" is not a boolean (use true/false, 1/0, yes/no or on/off)"#,
            ),
            (
                "HUBSPOT_CACHE_ENABLED",
                "2",
                r#"HUBSPOT_CACHE_ENABLED="2" is not a boolean (use true/false, 1/0, yes/no or on/off)"#,
            ),
            (
                "HUBSPOT_METRICS_ENABLED",
                "enabled",
                r#"HUBSPOT_METRICS_ENABLED="enabled" is not a boolean (use true/false, 1/0, yes/no or on/off)"#,
            ),
            (
                "ENVIRONMENT",
                "prod-eu",
                r#"ENVIRONMENT="prod-eu" is not one of production, staging, development, test"#,
            ),
        ];
        for (var, value, expected) in cases {
            let got = messages(&[("HUBSPOT_TOKEN", TOKEN), (var, value)]);
            assert_eq!(got, [*expected], "{var}={value:?}");
            let errors = load(&[("HUBSPOT_TOKEN", TOKEN), (var, value)]).unwrap_err();
            assert_eq!(errors.errors()[0].var(), *var);
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = load(&[
            ("HUBSPOT_TIMEOUT", "abc"),
            ("HUBSPOT_BASE_URL", "ftp://x"),
            ("HUBSPOT_MAX_RETRIES", "99"),
            ("HUBSPOT_CACHE_ENABLED", "maybe"),
            ("ENVIRONMENT", "qa"),
        ])
        .unwrap_err();
        assert_eq!(
            errors.to_string(),
            "invalid configuration (6 problems):\n  \
             ENVIRONMENT=\"qa\" is not one of production, staging, development, test\n  \
             HUBSPOT_TOKEN is missing\n  \
             HUBSPOT_BASE_URL=\"ftp://x\" must be an http or https URL\n  \
             HUBSPOT_TIMEOUT=\"abc\" is not a number of seconds\n  \
             HUBSPOT_MAX_RETRIES=99 is more than the maximum of 10\n  \
             HUBSPOT_CACHE_ENABLED=\"maybe\" is not a boolean (use true/false, 1/0, yes/no or on/off)"
        );
    }

    #[test]
    fn token_problems_never_show_the_token() {
        for bad in [
            format!("\"{TOKEN}\""),
            format!("{TOKEN} extra"),
            format!("{TOKEN}\u{0}"),
        ] {
            let errors = load(&[("HUBSPOT_TOKEN", &bad), ("HUBSPOT_TIMEOUT", "x")]).unwrap_err();
            assert_eq!(errors.len(), 2);
            let shown = format!("{errors} {errors:?}");
            assert!(!shown.contains(TOKEN), "{shown}");
            assert!(shown.contains("HUBSPOT_TOKEN"), "{shown}");
        }
    }

    #[test]
    fn config_debug_never_shows_the_token() {
        let config = load(&[("HUBSPOT_TOKEN", TOKEN)]).unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains(TOKEN));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn validate_checks_fields_set_in_code() {
        let mut config = HubSpotConfig::new("");
        config.timeout = Duration::ZERO;
        config.retry.max_retries = 11;
        config.cache.capacity = 0;
        let messages: Vec<String> = config
            .validate()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "HUBSPOT_TOKEN is missing",
                "HUBSPOT_TIMEOUT must be greater than zero",
                "HUBSPOT_MAX_RETRIES=11 is more than the maximum of 10",
                "cache.capacity must be at least 1 when the cache is enabled",
            ]
        );
        for env in Environment::ALL {
            HubSpotConfig::for_environment(env, TOKEN)
                .validate()
                .unwrap();
        }
    }

    #[test]
    fn from_lookup_takes_any_function() {
        let config = HubSpotConfig::from_lookup(|var| match var {
            "HUBSPOT_TOKEN" => Some(TOKEN.to_owned()),
            "HUBSPOT_MAX_RETRIES" => Some("7".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.retry.max_retries, 7);
    }

    #[test]
    fn non_unicode_values_are_reported() {
        let mut source = |var: &str| match var {
            "HUBSPOT_TOKEN" => Lookup::Value(TOKEN.to_owned()),
            "HUBSPOT_TIMEOUT" => Lookup::NotUnicode,
            _ => Lookup::Unset,
        };
        let errors = HubSpotConfig::load(&mut source).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "invalid configuration: HUBSPOT_TIMEOUT is not valid UTF-8"
        );
    }

    #[test]
    fn from_env_reads_the_process_environment() {
        // Reads only: the result must equal a lookup over the same environment, whatever it is.
        let from_env = HubSpotConfig::from_env();
        let from_lookup = HubSpotConfig::from_lookup(|var| std::env::var(var).ok());
        match (from_env, from_lookup) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("from_env {a:?} differs from a lookup {b:?}"),
        }
    }
}
