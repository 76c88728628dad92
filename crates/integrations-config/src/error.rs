use std::fmt;

/// One configuration problem, naming the environment variable (or config field) at fault.
///
/// Values are echoed only for variables that are not secret; tokens and API keys are never part
/// of a message, and a URL's `user:password@` part is replaced by `[redacted]` before it is stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset, empty or only whitespace.
    #[error("{var} is missing")]
    Missing {
        /// The variable's name.
        var: &'static str,
    },

    /// The variable is set but its value is not valid UTF-8 (only possible with `from_env`).
    #[error("{var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: &'static str,
    },

    /// A timeout is not a plain number of seconds (`30`, `2.5`).
    #[error("{var}={value:?} is not a number of seconds")]
    NotSeconds {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed).
        value: String,
    },

    /// A count is not a whole number.
    #[error("{var}={value:?} is not a whole number")]
    NotWholeNumber {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed).
        value: String,
    },

    /// A count is negative.
    #[error("{var}={value} must not be negative")]
    Negative {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed).
        value: String,
    },

    /// A duration is zero or negative.
    #[error("{var} must be greater than zero")]
    NotPositive {
        /// The variable's name.
        var: &'static str,
    },

    /// A number is above the largest value this crate accepts.
    #[error("{var}={value} is more than the maximum of {maximum}")]
    TooLarge {
        /// The variable's name.
        var: &'static str,
        /// The value as given (or as configured).
        value: String,
        /// The maximum, with its unit (`10`, `3600 seconds`).
        maximum: String,
    },

    /// A flag is not one of `true/false`, `1/0`, `yes/no`, `on/off`.
    #[error("{var}={value:?} is not a boolean (use true/false, 1/0, yes/no or on/off)")]
    NotBoolean {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed).
        value: String,
    },

    /// `ENVIRONMENT` names no known environment.
    #[error("{var}={value:?} is not one of production, staging, development, test")]
    UnknownEnvironment {
        /// The variable's name (`ENVIRONMENT`).
        var: &'static str,
        /// The value as given (trimmed).
        value: String,
    },

    /// A base URL does not parse as a URL.
    #[error("{var}={value:?} is not a valid URL")]
    InvalidUrl {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed, credentials redacted).
        value: String,
        /// Why the URL parser refused it.
        #[source]
        source: http::uri::InvalidUri,
    },

    /// A base URL's scheme is not `http` or `https` (or it has no scheme).
    #[error("{var}={value:?} must be an http or https URL")]
    UrlScheme {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed, credentials redacted).
        value: String,
    },

    /// A base URL has no host.
    #[error("{var}={value:?} has no host")]
    UrlNoHost {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed, credentials redacted).
        value: String,
    },

    /// A base URL's port is not a number from 0 to 65535 (often a `user:password@` whose
    /// password holds a `/`, which ends the authority early).
    #[error("{var}={value:?} has an invalid port")]
    UrlPort {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed, credentials redacted).
        value: String,
    },

    /// A base URL carries a query string or a fragment, which a base URL cannot use.
    #[error("{var}={value:?} must not have a query string or fragment")]
    UrlQuery {
        /// The variable's name.
        var: &'static str,
        /// The value as given (trimmed, credentials redacted).
        value: String,
    },

    /// A base URL carries `user:password@`; credentials belong in the token variables.
    #[error("{var}={value:?} must not contain credentials")]
    UrlCredentials {
        /// The variable's name.
        var: &'static str,
        /// The value with its credentials replaced by `[redacted]`.
        value: String,
    },

    /// A secret holds a space, a line break or another non-printable character.
    #[error("{var} contains whitespace or non-printable characters")]
    SecretCharacters {
        /// The variable's name.
        var: &'static str,
    },

    /// A secret is wrapped in quotes (a common `.env` mistake); the quotes would be sent.
    #[error("{var} is wrapped in quotes; remove them")]
    SecretQuoted {
        /// The variable's name.
        var: &'static str,
    },

    /// The ManyChat key has no page id: it holds no colon and no page id variable is set.
    #[error("{var} has no page id: set MANYCHAT_PAGE_ID or give the key as <page_id>:<api_key>")]
    NoPageId {
        /// The variable's name (`MANYCHAT_API_KEY`).
        var: &'static str,
    },

    /// The ManyChat key is `<page_id>:` with nothing after the colon.
    #[error("{var} has no key after the page id")]
    NoKeyAfterPageId {
        /// The variable's name (`MANYCHAT_API_KEY`).
        var: &'static str,
    },

    /// A ManyChat page id is not a number (page ids are numeric Facebook page ids).
    #[error("{var} holds a page id that is not numeric")]
    PageIdNotNumeric {
        /// The variable holding the bad page id (`MANYCHAT_PAGE_ID` or `MANYCHAT_API_KEY`).
        var: &'static str,
    },

    /// `MANYCHAT_PAGE_ID` differs from the page id inside a `<page_id>:<api_key>` key.
    #[error("{var} does not match the page id in {key_var}")]
    PageIdMismatch {
        /// The page id variable (`MANYCHAT_PAGE_ID`).
        var: &'static str,
        /// The key variable (`MANYCHAT_API_KEY`).
        key_var: &'static str,
    },

    /// A programmatically set field holds a value that cannot work (`retry.multiplier` below 1).
    #[error("{field} {reason}")]
    InvalidField {
        /// The field's path (`retry.multiplier`).
        field: &'static str,
        /// What is wrong, as the end of a sentence (`must be at least 1`).
        reason: &'static str,
    },
}

