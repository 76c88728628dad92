use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::Duration;

use crate::load::{self, Lookup, Reader};
use crate::vars::{
    MANYCHAT_API_KEY, MANYCHAT_BASE_URL, MANYCHAT_CIRCUIT_BREAKER_ENABLED, MANYCHAT_MAX_RETRIES,
    MANYCHAT_METRICS_ENABLED, MANYCHAT_PAGE_ID, MANYCHAT_TIMEOUT,
};
use crate::{
    BaseUrl, BreakerConfig, CacheConfig, ConfigError, ConfigErrors, Environment, PoolConfig,
    RetryConfig, Secret,
};

/// Everything the ManyChat client needs.
///
/// ManyChat's bearer token is `<page_id>:<api_key>`. `MANYCHAT_API_KEY` may hold that whole
/// token, or only the key, in which case `MANYCHAT_PAGE_ID` is joined in front of it. When
/// both name a page id they must agree. Page ids are numeric. The token and page id are
/// checked on construction, so they are read through [`ManyChatConfig::bearer_token`] and
/// [`ManyChatConfig::page_id`]; every other field is public.
///
/// | field | variable | default |
/// | --- | --- | --- |
/// | `bearer_token()` | `MANYCHAT_API_KEY` (+ `MANYCHAT_PAGE_ID`) | required |
/// | `base_url` | `MANYCHAT_BASE_URL` | `https://api.manychat.com` |
/// | `timeout` | `MANYCHAT_TIMEOUT` | 30 s (by [`Environment`]) |
/// | `retry.max_retries` | `MANYCHAT_MAX_RETRIES` | 3 |
/// | `breaker.enabled` | `MANYCHAT_CIRCUIT_BREAKER_ENABLED` | true |
/// | `cache.enabled` | none | false |
/// | `metrics_enabled` | `MANYCHAT_METRICS_ENABLED` | true |
/// | `environment` | `ENVIRONMENT` | production |
///
/// The cache is off by default: the library this replaces had no ManyChat cache, most
/// ManyChat calls are sends, and subscriber reads change right after writes. Turn it on in
/// code when a workflow re-reads the same data.
///
/// ```
/// use integrations_config::ManyChatConfig;
///
/// let config = ManyChatConfig::from_parts("1234567", "abcdef0123")?;
/// assert_eq!(config.bearer_token().expose(), "1234567:abcdef0123");
/// assert_eq!(config.page_id(), "1234567");
///
/// let same = ManyChatConfig::new("1234567:abcdef0123")?;
/// assert_eq!(same, config);
/// # Ok::<(), integrations_config::ConfigErrors>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ManyChatConfig {
    token: Secret,
    page_id: String,
    /// API base URL (`MANYCHAT_BASE_URL`).
    pub base_url: BaseUrl,
    /// Timeout of one HTTP attempt (`MANYCHAT_TIMEOUT`).
    pub timeout: Duration,
    /// Retry settings; `max_retries` from `MANYCHAT_MAX_RETRIES`.
    pub retry: RetryConfig,
    /// Circuit-breaker settings; `enabled` from `MANYCHAT_CIRCUIT_BREAKER_ENABLED`.
    pub breaker: BreakerConfig,
    /// Cache settings (off by default; no variable).
    pub cache: CacheConfig,
    /// Connection-pool settings.
    pub pool: PoolConfig,
    /// Whether the client records metrics (`MANYCHAT_METRICS_ENABLED`).
    pub metrics_enabled: bool,
    /// The environment the defaults came from (`ENVIRONMENT`).
    pub environment: Environment,
}

impl ManyChatConfig {
    /// The default API base URL.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.manychat.com";

    /// A config with a `<page_id>:<api_key>` token and the production defaults.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigErrors`] (naming `MANYCHAT_API_KEY`) when the token is empty, has no
    /// page id, has nothing after the colon, has a non-numeric page id, or holds whitespace or
    /// quotes. The token is never part of the message.
    pub fn new(token: impl Into<Secret>) -> Result<Self, ConfigErrors> {
        Self::for_environment(Environment::Production, token)
    }

