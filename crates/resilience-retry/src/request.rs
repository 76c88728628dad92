//! What the retry policy and the deadline layer need to know about a request: whether it can
//! be copied for another attempt, whether repeating it is safe, and its deadline.
//!
//! Implemented for `http::Request<B>`; for any other request type, wrap it in [`Replayable`]
//! or implement [`RetryableRequest`] and [`HasDeadline`] yourself.

use http_body::Body;
use resilience_core::extensions::{Deadline, is_idempotent};

/// A request that may carry a total [`Deadline`] for the whole call.
///
/// Both methods have defaults (no deadline; setting one is ignored), so `impl HasDeadline for
/// MyRequest {}` is enough for a request type that does not carry one; the
/// [`Deadline`](crate::Deadline) layer still enforces its timeout around such requests, only the
/// layers inside it cannot see it.
pub trait HasDeadline {
    /// The instant by which the whole call must finish, if any.
    fn deadline(&self) -> Option<Deadline> {
        None
    }

    /// Records the deadline on the request so the layers inside can see it.
    fn set_deadline(&mut self, deadline: Deadline) {
        let _ = deadline;
    }
}

/// The replay and idempotency rules the retry policy applies to a request type.
///
/// # Example: a request type of your own
///
/// ```
/// use resilience_retry::{HasDeadline, RetryableRequest};
///
/// #[derive(Clone)]
/// struct Query {
///     sql: String,
///     read_only: bool,
/// }
///
/// impl HasDeadline for Query {}
///
/// impl RetryableRequest for Query {
///     fn try_clone(&self, max_replay_bytes: u64) -> Option<Self> {
///         (self.sql.len() as u64 <= max_replay_bytes).then(|| self.clone())
///     }
///     fn is_idempotent(&self) -> bool {
///         self.read_only
///     }
/// }
/// ```
pub trait RetryableRequest: HasDeadline + Sized {
    /// A copy for another attempt, or `None` when the request cannot be replayed (a streaming
    /// body, or a body larger than `max_replay_bytes`); such a request is sent once.
    fn try_clone(&self, max_replay_bytes: u64) -> Option<Self>;

    /// Whether repeating the request is safe even when the first attempt may have reached the
    /// server. A non-idempotent request is still retried after an error that proves it was not
    /// sent ([`NotSent`](resilience_core::NotSent)) or a throttling rejection (429, 503 with
    /// `Retry-After`).
    fn is_idempotent(&self) -> bool;

    /// Whether [`try_clone`](Self::try_clone) would succeed, without copying anything.
    fn is_replayable(&self, max_replay_bytes: u64) -> bool {
        self.try_clone(max_replay_bytes).is_some()
    }
}

impl<B> HasDeadline for http::Request<B> {
    fn deadline(&self) -> Option<Deadline> {
        self.extensions().get::<Deadline>().copied()
    }

    fn set_deadline(&mut self, deadline: Deadline) {
        self.extensions_mut().insert(deadline);
    }
}

/// HTTP requests replay when their body is `Clone` and its size is known exactly and at most
/// the limit (`Full<Bytes>`, `String`, `Empty`); idempotency follows
/// [`resilience_core::extensions::is_idempotent`]: GET, HEAD, OPTIONS, PUT, DELETE, TRACE, the
/// [`Idempotent`](resilience_core::extensions::Idempotent) extension or an `Idempotency-Key`
/// header.
impl<B> RetryableRequest for http::Request<B>
where
    B: Body + Clone,
{
    fn try_clone(&self, max_replay_bytes: u64) -> Option<Self> {
        self.is_replayable(max_replay_bytes).then(|| self.clone())
    }

    fn is_idempotent(&self) -> bool {
        is_idempotent(self)
    }

    fn is_replayable(&self, max_replay_bytes: u64) -> bool {
        self.body()
            .size_hint()
            .exact()
            .is_some_and(|len| len <= max_replay_bytes)
    }
}

/// Wraps a request of any `Clone` type so the retry policy can replay it.
///
/// The wrapped request is idempotent unless built with [`Replayable::non_idempotent`], in which
/// case it is only retried after a [`NotSent`](resilience_core::NotSent) error or throttling.
/// Its size is not checked against the replay limit (it is already in memory). It carries the
/// deadline set by the [`Deadline`](crate::Deadline) layer, so an inner service can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayable<T> {
    request: T,
    idempotent: bool,
    deadline: Option<Deadline>,
}

impl<T> Replayable<T> {
    /// An idempotent request: retried after any retryable outcome.
    pub fn new(request: T) -> Self {
        Self {
            request,
            idempotent: true,
            deadline: None,
        }
    }

    /// A request with side effects: retried only when it provably was not sent, or throttled.
    pub fn non_idempotent(request: T) -> Self {
        Self {
            request,
            idempotent: false,
            deadline: None,
        }
    }

    /// The wrapped request.
    pub fn get_ref(&self) -> &T {
        &self.request
    }

    /// The wrapped request, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.request
    }

    /// Unwraps the request.
    pub fn into_inner(self) -> T {
        self.request
    }
}

impl<T> From<T> for Replayable<T> {
    fn from(request: T) -> Self {
        Self::new(request)
    }
}

impl<T> HasDeadline for Replayable<T> {
    fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }

    fn set_deadline(&mut self, deadline: Deadline) {
        self.deadline = Some(deadline);
    }
}

impl<T: Clone> RetryableRequest for Replayable<T> {
    fn try_clone(&self, _max_replay_bytes: u64) -> Option<Self> {
        Some(self.clone())
    }

    fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    fn is_replayable(&self, _max_replay_bytes: u64) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilience_core::extensions::Idempotent;

    fn request(method: &str, body: &str) -> http::Request<String> {
        http::Request::builder()
            .method(method)
            .uri("/x")
            .body(body.to_owned())
            .unwrap()
    }

    #[test]
    fn http_replay_respects_the_limit_and_keeps_extensions() {
        let mut req = request("POST", "12345");
        req.extensions_mut().insert(Idempotent);
        let copy = req.try_clone(5).expect("fits");
        assert_eq!(copy.body(), "12345");
        assert!(copy.extensions().get::<Idempotent>().is_some());
        assert!(req.try_clone(4).is_none());
    }

    #[test]
    fn http_idempotency_follows_core_rules() {
        assert!(request("GET", "").is_idempotent());
        assert!(!request("POST", "").is_idempotent());
        let mut keyed = request("PATCH", "");
        keyed
            .headers_mut()
            .insert("idempotency-key", "k1".parse().unwrap());
        assert!(keyed.is_idempotent());
    }

    #[test]
    fn deadlines_roundtrip() {
        let at = Deadline(std::time::Instant::now());
        let mut req = request("GET", "");
        assert_eq!(req.deadline(), None);
        req.set_deadline(at);
        assert_eq!(req.deadline(), Some(at));
        let mut wrapped = Replayable::new(5u8);
        wrapped.set_deadline(at);
        assert_eq!(wrapped.deadline(), Some(at));
        assert!(wrapped.is_idempotent());
        assert!(!Replayable::non_idempotent(1u8).is_idempotent());
    }
}