impl ConfigError {
    /// The environment variable (or, for [`ConfigError::InvalidField`], the field) at fault.
    pub fn var(&self) -> &'static str {
        match self {
            Self::Missing { var }
            | Self::NotUnicode { var }
            | Self::NotSeconds { var, .. }
            | Self::NotWholeNumber { var, .. }
            | Self::Negative { var, .. }
            | Self::NotPositive { var }
            | Self::TooLarge { var, .. }
            | Self::NotBoolean { var, .. }
            | Self::UnknownEnvironment { var, .. }
            | Self::InvalidUrl { var, .. }
            | Self::UrlScheme { var, .. }
            | Self::UrlNoHost { var, .. }
            | Self::UrlPort { var, .. }
            | Self::UrlQuery { var, .. }
            | Self::UrlCredentials { var, .. }
            | Self::SecretCharacters { var }
            | Self::SecretQuoted { var }
            | Self::NoPageId { var }
            | Self::NoKeyAfterPageId { var }
            | Self::PageIdNotNumeric { var }
            | Self::PageIdMismatch { var, .. } => var,
            Self::InvalidField { field, .. } => field,
        }
    }
}

/// Every problem found while loading or validating a configuration (loaders order them by
/// variable, as in [`crate::vars::ALL`]).
///
/// Loading never stops at the first bad variable: fix everything this lists and load again.
/// `Display` prints one problem per line:
///
/// ```text
/// invalid configuration (2 problems):
///   HUBSPOT_TOKEN is missing
///   HUBSPOT_TIMEOUT="abc" is not a number of seconds
/// ```
#[derive(Debug)]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Wraps a list of problems. Returns `Ok(())` when the list is empty.
    ///
    /// # Errors
    ///
    /// Returns the list as a [`ConfigErrors`] when it holds at least one problem.
    pub fn check(errors: Vec<ConfigError>) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self { errors })
        }
    }

    /// Wraps a list known to hold at least one problem.
    pub(crate) fn from_vec(errors: Vec<ConfigError>) -> Self {
        debug_assert!(!errors.is_empty(), "ConfigErrors without a problem");
        Self { errors }
    }

    /// The problems, in order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    /// How many problems there are (at least one).
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always `false`: a `ConfigErrors` holds at least one problem.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems, by value.
    pub fn into_vec(self) -> Vec<ConfigError> {
        self.errors
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [one] => write!(f, "invalid configuration: {one}"),
            many => {
                write!(f, "invalid configuration ({} problems):", many.len())?;
                for error in many {
                    write!(f, "\n  {error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_problem_prints_on_one_line() {
        let errors = ConfigErrors::from(ConfigError::Missing {
            var: "HUBSPOT_TOKEN",
        });
        assert_eq!(
            errors.to_string(),
            "invalid configuration: HUBSPOT_TOKEN is missing"
        );
        assert_eq!(errors.len(), 1);
        assert!(!errors.is_empty());
    }

    #[test]
    fn many_problems_print_one_per_line() {
        let errors = ConfigErrors::check(vec![
            ConfigError::Missing {
                var: "HUBSPOT_TOKEN",
            },
            ConfigError::NotSeconds {
                var: "HUBSPOT_TIMEOUT",
                value: "abc".into(),
            },
        ])
        .unwrap_err();
        assert_eq!(
            errors.to_string(),
            "invalid configuration (2 problems):\n  HUBSPOT_TOKEN is missing\n  \
             HUBSPOT_TIMEOUT=\"abc\" is not a number of seconds"
        );
        let vars: Vec<_> = errors.iter().map(ConfigError::var).collect();
        assert_eq!(vars, ["HUBSPOT_TOKEN", "HUBSPOT_TIMEOUT"]);
    }

    #[test]
    fn an_empty_list_is_ok() {
        assert!(ConfigErrors::check(Vec::new()).is_ok());
    }

    #[test]
    fn invalid_url_keeps_its_source() {
        use std::error::Error as _;
        let source = "http://a b".parse::<http::Uri>().unwrap_err();
        let error = ConfigError::InvalidUrl {
            var: "HUBSPOT_BASE_URL",
            value: "http://a b".into(),
            source,
        };
        assert_eq!(
            error.to_string(),
            "HUBSPOT_BASE_URL=\"http://a b\" is not a valid URL"
        );
        assert!(error.source().is_some());
    }

    #[test]
    fn values_are_debug_quoted_so_control_characters_stay_visible() {
        let error = ConfigError::NotBoolean {
            var: "HUBSPOT_CACHE_ENABLED",
            value: "tr\nue".into(),
        };
        assert_eq!(
            error.to_string(),
            "HUBSPOT_CACHE_ENABLED=\"tr\\nue\" is not a boolean (use true/false, 1/0, yes/no or on/off)"
        );
    }
}
