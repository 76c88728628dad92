//! Validated metric-name prefixes.

use crate::error::InvalidPrefix;
use std::fmt;
use std::sync::Arc;

/// The longest prefix accepted, in bytes.
pub const MAX_PREFIX_LEN: usize = 64;

/// A metric-name prefix (`"hubspot"`, `"manychat"`, `"my_service"`) validated to be a safe
/// Prometheus name: ASCII letters, digits and `_`, not starting with a digit, not starting with
/// the reserved `__`, at most [`MAX_PREFIX_LEN`] bytes, no colon (colons are reserved for
/// recording rules).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Prefix(Arc<str>);

impl Prefix {
    /// Validates `prefix`.
    ///
    /// # Errors
    ///
    /// [`InvalidPrefix`] when it is empty, too long, starts with a digit or `__`, or holds a
    /// character other than ASCII letters, digits and `_`.
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        let fail = |reason| {
            Err(InvalidPrefix {
                prefix: prefix.to_owned(),
                reason,
            })
        };
        if prefix.is_empty() {
            return fail("it is empty");
        }
        if prefix.len() > MAX_PREFIX_LEN {
            return fail("it is longer than 64 bytes");
        }
        if prefix.as_bytes()[0].is_ascii_digit() {
            return fail("it starts with a digit");
        }
        if prefix.starts_with("__") {
            return fail("names starting with `__` are reserved by Prometheus");
        }
        if !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return fail("only ASCII letters, digits and `_` are allowed");
        }
        Ok(Self(Arc::from(prefix)))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Prefix").field(&&*self.0).finish()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for Prefix {
    type Error = InvalidPrefix;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl std::str::FromStr for Prefix {
    type Err = InvalidPrefix;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_prometheus_safe_names() {
        for ok in [
            "hubspot",
            "manychat",
            "my_service",
            "_private",
            "a1",
            "A_B_9",
        ] {
            assert_eq!(Prefix::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_unsafe_names_with_a_reason() {
        let long = "a".repeat(65);
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("1abc", "digit"),
            ("__x", "reserved"),
            ("my-service", "only ASCII"),
            ("a:b", "only ASCII"),
            ("a b", "only ASCII"),
            ("héllo", "only ASCII"),
            (&long, "longer"),
        ];
        for (bad, why) in cases {
            let err = Prefix::new(bad).unwrap_err();
            assert!(err.reason().contains(why), "{bad:?}: {}", err.reason());
            assert_eq!(err.prefix(), *bad);
            assert!(err.to_string().starts_with("invalid metric prefix"));
        }
    }
}