    /// A config with a `<page_id>:<api_key>` token and the defaults of `environment`.
    ///
    /// # Errors
    ///
    /// As [`ManyChatConfig::new`].
    pub fn for_environment(
        environment: Environment,
        token: impl Into<Secret>,
    ) -> Result<Self, ConfigErrors> {
        let token = token.into();
        let credentials =
            resolve_credentials(token.expose(), None).map_err(ConfigErrors::from_vec)?;
        Ok(Self::with_credentials(environment, credentials))
    }

    /// A config that joins a page id and a bare API key (or checks that a
    /// `<page_id>:<api_key>` key agrees with `page_id`), with the production defaults.
    ///
    /// # Errors
    ///
    /// As [`ManyChatConfig::new`], plus a non-numeric `page_id` (named `MANYCHAT_PAGE_ID`) or
    /// one that differs from the page id inside the key.
    pub fn from_parts(
        page_id: impl AsRef<str>,
        api_key: impl Into<Secret>,
    ) -> Result<Self, ConfigErrors> {
        let api_key = api_key.into();
        let page_id = page_id.as_ref().trim();
        let credentials =
            resolve_credentials(api_key.expose(), (!page_id.is_empty()).then_some(page_id))
                .map_err(ConfigErrors::from_vec)?;
        Ok(Self::with_credentials(Environment::Production, credentials))
    }

    fn with_credentials(environment: Environment, (page_id, token): (String, Secret)) -> Self {
        Self {
            token,
            page_id,
            base_url: BaseUrl::from_static(Self::DEFAULT_BASE_URL),
            timeout: environment.request_timeout(),
            retry: RetryConfig::for_environment(environment),
            breaker: BreakerConfig::for_environment(environment),
            cache: CacheConfig {
                enabled: false,
                ..CacheConfig::for_environment(environment)
            },
            pool: PoolConfig::for_environment(environment),
            metrics_enabled: true,
            environment,
        }
    }

    /// The bearer token, `<page_id>:<api_key>`.
    pub fn bearer_token(&self) -> &Secret {
        &self.token
    }

    /// The (numeric) page id the token belongs to.
    pub fn page_id(&self) -> &str {
        &self.page_id
    }

