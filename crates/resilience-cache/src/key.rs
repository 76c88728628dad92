//! Which requests the cache layer may answer, and under which key.

use bytes::Buf;
use http::header::{AUTHORIZATION, COOKIE, HeaderName, PROXY_AUTHORIZATION};
use http::{HeaderValue, Method, Request};
use http_body::Body;
use resilience_core::extensions::Cacheable;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The largest request body [`HttpKey`] hashes into a key; a larger body makes the request
/// uncacheable.
pub const MAX_KEYED_BODY_BYTES: usize = 1024 * 1024;

/// Decides whether a request may be answered from the cache, and under which key.
///
/// Returning `None` sends the request straight to the inner service and caches nothing.
/// Implemented by [`HttpKey`] and by every closure `Fn(&Req) -> Option<K>`.
pub trait KeyFn<Req> {
    /// The cache key.
    type Key: Eq + Hash + Clone + Send + Sync + 'static;

    /// The key for `request`, or `None` when it must not be cached.
    fn key(&self, request: &Req) -> Option<Self::Key>;
}

impl<Req, K, F> KeyFn<Req> for F
where
    F: Fn(&Req) -> Option<K>,
    K: Eq + Hash + Clone + Send + Sync + 'static,
{
    type Key = K;

    fn key(&self, request: &Req) -> Option<K> {
        self(request)
    }
}

/// The default key function for HTTP requests.
///
/// - Cacheable requests: `GET` and `HEAD`, and any request carrying the
///   [`Cacheable`](resilience_core::extensions::Cacheable) extension (a search sent as `POST`).
/// - The key is `"{METHOD} {URI}"`, then each header chosen with [`vary_on`](Self::vary_on) as
///   `"\n{name}: {value}"`.
/// - Credentials are never stored: when the request has `Authorization`,
///   `Proxy-Authorization` or `Cookie` (or a chosen header whose value is marked sensitive), the
///   key holds the SHA-256 of the value instead (`"\nauthorization#sha256: {hex}"`), so
///   responses for different tokens never mix and no token sits in memory as a key.
/// - For a non-`GET`/`HEAD` request, the SHA-256 of the body is part of the key. The body is read
///   from a clone without waiting, which works for in-memory bodies (`Full<Bytes>`, `String`);
///   a body that is not immediately ready, fails, or exceeds [`MAX_KEYED_BODY_BYTES`] makes the
///   request uncacheable.
#[derive(Debug, Clone, Default)]
pub struct HttpKey {
    vary: Vec<HeaderName>,
}

/// Headers that carry credentials: always hashed into the key when present.
const CREDENTIAL_HEADERS: [HeaderName; 3] = [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE];

impl HttpKey {
    /// The default rules, keyed by method, URI and credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also keys by `header` (for example `Accept` or `Accept-Language`).
    pub fn vary_on(mut self, header: HeaderName) -> Self {
        if !self.vary.contains(&header) && !CREDENTIAL_HEADERS.contains(&header) {
            self.vary.push(header);
        }
        self
    }

    /// The key for the parts of a request; `body_digest` is computed only when needed.
    fn key_for(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        cacheable_extension: bool,
        body_digest: impl FnOnce() -> Option<[u8; 32]>,
    ) -> Option<String> {
        let safe = *method == Method::GET || *method == Method::HEAD;
        if !safe && !cacheable_extension {
            return None;
        }
        let mut key = format!("{method} {uri}");
        for name in &self.vary {
            let values: Vec<&HeaderValue> = headers.get_all(name).iter().collect();
            if values.is_empty() {
                continue;
            }
            if values.iter().any(|v| v.is_sensitive()) {
                push_digest(&mut key, name.as_str(), values.iter().map(|v| v.as_bytes()));
            } else {
                let _ = write!(key, "\n{name}: ");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        key.push_str(", ");
                    }
                    match value.to_str() {
                        Ok(text) => key.push_str(text),
                        Err(_) => key.push_str(&hex::encode(value.as_bytes())),
                    }
                }
            }
        }
        for name in &CREDENTIAL_HEADERS {
            let mut values = headers.get_all(name).iter().peekable();
            if values.peek().is_some() {
                push_digest(&mut key, name.as_str(), values.map(|v| v.as_bytes()));
            }
        }
        if !safe {
            let digest = body_digest()?;
            let _ = write!(key, "\nbody#sha256: {}", hex::encode(digest));
        }
        Some(key)
    }
}

