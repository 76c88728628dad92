//! Reading variables from a source and parsing their values, collecting every problem.

use std::time::Duration;

use crate::vars::ENVIRONMENT;
use crate::{BaseUrl, ConfigError, ConfigErrors, Environment, Secret};

/// The longest accepted request timeout, in seconds.
pub(crate) const MAX_TIMEOUT_SECS: u64 = 3600;

/// What a source says about one variable.
pub(crate) enum Lookup {
    /// Not set.
    Unset,
    /// Set to this value (untrimmed).
    Value(String),
    /// Set, but not valid UTF-8.
    NotUnicode,
}

/// Reads the process environment.
pub(crate) fn process_env(var: &str) -> Lookup {
    match std::env::var(var) {
        Ok(value) => Lookup::Value(value),
        Err(std::env::VarError::NotPresent) => Lookup::Unset,
        Err(std::env::VarError::NotUnicode(_)) => Lookup::NotUnicode,
    }
}

/// Wraps a plain lookup function.
pub(crate) fn from_option(value: Option<String>) -> Lookup {
    value.map_or(Lookup::Unset, Lookup::Value)
}

/// Reads and parses variables from a source, keeping every problem in `errors`.
pub(crate) struct Reader<'a> {
    source: &'a mut dyn FnMut(&str) -> Lookup,
    pub(crate) errors: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(source: &'a mut dyn FnMut(&str) -> Lookup) -> Self {
        Self {
            source,
            errors: Vec::new(),
        }
    }

    /// The trimmed value, or `None` when unset, empty or not UTF-8 (the last is recorded).
    pub(crate) fn get(&mut self, var: &'static str) -> Option<String> {
        match (self.source)(var) {
            Lookup::Unset => None,
            Lookup::NotUnicode => {
                self.errors.push(ConfigError::NotUnicode { var });
                None
            }
            Lookup::Value(value) => {
                let value = value.trim();
                (!value.is_empty()).then(|| value.to_owned())
            }
        }
    }

    /// A secret, empty when unset (the config's own check reports it as missing).
    pub(crate) fn secret(&mut self, var: &'static str) -> Secret {
        Secret::new(self.get(var).unwrap_or_default())
    }

    /// `ENVIRONMENT`, production when unset or invalid (the latter is recorded).
    pub(crate) fn environment(&mut self) -> Environment {
        let Some(value) = self.get(ENVIRONMENT) else {
            return Environment::default();
        };
        value.parse().unwrap_or_else(|_| {
            self.errors.push(ConfigError::UnknownEnvironment {
                var: ENVIRONMENT,
                value,
            });
            Environment::default()
        })
    }

    /// Applies `parse` to the variable's value; `default` when unset or invalid.
    fn parsed<T>(
        &mut self,
        var: &'static str,
        default: T,
        parse: fn(&'static str, &str) -> Result<T, ConfigError>,
    ) -> T {
        match self.get(var) {
            None => default,
            Some(value) => parse(var, &value).unwrap_or_else(|error| {
                self.errors.push(error);
                default
            }),
        }
    }

    pub(crate) fn seconds(&mut self, var: &'static str, default: Duration) -> Duration {
        self.parsed(var, default, parse_seconds)
    }

    pub(crate) fn count(&mut self, var: &'static str, default: u32) -> u32 {
        self.parsed(var, default, parse_count)
    }

    pub(crate) fn flag(&mut self, var: &'static str, default: bool) -> bool {
        self.parsed(var, default, parse_bool)
    }

    pub(crate) fn base_url(&mut self, var: &'static str, default: BaseUrl) -> BaseUrl {
        self.parsed(var, default, BaseUrl::parse_var)
    }
}