    /// Loads the config from the process environment.
    ///
    /// # Errors
    ///
    /// Returns every problem at once (see [`ManyChatConfig::from_lookup`]); a variable that is
    /// not valid UTF-8 is one more problem.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::load(&mut load::process_env)
    }

    /// Loads the config from a map of variable name to value.
    ///
    /// # Errors
    ///
    /// Returns every problem at once (see [`ManyChatConfig::from_lookup`]).
    pub fn from_map<S: BuildHasher>(
        map: &HashMap<String, String, S>,
    ) -> Result<Self, ConfigErrors> {
        Self::from_lookup(|var| map.get(var).cloned())
    }

    /// Loads the config from any lookup function (variable name → value).
    ///
    /// Values are trimmed; unset, empty and whitespace-only values all mean "use the default"
    /// (for `MANYCHAT_API_KEY`: missing; for `MANYCHAT_PAGE_ID`: not given).
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigErrors`] naming every bad variable: a missing key, a key without a
    /// page id, a page id that is not numeric or does not match the key's, a number or boolean
    /// that does not parse, a base URL that is not an http(s) URL with a host, a zero or too
    /// long timeout, more than 10 retries, an unknown `ENVIRONMENT`. Keys are never echoed.
    pub fn from_lookup<F>(mut lookup: F) -> Result<Self, ConfigErrors>
    where
        F: FnMut(&str) -> Option<String>,
    {
        Self::load(&mut |var| load::from_option(lookup(var)))
    }

    fn load(source: &mut dyn FnMut(&str) -> Lookup) -> Result<Self, ConfigErrors> {
        let mut reader = Reader::new(source);
        let environment = reader.environment();
        let api_key = reader.secret(MANYCHAT_API_KEY);
        let page_id = reader.get(MANYCHAT_PAGE_ID);
        // Build with placeholder credentials when they are bad, so that every other variable
        // is still checked; the errors recorded here make the result an `Err`.
        let credentials =
            resolve_credentials(api_key.expose(), page_id.as_deref()).unwrap_or_else(|errors| {
                reader.errors.extend(errors);
                (String::new(), Secret::new(""))
            });
        let mut config = Self::with_credentials(environment, credentials);
        config.base_url = reader.base_url(MANYCHAT_BASE_URL, config.base_url);
        config.timeout = reader.seconds(MANYCHAT_TIMEOUT, config.timeout);
        config.retry.max_retries = reader.count(MANYCHAT_MAX_RETRIES, config.retry.max_retries);
        config.breaker.enabled =
            reader.flag(MANYCHAT_CIRCUIT_BREAKER_ENABLED, config.breaker.enabled);
        config.metrics_enabled = reader.flag(MANYCHAT_METRICS_ENABLED, config.metrics_enabled);
        let mut errors = reader.errors;
        config.check_settings(&mut errors);
        load::finish(errors).map(|()| config)
    }

    /// Checks a config changed in code (the token was checked when the config was built).
    ///
    /// # Errors
    ///
    /// Returns every problem at once, each naming the variable that sets the field (or the
    /// field's path for settings no variable sets): a zero or too long timeout, more than 10
    /// retries, unusable retry, breaker, cache or pool settings.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        self.check_settings(&mut errors);
        load::finish(errors)
    }

    fn check_settings(&self, errors: &mut Vec<ConfigError>) {
        load::check_timeout(MANYCHAT_TIMEOUT, self.timeout, errors);
        self.retry.check(MANYCHAT_MAX_RETRIES, errors);
        self.breaker.check(errors);
        self.cache.check(errors);
        self.pool.check(errors);
    }
}

/// Works out `(page_id, "<page_id>:<api_key>")` from the key and the optional page id.
///
/// Returns every problem (at least one) when it cannot.
fn resolve_credentials(
    api_key: &str,
    page_id: Option<&str>,
) -> Result<(String, Secret), Vec<ConfigError>> {
    let mut errors = Vec::new();
    match resolve_into(api_key, page_id, &mut errors) {
        Some(credentials) if errors.is_empty() => Ok(credentials),
        _ => Err(errors),
    }
}

/// [`resolve_credentials`], recording problems in `errors`; `None` only after recording one.
fn resolve_into(
    api_key: &str,
    page_id: Option<&str>,
    errors: &mut Vec<ConfigError>,
) -> Option<(String, Secret)> {
    let page_id_given = page_id.is_some();
    let page_id = page_id.filter(|id| {
        let numeric = is_numeric(id);
        if !numeric {
            errors.push(ConfigError::PageIdNotNumeric {
                var: MANYCHAT_PAGE_ID,
            });
        }
        numeric
    });

    let key_errors = errors.len();
    load::check_secret(MANYCHAT_API_KEY, api_key, errors);
    if errors.len() > key_errors {
        return None;
    }

    match api_key.split_once(':') {
        Some(("", _)) => {
            errors.push(ConfigError::NoPageId {
                var: MANYCHAT_API_KEY,
            });
            None
        }
        Some((key_page_id, key)) => {
            if !is_numeric(key_page_id) {
                errors.push(ConfigError::PageIdNotNumeric {
                    var: MANYCHAT_API_KEY,
                });
            } else if page_id.is_some_and(|id| id != key_page_id) {
                errors.push(ConfigError::PageIdMismatch {
                    var: MANYCHAT_PAGE_ID,
                    key_var: MANYCHAT_API_KEY,
                });
            }
            if key.is_empty() {
                errors.push(ConfigError::NoKeyAfterPageId {
                    var: MANYCHAT_API_KEY,
                });
            }
            Some((key_page_id.to_owned(), Secret::new(api_key)))
        }
        None => match page_id {
            Some(id) => Some((id.to_owned(), Secret::new(format!("{id}:{api_key}")))),
            // A page id was given but is not numeric: already reported.
            None if page_id_given => None,
            None => {
                errors.push(ConfigError::NoPageId {
                    var: MANYCHAT_API_KEY,
                });
                None
            }
        },
    }
}

fn is_numeric(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "1234567";
    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "1234567:0123456789abcdef0123456789abcdef";

    fn load(vars: &[(&str, &str)]) -> Result<ManyChatConfig, ConfigErrors> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ManyChatConfig::from_map(&map)
    }

    fn messages(vars: &[(&str, &str)]) -> Vec<String> {
        let errors = load(vars).unwrap_err();
        let shown = format!("{errors} {errors:?}");
        assert!(!shown.contains(KEY), "a key leaked: {shown}");
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn key_with_colon_is_the_token() {
        let config = load(&[("MANYCHAT_API_KEY", TOKEN)]).unwrap();
        assert_eq!(config.bearer_token().expose(), TOKEN);
        assert_eq!(config.page_id(), PAGE);
        assert_eq!(config.base_url.as_uri().host(), Some("api.manychat.com"));
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.retry.max_retries, 3);
        assert!(config.breaker.enabled);
        assert!(!config.cache.enabled, "ManyChat caches nothing by default");
        assert!(config.metrics_enabled);
        assert_eq!(config.environment, Environment::Production);
        assert_eq!(config, ManyChatConfig::new(TOKEN).unwrap());
    }

    #[test]
    fn page_id_and_bare_key_are_joined() {
        let config = load(&[
            ("MANYCHAT_API_KEY", &format!(" {KEY} ")),
            ("MANYCHAT_PAGE_ID", &format!("{PAGE}\n")),
        ])
        .unwrap();
        assert_eq!(config.bearer_token().expose(), TOKEN);
        assert_eq!(config.page_id(), PAGE);
        assert_eq!(config, ManyChatConfig::from_parts(PAGE, KEY).unwrap());
    }

    #[test]
    fn key_with_colon_and_the_same_page_id_is_fine() {
        let config = load(&[("MANYCHAT_API_KEY", TOKEN), ("MANYCHAT_PAGE_ID", PAGE)]).unwrap();
        assert_eq!(config.bearer_token().expose(), TOKEN, "not joined twice");
        assert_eq!(ManyChatConfig::from_parts(PAGE, TOKEN).unwrap(), config);
    }

    #[test]
    fn key_without_page_id_is_an_error() {
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", KEY)]),
            [
                "MANYCHAT_API_KEY has no page id: set MANYCHAT_PAGE_ID or give the key as <page_id>:<api_key>"
            ]
        );
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", KEY), ("MANYCHAT_PAGE_ID", "  ")]),
            [
                "MANYCHAT_API_KEY has no page id: set MANYCHAT_PAGE_ID or give the key as <page_id>:<api_key>"
            ]
        );
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", &format!(":{KEY}"))]),
            [
                "MANYCHAT_API_KEY has no page id: set MANYCHAT_PAGE_ID or give the key as <page_id>:<api_key>"
            ]
        );
    }

    #[test]
    fn mismatched_page_ids_are_an_error_that_shows_neither() {
        let errors = messages(&[("MANYCHAT_API_KEY", TOKEN), ("MANYCHAT_PAGE_ID", "7654321")]);
        assert_eq!(
            errors,
            ["MANYCHAT_PAGE_ID does not match the page id in MANYCHAT_API_KEY"]
        );
        assert!(!errors[0].contains(PAGE) && !errors[0].contains("7654321"));
    }

    #[test]
    fn missing_key_is_an_error() {
        for vars in [
            &[][..],
            &[("MANYCHAT_API_KEY", "")][..],
            &[("MANYCHAT_API_KEY", " "), ("MANYCHAT_PAGE_ID", PAGE)][..],
        ] {
            assert_eq!(messages(vars), ["MANYCHAT_API_KEY is missing"], "{vars:?}");
        }
    }

    #[test]
    fn malformed_keys_and_page_ids() {
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", &format!("{PAGE}:"))]),
            ["MANYCHAT_API_KEY has no key after the page id"]
        );
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", &format!("page{PAGE}:{KEY}"))]),
            ["MANYCHAT_API_KEY holds a page id that is not numeric"]
        );
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", KEY), ("MANYCHAT_PAGE_ID", KEY)]),
            ["MANYCHAT_PAGE_ID holds a page id that is not numeric"]
        );
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", &format!("\"{TOKEN}\""))]),
            ["MANYCHAT_API_KEY is wrapped in quotes; remove them"]
        );
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", &format!("{PAGE}: {KEY}"))]),
            ["MANYCHAT_API_KEY contains whitespace or non-printable characters"]
        );
        // Both variables wrong: both reported.
        assert_eq!(
            messages(&[("MANYCHAT_API_KEY", ""), ("MANYCHAT_PAGE_ID", "abc")]),
            [
                "MANYCHAT_API_KEY is missing",
                "MANYCHAT_PAGE_ID holds a page id that is not numeric",
            ]
        );
    }

    #[test]
    fn every_bad_variable_has_its_message() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "MANYCHAT_TIMEOUT",
                "soon",
                r#"MANYCHAT_TIMEOUT="soon" is not a number of seconds"#,
            ),
            (
                "MANYCHAT_TIMEOUT",
                "0.0",
                "MANYCHAT_TIMEOUT must be greater than zero",
            ),
            (
                "MANYCHAT_TIMEOUT",
                "3600.5",
                "MANYCHAT_TIMEOUT=3600.5 is more than the maximum of 3600 seconds",
            ),
            (
                "MANYCHAT_MAX_RETRIES",
                "11",
                "MANYCHAT_MAX_RETRIES=11 is more than the maximum of 10",
            ),
            (
                "MANYCHAT_MAX_RETRIES",
                "1.5",
                r#"MANYCHAT_MAX_RETRIES="1.5" is not a whole number"#,
            ),
            (
                "MANYCHAT_BASE_URL",
                "ftp://x",
                r#"MANYCHAT_BASE_URL="ftp://x" must be an http or https URL"#,
            ),
            (
                "MANYCHAT_BASE_URL",
                "https://u:p@api.manychat.com",
                r#"MANYCHAT_BASE_URL="https://[redacted]@api.manychat.com" must not contain credentials"#,
            ),
            (
                "MANYCHAT_CIRCUIT_BREAKER_ENABLED",
                "nah",
                r#"MANYCHAT_CIRCUIT_BREAKER_ENABLED="nah" is not a boolean (use true/false, 1/0, yes/no or on/off)"#,
            ),
            (
                "MANYCHAT_METRICS_ENABLED",
                "-1",
                r#"MANYCHAT_METRICS_ENABLED="-1" is not a boolean (use true/false, 1/0, yes/no or on/off)"#,
            ),
            (
                "ENVIRONMENT",
                "local",
                r#"ENVIRONMENT="local" is not one of production, staging, development, test"#,
            ),
        ];
        for (var, value, expected) in cases {
            let got = messages(&[("MANYCHAT_API_KEY", TOKEN), (var, value)]);
            assert_eq!(got, [*expected], "{var}={value:?}");
        }
    }

    #[test]
    fn every_variable_is_read() {
        let config = load(&[
            ("MANYCHAT_API_KEY", TOKEN),
            ("MANYCHAT_BASE_URL", "http://localhost:8081"),
            ("MANYCHAT_TIMEOUT", "12"),
            ("MANYCHAT_MAX_RETRIES", "10"),
            ("MANYCHAT_CIRCUIT_BREAKER_ENABLED", "FALSE"),
            ("MANYCHAT_METRICS_ENABLED", "no"),
            ("ENVIRONMENT", "dev"),
        ])
        .unwrap();
        assert_eq!(config.base_url.as_uri().port_u16(), Some(8081));
        assert_eq!(config.timeout, Duration::from_secs(12));
        assert_eq!(config.retry.max_retries, 10);
        assert!(!config.breaker.enabled);
        assert!(!config.metrics_enabled);
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(
            config.retry.max_delay,
            RetryConfig::for_environment(Environment::Development).max_delay
        );
    }

    #[test]
    fn environment_defaults_apply() {
        let config = load(&[("MANYCHAT_API_KEY", TOKEN), ("ENVIRONMENT", "test")]).unwrap();
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert!(!config.retry.jitter);
        assert_eq!(
            config,
            ManyChatConfig::for_environment(Environment::Test, TOKEN).unwrap()
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = load(&[
            ("MANYCHAT_API_KEY", KEY),
            ("MANYCHAT_TIMEOUT", "-1"),
            ("MANYCHAT_MAX_RETRIES", "many"),
            ("MANYCHAT_BASE_URL", "manychat"),
            ("MANYCHAT_METRICS_ENABLED", "perhaps"),
        ])
        .unwrap_err();
        let vars: Vec<_> = errors.iter().map(ConfigError::var).collect();
        assert_eq!(
            vars,
            [
                "MANYCHAT_API_KEY",
                "MANYCHAT_BASE_URL",
                "MANYCHAT_TIMEOUT",
                "MANYCHAT_MAX_RETRIES",
                "MANYCHAT_METRICS_ENABLED",
            ]
        );
        assert!(
            errors
                .to_string()
                .starts_with("invalid configuration (5 problems):")
        );
        assert!(!format!("{errors} {errors:?}").contains(KEY));
    }

    #[test]
    fn programmatic_constructors_check_the_token() {
        let err = ManyChatConfig::new(KEY).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: MANYCHAT_API_KEY has no page id: set MANYCHAT_PAGE_ID or give the key as <page_id>:<api_key>"
        );
        assert!(!format!("{err:?}").contains(KEY));
        assert_eq!(
            ManyChatConfig::from_parts("7654321", TOKEN)
                .unwrap_err()
                .to_string(),
            "invalid configuration: MANYCHAT_PAGE_ID does not match the page id in MANYCHAT_API_KEY"
        );
        assert_eq!(
            ManyChatConfig::new("").unwrap_err().to_string(),
            "invalid configuration: MANYCHAT_API_KEY is missing"
        );
    }

    #[test]
    fn validate_checks_fields_set_in_code() {
        let mut config = ManyChatConfig::new(TOKEN).unwrap();
        config.validate().unwrap();
        config.timeout = Duration::from_secs(4000);
        config.breaker.half_open_probes = 0;
        let messages: Vec<String> = config
            .validate()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "MANYCHAT_TIMEOUT=4000 is more than the maximum of 3600 seconds",
                "breaker.half_open_probes must be at least 1",
            ]
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let config = ManyChatConfig::new(TOKEN).unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains(KEY));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn from_env_reads_the_process_environment() {
        // Reads only: the result must equal a lookup over the same environment, whatever it is.
        let from_env = ManyChatConfig::from_env();
        let from_lookup = ManyChatConfig::from_lookup(|var| std::env::var(var).ok());
        match (from_env, from_lookup) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("from_env {a:?} differs from a lookup {b:?}"),
        }
    }
}
