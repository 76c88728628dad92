//! Marker errors that let layers tell each other what happened without depending on each other.
//!
//! A layer returns one of these (or any error whose `source()` chain holds one), and every
//! classifier and policy in the workspace understands it by walking the chain with
//! [`find_in_chain`].

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// The caller gave up on the request (dropped it, or cancelled a token).
///
/// Classifiers treat an error whose chain holds a `Cancelled` as
/// [`Outcome::Neutral`](crate::Outcome::Neutral): a cancellation says nothing about the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request cancelled by the caller")
    }
}

impl Error for Cancelled {}

/// The request provably never reached the server (connection refused, DNS failure, TLS
/// handshake failure before any byte of the request was written).
///
/// The transport puts this in the error chain; retry policies may then repeat even a
/// non-idempotent request, since no side effect can have happened.
#[derive(Debug)]
pub struct NotSent {
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl NotSent {
    /// A `NotSent` marker with no further cause.
    pub fn new() -> Self {
        Self { source: None }
    }

    /// A `NotSent` marker wrapping the transport error that proves it.
    pub fn with_source(source: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        Self {
            source: Some(source.into()),
        }
    }
}

impl Default for NotSent {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request was not sent to the server")
    }
}

impl Error for NotSent {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// A local resilience layer refused the request before it reached the server: an open circuit
/// breaker, a rate-limit wait longer than the deadline, an exhausted retry budget.
///
/// Classifiers treat it as [`Outcome::Neutral`](crate::Outcome::Neutral) (it says nothing new
/// about the server, and must not feed a breaker its own rejections), and retry policies never
/// repeat it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    layer: &'static str,
    retry_after: Option<Duration>,
}

impl Rejected {
    /// A rejection by `layer` (a short name such as `"circuit_breaker"`), with an optional hint
    /// of when trying again may succeed.
    pub fn new(layer: &'static str, retry_after: Option<Duration>) -> Self {
        Self { layer, retry_after }
    }

    /// The name of the layer that refused the request.
    pub fn layer(&self) -> &'static str {
        self.layer
    }

    /// When trying again may succeed, if the layer knows.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request rejected locally by {}", self.layer)?;
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {:.3}s", wait.as_secs_f64())?;
        }
        Ok(())
    }
}

impl Error for Rejected {}

/// The attempt, or the whole call, ran out of time.
///
/// Timeout layers put this in their error's chain (or return it), so metrics can label the call
/// `timeout` and classifiers count it as a failure, without depending on the layer's crate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request timed out")
    }
}

impl Error for TimedOut {}

/// Finds the first error of type `T` in `error`'s `source()` chain, `error` itself included.
pub fn find_in_chain<'a, T: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn Error + Send + Sync>);
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapper")
        }
    }
    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn finds_markers_deep_in_the_chain() {
        let err = Wrapper(Box::new(NotSent::with_source(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ))));
        assert!(find_in_chain::<NotSent>(&err).is_some());
        assert!(find_in_chain::<std::io::Error>(&err).is_some());
        assert!(find_in_chain::<Cancelled>(&err).is_none());
    }

    #[test]
    fn rejected_says_who_and_when() {
        let r = Rejected::new("circuit_breaker", Some(Duration::from_millis(1500)));
        assert_eq!(
            r.to_string(),
            "request rejected locally by circuit_breaker; retry after 1.500s"
        );
        assert_eq!(r.layer(), "circuit_breaker");
        assert_eq!(
            Rejected::new("x", None).to_string(),
            "request rejected locally by x"
        );
    }
}