/// Parses a number of seconds: `30`, `2.5`, `.5`, `+1`; at most nanosecond precision (further
/// digits are dropped). Zero and negative values are [`ConfigError::NotPositive`]; the maximum
/// is checked by the config, except for values too large to represent at all.
pub(crate) fn parse_seconds(var: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let not_seconds = || ConfigError::NotSeconds {
        var,
        value: value.to_owned(),
    };
    let (negative, unsigned) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(not_seconds());
    }
    let is_zero = whole.bytes().chain(fraction.bytes()).all(|b| b == b'0');
    if negative || is_zero {
        return Err(ConfigError::NotPositive { var });
    }
    let too_large = || ConfigError::TooLarge {
        var,
        value: value.to_owned(),
        maximum: format!("{MAX_TIMEOUT_SECS} seconds"),
    };
    let secs = if whole.is_empty() {
        0
    } else {
        whole.parse::<u64>().map_err(|_| too_large())?
    };
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    let duration = Duration::new(secs, 0)
        .checked_add(Duration::from_nanos(u64::from(nanos)))
        .ok_or_else(too_large)?;
    if duration.is_zero() {
        return Err(ConfigError::NotPositive { var });
    }
    Ok(duration)
}

/// Parses a whole, non-negative count. The maximum is checked by the config, except for values
/// that do not fit a `u32`.
pub(crate) fn parse_count(var: &'static str, value: &str) -> Result<u32, ConfigError> {
    let unsigned = value.strip_prefix('+').unwrap_or(value);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(magnitude) = value.strip_prefix('-') {
        if digits(magnitude) {
            return Err(if magnitude.bytes().all(|b| b == b'0') {
                ConfigError::NotWholeNumber {
                    var,
                    value: value.to_owned(),
                }
            } else {
                ConfigError::Negative {
                    var,
                    value: value.to_owned(),
                }
            });
        }
    }
    if !digits(unsigned) {
        return Err(ConfigError::NotWholeNumber {
            var,
            value: value.to_owned(),
        });
    }
    unsigned.parse::<u32>().map_err(|_| ConfigError::TooLarge {
        var,
        value: value.to_owned(),
        maximum: crate::MAX_RETRIES_LIMIT.to_string(),
    })
}

/// Parses `true/false`, `1/0`, `yes/no`, `on/off`, in any case.
pub(crate) fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::NotBoolean {
            var,
            value: value.to_owned(),
        }),
    }
}

/// Turns the collected problems into a result, ordered by variable (as in [`crate::vars::ALL`],
/// then field checks), keeping the order found within one variable.
pub(crate) fn finish(mut errors: Vec<ConfigError>) -> Result<(), ConfigErrors> {
    errors.sort_by_key(|error| {
        crate::vars::ALL
            .iter()
            .position(|var| *var == error.var())
            .unwrap_or(crate::vars::ALL.len())
    });
    ConfigErrors::check(errors)
}

/// Formats a duration as seconds the way a user would have typed it (`30`, `2.5`).
pub(crate) fn format_seconds(duration: Duration) -> String {
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    if nanos == 0 {
        secs.to_string()
    } else {
        let fraction = format!("{nanos:09}");
        format!("{secs}.{}", fraction.trim_end_matches('0'))
    }
}

/// Checks a request timeout (greater than zero, at most [`MAX_TIMEOUT_SECS`]).
pub(crate) fn check_timeout(var: &'static str, timeout: Duration, errors: &mut Vec<ConfigError>) {
    if timeout.is_zero() {
        errors.push(ConfigError::NotPositive { var });
    } else if timeout > Duration::from_secs(MAX_TIMEOUT_SECS) {
        errors.push(ConfigError::TooLarge {
            var,
            value: format_seconds(timeout),
            maximum: format!("{MAX_TIMEOUT_SECS} seconds"),
        });
    }
}

/// Checks a secret that will be sent in an `Authorization` header: present, printable ASCII
/// without spaces, not wrapped in quotes. Never echoes the value.
pub(crate) fn check_secret(var: &'static str, secret: &str, errors: &mut Vec<ConfigError>) {
    if secret.is_empty() {
        errors.push(ConfigError::Missing { var });
    } else if is_quoted(secret) {
        errors.push(ConfigError::SecretQuoted { var });
    } else if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        errors.push(ConfigError::SecretCharacters { var });
    }
}