fn push_digest<'a>(key: &mut String, name: &str, values: impl Iterator<Item = &'a [u8]>) {
    let mut hasher = Sha256::new();
    for (i, value) in values.enumerate() {
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(value);
    }
    let _ = write!(key, "\n{name}#sha256: {}", hex::encode(hasher.finalize()));
}

/// Hashes a body by polling a clone of it with a no-op waker: only bodies that are ready at once
/// (in memory) can be keyed.
fn body_digest<B>(body: &B) -> Option<[u8; 32]>
where
    B: Body + Clone + Unpin,
{
    let mut body = body.clone();
    let mut cx = Context::from_waker(Waker::noop());
    let mut hasher = Sha256::new();
    let mut total = 0usize;
    loop {
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(None) => return Some(hasher.finalize().into()),
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(mut data) = frame.into_data() {
                    while data.has_remaining() {
                        let chunk = data.chunk();
                        total = total.saturating_add(chunk.len());
                        if total > MAX_KEYED_BODY_BYTES {
                            return None;
                        }
                        hasher.update(chunk);
                        let n = chunk.len();
                        data.advance(n);
                    }
                }
            }
            Poll::Ready(Some(Err(_))) | Poll::Pending => return None,
        }
    }
}

impl<B> KeyFn<Request<B>> for HttpKey
where
    B: Body + Clone + Unpin,
{
    type Key = String;

    fn key(&self, request: &Request<B>) -> Option<String> {
        self.key_for(
            request.method(),
            request.uri(),
            request.headers(),
            request.extensions().get::<Cacheable>().is_some(),
            || body_digest(request.body()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, body: &str) -> Request<String> {
        Request::builder()
            .method(method)
            .uri("https://api.example.com/crm/v3/objects/contacts?limit=10")
            .body(body.to_owned())
            .unwrap()
    }

    #[test]
    fn only_safe_or_marked_requests_get_a_key() {
        let key = HttpKey::new();
        assert_eq!(
            key.key(&request("GET", "")).as_deref(),
            Some("GET https://api.example.com/crm/v3/objects/contacts?limit=10")
        );
        assert!(key.key(&request("HEAD", "")).is_some());
        assert!(key.key(&request("POST", "{}")).is_none());
        assert!(key.key(&request("DELETE", "")).is_none());
        let mut search = request("POST", r#"{"q":"a"}"#);
        search.extensions_mut().insert(Cacheable);
        let a = key.key(&search).unwrap();
        assert!(a.starts_with("POST https://api.example.com/"));
        assert!(a.contains("\nbody#sha256: "));
        let mut other = request("POST", r#"{"q":"b"}"#);
        other.extensions_mut().insert(Cacheable);
        assert_ne!(key.key(&other).unwrap(), a, "bodies are part of the key");
    }

    #[test]
    fn tokens_are_hashed_never_stored() {
        let key = HttpKey::new().vary_on(http::header::ACCEPT);
        let mut a = request("GET", "");
        a.headers_mut().insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer secret-token-a"),
        );
        a.headers_mut().insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let mut b = a.clone();
        b.headers_mut().insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer secret-token-b"),
        );
        let (ka, kb) = (key.key(&a).unwrap(), key.key(&b).unwrap());
        assert_ne!(ka, kb);
        assert!(!ka.contains("secret-token"), "{ka}");
        assert!(ka.contains("\naccept: application/json"), "{ka}");
        assert!(ka.contains("\nauthorization#sha256: "), "{ka}");
        // Asking to vary on a credential header still hashes it.
        let explicit = HttpKey::new().vary_on(AUTHORIZATION);
        assert!(!explicit.key(&a).unwrap().contains("secret-token"));
    }

    #[test]
    fn sensitive_chosen_headers_are_hashed() {
        let name = HeaderName::from_static("x-api-key");
        let key = HttpKey::new().vary_on(name.clone());
        let mut req = request("GET", "");
        let mut value = HeaderValue::from_static("k-123");
        value.set_sensitive(true);
        req.headers_mut().insert(name, value);
        let k = key.key(&req).unwrap();
        assert!(
            !k.contains("k-123") && k.contains("\nx-api-key#sha256: "),
            "{k}"
        );
    }
}
