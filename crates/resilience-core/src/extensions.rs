//! Request extensions through which a client tells the layers what a request is.
//!
//! Insert them with `request.extensions_mut().insert(...)`. They live here, not in the layers
//! that read them, so a client can mark a request once and every layer (retry, cache, metrics,
//! rate limiter) agrees without depending on each other.

use std::borrow::Cow;

/// The logical operation a request performs (`"contacts.get"`), used as the metrics label and
/// the rate-limiter key. Names must come from a small fixed set: never put IDs in them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operation(pub Cow<'static, str>);

impl Operation {
    /// An operation with a static name.
    pub const fn new(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// The operation's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Marks a request as safe to repeat even though its method is not idempotent (a HubSpot batch
/// read is a `POST` with no side effect). Retry policies may repeat such a request after any
/// retryable outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Idempotent;

/// Marks a request whose successful response may be cached even though its method is not
/// `GET`/`HEAD` (a search or batch read sent as `POST`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cacheable;

/// The instant by which the whole logical call (all attempts and waits) must finish.
///
/// Set by the total-deadline layer; read by the retry policy (no retry that cannot finish in
/// time) and the rate limiter (no wait past it). The instant is on **tokio's clock**: create it
/// with `tokio::time::Instant::now().into_std() + timeout` and compare it with
/// `tokio::time::Instant::from_std(deadline.0)` against `tokio::time::Instant::now()`, so tests
/// with a paused clock see consistent time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(pub std::time::Instant);

/// Whether a request may be repeated after an outcome that does not prove it never reached the
/// server: its method is safe and idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE), it
/// carries the [`Idempotent`] extension, or it has an `Idempotency-Key` header.
pub fn is_idempotent<B>(request: &http::Request<B>) -> bool {
    use http::Method;
    matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    ) || request.extensions().get::<Idempotent>().is_some()
        || request.headers().contains_key("idempotency-key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str) -> http::Request<()> {
        http::Request::builder()
            .method(method)
            .uri("/")
            .body(())
            .unwrap()
    }

    #[test]
    fn idempotency_rules() {
        for m in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] {
            assert!(is_idempotent(&req(m)), "{m}");
        }
        assert!(!is_idempotent(&req("POST")));
        assert!(!is_idempotent(&req("PATCH")));
        let mut marked = req("POST");
        marked.extensions_mut().insert(Idempotent);
        assert!(is_idempotent(&marked));
        let keyed = http::Request::builder()
            .method("PATCH")
            .header("Idempotency-Key", "abc")
            .body(())
            .unwrap();
        assert!(is_idempotent(&keyed));
    }

    #[test]
    fn operation_names() {
        assert_eq!(Operation::new("contacts.get").as_str(), "contacts.get");
    }
}