fn is_quoted(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 2
        && matches!(
            (bytes[0], bytes[bytes.len() - 1]),
            (b'"', b'"') | (b'\'', b'\'')
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "HUBSPOT_TIMEOUT";
    const R: &str = "HUBSPOT_MAX_RETRIES";

    fn seconds_err(value: &str) -> String {
        parse_seconds(T, value).unwrap_err().to_string()
    }

    fn count_err(value: &str) -> String {
        parse_count(R, value).unwrap_err().to_string()
    }

    #[test]
    fn seconds_accept_integers_and_decimals() {
        for (input, expected) in [
            ("30", Duration::from_secs(30)),
            ("2.5", Duration::from_millis(2500)),
            ("0.1", Duration::from_millis(100)),
            (".5", Duration::from_millis(500)),
            ("5.", Duration::from_secs(5)),
            ("+7", Duration::from_secs(7)),
            ("007", Duration::from_secs(7)),
            ("0.000000001", Duration::from_nanos(1)),
            ("1.0000000019", Duration::from_nanos(1_000_000_001)),
            ("3600", Duration::from_secs(3600)),
        ] {
            assert_eq!(parse_seconds(T, input).unwrap(), expected, "{input:?}");
        }
    }

    #[test]
    fn seconds_refuse_everything_else_with_a_message() {
        for input in [
            "abc", "30s", "1e3", "inf", "NaN", "1.2.3", ".", "-", "+", "1,5", "- 1",
        ] {
            assert_eq!(
                seconds_err(input),
                format!("HUBSPOT_TIMEOUT={input:?} is not a number of seconds"),
                "{input:?}"
            );
        }
        assert_eq!(
            seconds_err("abc"),
            r#"HUBSPOT_TIMEOUT="abc" is not a number of seconds"#
        );
    }

    #[test]
    fn seconds_must_be_positive() {
        for input in ["0", "0.0", "-5", "-0.5", "-0", "0.0000000001"] {
            assert_eq!(
                seconds_err(input),
                "HUBSPOT_TIMEOUT must be greater than zero",
                "{input:?}"
            );
        }
        assert_eq!(
            seconds_err("-abc"),
            r#"HUBSPOT_TIMEOUT="-abc" is not a number of seconds"#
        );
    }

    #[test]
    fn seconds_too_large_to_represent_are_too_large() {
        assert_eq!(
            seconds_err("99999999999999999999999"),
            "HUBSPOT_TIMEOUT=99999999999999999999999 is more than the maximum of 3600 seconds"
        );
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count(R, "0").unwrap(), 0);
        assert_eq!(parse_count(R, "3").unwrap(), 3);
        assert_eq!(parse_count(R, "+4").unwrap(), 4);
        assert_eq!(
            parse_count(R, "99").unwrap(),
            99,
            "the maximum is the config's check"
        );
        assert_eq!(
            count_err("abc"),
            r#"HUBSPOT_MAX_RETRIES="abc" is not a whole number"#
        );
        assert_eq!(
            count_err("2.5"),
            r#"HUBSPOT_MAX_RETRIES="2.5" is not a whole number"#
        );
        assert_eq!(
            count_err(""),
            r#"HUBSPOT_MAX_RETRIES="" is not a whole number"#
        );
        assert_eq!(
            count_err("-1"),
            "HUBSPOT_MAX_RETRIES=-1 must not be negative"
        );
        assert_eq!(
            count_err("-0"),
            r#"HUBSPOT_MAX_RETRIES="-0" is not a whole number"#
        );
        assert_eq!(
            count_err("99999999999"),
            "HUBSPOT_MAX_RETRIES=99999999999 is more than the maximum of 10"
        );
    }

    #[test]
    fn booleans_in_every_spelling() {
        const V: &str = "HUBSPOT_CACHE_ENABLED";
        for input in ["true", "TRUE", "True", "1", "yes", "YES", "on", "On"] {
            assert!(parse_bool(V, input).unwrap(), "{input:?}");
        }
        for input in ["false", "FALSE", "0", "no", "No", "off", "OFF"] {
            assert!(!parse_bool(V, input).unwrap(), "{input:?}");
        }
        for input in ["maybe", "2", "y", "enabled", "t"] {
            assert_eq!(
                parse_bool(V, input).unwrap_err().to_string(),
                format!(
                    "HUBSPOT_CACHE_ENABLED={input:?} is not a boolean (use true/false, 1/0, yes/no or on/off)"
                )
            );
        }
    }

    #[test]
    fn seconds_format_like_typed() {
        assert_eq!(format_seconds(Duration::from_secs(7200)), "7200");
        assert_eq!(format_seconds(Duration::from_millis(4500)), "4.5");
        assert_eq!(format_seconds(Duration::from_nanos(1)), "0.000000001");
    }

    #[test]
    fn timeout_checks() {
        let mut errors = Vec::new();
        check_timeout(T, Duration::from_secs(30), &mut errors);
        check_timeout(T, Duration::from_secs(3600), &mut errors);
        assert!(errors.is_empty());
        check_timeout(T, Duration::ZERO, &mut errors);
        check_timeout(T, Duration::from_millis(3_600_500), &mut errors);
        let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "HUBSPOT_TIMEOUT must be greater than zero",
                "HUBSPOT_TIMEOUT=3600.5 is more than the maximum of 3600 seconds",
            ]
        );
    }

    #[test]
    fn secret_checks_never_echo_the_value() {
        const V: &str = "HUBSPOT_TOKEN";
        let check = |value: &str| {
            let mut errors = Vec::new();
            check_secret(V, value, &mut errors);
            errors.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        assert!(check("pat-na1-abc").is_empty());
        assert_eq!(check(""), ["HUBSPOT_TOKEN is missing"]);
        assert_eq!(
            check("\"pat-na1-s3cr3t\""),
            ["HUBSPOT_TOKEN is wrapped in quotes; remove them"]
        );
        assert_eq!(
            check("'pat-na1-s3cr3t'"),
            ["HUBSPOT_TOKEN is wrapped in quotes; remove them"]
        );
        assert_eq!(
            check("pat-na1 s3cr3t"),
            ["HUBSPOT_TOKEN contains whitespace or non-printable characters"]
        );
        assert_eq!(
            check("pat-na1\ns3cr3t"),
            ["HUBSPOT_TOKEN contains whitespace or non-printable characters"]
        );
        assert_eq!(
            check("pat-na1-s3cr3t\u{e9}"),
            ["HUBSPOT_TOKEN contains whitespace or non-printable characters"]
        );
    }

    #[test]
    fn reader_trims_treats_empty_as_unset_and_reports_non_unicode() {
        let mut source = |var: &str| match var {
            "A" => Lookup::Value("  x \t".into()),
            "B" => Lookup::Value("   ".into()),
            "C" => Lookup::NotUnicode,
            _ => Lookup::Unset,
        };
        let mut reader = Reader::new(&mut source);
        assert_eq!(reader.get("A").as_deref(), Some("x"));
        assert_eq!(reader.get("B"), None);
        assert_eq!(reader.get("C"), None);
        assert_eq!(reader.get("D"), None);
        let messages: Vec<_> = reader.errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages, ["C is not valid UTF-8"]);
    }

    #[test]
    fn reader_falls_back_to_defaults_and_records_the_problem() {
        let mut source = |var: &str| match var {
            "ENVIRONMENT" => Lookup::Value("qa".into()),
            "T" => Lookup::Value("abc".into()),
            "F" => Lookup::Value("nope".into()),
            _ => Lookup::Unset,
        };
        let mut reader = Reader::new(&mut source);
        assert_eq!(reader.environment(), Environment::Production);
        assert_eq!(
            reader.seconds("T", Duration::from_secs(9)),
            Duration::from_secs(9)
        );
        assert!(reader.flag("F", true));
        assert_eq!(reader.count("UNSET", 3), 3);
        let messages: Vec<_> = reader.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                r#"ENVIRONMENT="qa" is not one of production, staging, development, test"#,
                r#"T="abc" is not a number of seconds"#,
                r#"F="nope" is not a boolean (use true/false, 1/0, yes/no or on/off)"#,
            ]
        );
    }
}
