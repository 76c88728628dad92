//! The transport's errors: an opaque [`TransportError`] with predicates, and [`BuildError`].

use resilience_core::{BoxError, NotSent, Rejected, TimedOut};
use std::error::Error;
use std::fmt;

/// Why the transport could not deliver a request or read its response.
///
/// Opaque on purpose (like hyper-util's own error): ask it with the predicates. Its `source()`
/// chain holds [`NotSent`] when the request provably never reached the server (the connection
/// could not be made), and [`TimedOut`] after `NotSent` for a connect timeout, so retry policies
/// and classifiers can read it without depending on this crate.
///
/// It never holds a request header, so a token cannot leak through it.
pub struct TransportError {
    kind: Kind,
    source: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The connection could not be made (refused, DNS, TLS handshake).
    Connect,
    /// The TCP connect did not finish within the connect timeout.
    ConnectTimeout,
    /// The request was (perhaps partly) sent, then the exchange failed.
    Request,
    /// The response head arrived, then reading its body failed.
    Body,
    /// The response body is larger than the cap.
    BodyTooLarge { limit: usize, declared: Option<u64> },
    /// Plain `http://` to a host that is not loopback, which the client refuses by default.
    PlainHttp,
}

impl TransportError {
    /// Wraps an error of hyper-util's pooled client.
    pub(crate) fn from_client(error: hyper_util::client::legacy::Error) -> Self {
        if error.is_connect() {
            if connect_timed_out(&error) {
                // The chain ends in `TimedOut`, which has no source; the hyper-util error only
                // says "tcp connect error: connect timeout", which the kind already tells.
                Self {
                    kind: Kind::ConnectTimeout,
                    source: Some(Box::new(NotSent::with_source(TimedOut))),
                }
            } else {
                Self {
                    kind: Kind::Connect,
                    source: Some(Box::new(NotSent::with_source(error))),
                }
            }
        } else {
            Self {
                kind: Kind::Request,
                source: Some(Box::new(error)),
            }
        }
    }

    /// The request was refused before any connection: plain HTTP to a non-loopback host.
    pub(crate) fn plain_http() -> Self {
        Self {
            kind: Kind::PlainHttp,
            source: Some(Box::new(NotSent::with_source(Rejected::new(
                "transport",
                None,
            )))),
        }
    }

    /// Reading the response body failed.
    pub(crate) fn body(error: BoxError) -> Self {
        Self {
            kind: Kind::Body,
            source: Some(error),
        }
    }

    /// The response body is over `limit` bytes (`declared` when its `Content-Length` said so).
    pub(crate) fn body_too_large(limit: usize, declared: Option<u64>) -> Self {
        Self {
            kind: Kind::BodyTooLarge { limit, declared },
            source: None,
        }
    }

    /// `true` when the request was refused because it would have gone over plain HTTP to a host
    /// that is not loopback (see [`HttpClientBuilder::allow_plain_http`](super::HttpClientBuilder::allow_plain_http)).
    pub fn is_plain_http_refused(&self) -> bool {
        matches!(self.kind, Kind::PlainHttp)
    }

    /// `true` when the connection could not be made, so the request was never sent (connection
    /// refused, DNS failure, TLS handshake failure, connect timeout). The chain holds
    /// [`NotSent`].
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::ConnectTimeout)
    }

    /// `true` when the connect timeout elapsed. The chain holds [`NotSent`] and [`TimedOut`].
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::ConnectTimeout)
    }

    /// `true` when the response body was over the configured cap; it was not read into memory.
    pub fn is_body_too_large(&self) -> bool {
        matches!(self.kind, Kind::BodyTooLarge { .. })
    }

    /// `true` when the response head arrived but reading its body failed.
    pub fn is_body(&self) -> bool {
        matches!(self.kind, Kind::Body)
    }

    /// The cap a too-large body broke, for [`is_body_too_large`](Self::is_body_too_large) errors.
    pub fn body_limit(&self) -> Option<usize> {
        match self.kind {
            Kind::BodyTooLarge { limit, .. } => Some(limit),
            _ => None,
        }
    }
}

/// `true` when a connect error's chain holds an I/O error of kind `TimedOut` (hyper-util's
/// connect timeout, or the OS giving up on the handshake).
fn connect_timed_out(error: &(dyn Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        current = err.source();
    }
    false
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransportError");
        d.field("kind", &self.kind);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Connect => f.write_str("connection failed, request not sent"),
            Kind::ConnectTimeout => f.write_str("connect timed out, request not sent"),
            Kind::Request => f.write_str("request failed"),
            Kind::Body => f.write_str("failed to read the response body"),
            Kind::PlainHttp => f.write_str(
                "refused to send a request over plain http to a non-loopback host; use https or \
                 allow plain http explicitly",
            ),
            Kind::BodyTooLarge {
                limit,
                declared: Some(length),
            } => write!(
                f,
                "response body of {length} bytes (content-length) exceeds the limit of {limit} bytes"
            ),
            Kind::BodyTooLarge {
                limit,
                declared: None,
            } => write!(f, "response body exceeds the limit of {limit} bytes"),
        }
    }
}

impl Error for TransportError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// The HTTP client could not be built (the TLS configuration was refused).
#[derive(Debug)]
pub struct BuildError {
    source: rustls::Error,
}

impl BuildError {
    pub(crate) fn tls(source: rustls::Error) -> Self {
        Self { source }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failed to set up tls for the http client")
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilience_core::find_in_chain;

    #[derive(Debug)]
    struct Wrap(std::io::Error);
    impl fmt::Display for Wrap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("tcp connect error")
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn connect_timeout_is_found_deep_in_the_chain() {
        let timed_out = Wrap(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timeout",
        ));
        assert!(connect_timed_out(&timed_out));
        let refused = Wrap(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(!connect_timed_out(&refused));
    }

    #[test]
    fn body_too_large_says_the_limit_and_has_no_not_sent() {
        let declared = TransportError::body_too_large(1024, Some(4096));
        assert!(declared.is_body_too_large() && !declared.is_connect());
        assert_eq!(declared.body_limit(), Some(1024));
        assert_eq!(
            declared.to_string(),
            "response body of 4096 bytes (content-length) exceeds the limit of 1024 bytes"
        );
        let streamed = TransportError::body_too_large(10, None);
        assert_eq!(
            streamed.to_string(),
            "response body exceeds the limit of 10 bytes"
        );
        // The server did receive the request: no `NotSent` marker.
        assert!(find_in_chain::<NotSent>(&declared).is_none());
        assert_eq!(TransportError::body("x".into()).body_limit(), None);
    }
}
