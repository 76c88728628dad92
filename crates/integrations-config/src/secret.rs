use std::fmt;

/// A secret string (an API token or key) that never prints.
///
/// `Debug` and `Display` both print `[redacted]`; the value is reachable only through
/// [`Secret::expose`], so every use of the real value is easy to find in review.
///
/// ```
/// use integrations_config::Secret;
///
/// let token = Secret::new("pat-na1-0000");
/// assert_eq!(format!("{token} {token:?}"), "[redacted] [redacted]");
/// assert_eq!(token.expose(), "pat-na1-0000");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_boxed_str())
    }

    /// The secret value itself. Call it only where the value is sent (an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([redacted])");
        assert!(!format!("{s:#?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
