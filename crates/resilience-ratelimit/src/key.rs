//! Keys: which bucket a request draws its permit from.

use crate::fx::FxHasher;
use resilience_core::extensions::{Deadline, Operation};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::hash::Hasher;
use std::sync::Arc;

/// The class used when a request names none, or names one the layer has no quota for.
pub const DEFAULT_CLASS: &str = "default";

/// The bucket a request draws from: a **scope** (who is limited: an API host and account) and a
/// **class** (which limit: `"default"`, `"search"`, `"sendContent"`).
///
/// The layer looks the class up in its quota map; a class without a quota of its own shares the
/// scope's `"default"` bucket, so naming an operation never multiplies the budget. Both parts end
/// up in the `key` metrics label (`{scope}/{class}`), so they must come from a small fixed set:
/// hosts, account hashes and endpoint classes, never IDs or secrets.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RateKey {
    scope: Arc<str>,
    class: Cow<'static, str>,
}

impl RateKey {
    /// A key with the given scope and class.
    pub fn new(scope: impl Into<Arc<str>>, class: impl Into<Cow<'static, str>>) -> Self {
        Self {
            scope: scope.into(),
            class: class.into(),
        }
    }

    /// A key in the `"default"` class of `scope`.
    pub fn scope(scope: impl Into<Arc<str>>) -> Self {
        Self::new(scope, DEFAULT_CLASS)
    }

    /// The scope (who is limited).
    pub fn scope_str(&self) -> &str {
        &self.scope
    }

    /// The class (which limit).
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The same scope in another class.
    pub fn with_class(&self, class: impl Into<Cow<'static, str>>) -> Self {
        Self {
            scope: Arc::clone(&self.scope),
            class: class.into(),
        }
    }

    /// The `key` metrics label: `{scope}/{class}`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.scope, self.class)
    }
}

impl fmt::Debug for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RateKey({}/{})", self.scope, self.class)
    }
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.scope, self.class)
    }
}

/// Maps a request to its [`RateKey`] (and, optionally, its deadline).
///
/// Implemented by [`HttpKey`] for HTTP requests, by [`FixedKey`], and by every closure
/// `Fn(&Req) -> RateKey` (closures report no deadline: wrap an HTTP closure in
/// [`WithHttpDeadline`] to keep it).
pub trait KeyFn<Req> {
    /// The bucket this request draws from.
    fn key(&self, request: &Req) -> RateKey;

    /// The instant by which the whole call must finish, if the request carries one
    /// (on tokio's clock, see [`Deadline`]). The layer never waits past it.
    fn deadline(&self, request: &Req) -> Option<Deadline> {
        let _ = request;
        None
    }
}

impl<Req, F> KeyFn<Req> for F
where
    F: Fn(&Req) -> RateKey,
{
    fn key(&self, request: &Req) -> RateKey {
        self(request)
    }
}

/// Every request draws from one fixed key (for a non-HTTP service with one limit).
#[derive(Debug, Clone)]
pub struct FixedKey(pub RateKey);

impl<Req> KeyFn<Req> for FixedKey {
    fn key(&self, _request: &Req) -> RateKey {
        self.0.clone()
    }
}

/// Names the rate class of one request (`"search"`), overriding its [`Operation`].
///
/// A client inserts it (`request.extensions_mut().insert(RateClass::new("search"))`) and gives
/// the layer a quota for that class ([`crate::RateLimitLayer::with_quota`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateClass(pub Cow<'static, str>);

impl RateClass {
    /// A class with a static name.
    pub const fn new(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }
}

/// The default key for HTTP requests.
///
/// - scope: `scheme://authority` of the request URI (`"local"` for a relative URI), plus
///   `#` and the first 8 hex digits of the SHA-256 of the `Authorization` header when present,
///   so two tokens for one host get separate buckets while the token itself never appears in
///   the key, logs or metric labels;
/// - class: the request's [`RateClass`] extension, else its [`Operation`] name, else
///   `"default"`; with [`HttpKey::by_path`], the URI path instead of the operation (for APIs
///   whose limits are per endpoint, like ManyChat). A class without a quota in the layer falls
///   back to `"default"`, so paths or names with IDs never become keys;
/// - deadline: the request's [`Deadline`] extension.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpKey {
    by_path: bool,
}

impl HttpKey {
    /// The default HTTP key function (class from `RateClass`, else `Operation`).
    pub fn new() -> Self {
        Self { by_path: false }
    }

    /// Class from `RateClass`, else the URI path (`"/fb/sending/sendContent"`).
    pub fn by_path() -> Self {
        Self { by_path: true }
    }

    /// The scope part of the key for a request.
    pub fn scope_of<B>(request: &http::Request<B>) -> String {
        let uri = request.uri();
        let mut scope = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            (None, Some(authority)) => authority.to_string(),
            _ => String::from("local"),
        };
        if let Some(auth) = request.headers().get(http::header::AUTHORIZATION) {
            let digest = Sha256::digest(auth.as_bytes());
            scope.push('#');
            for byte in &digest[..4] {
                let _ = write!(scope, "{byte:02x}");
            }
        }
        scope
    }
}

/// Entries in the per-thread cache of computed scopes.
const SCOPE_CACHE: usize = 8;

thread_local! {
    /// Recently computed scopes, by a 64-bit fingerprint of (scheme, authority, Authorization),
    /// so the hot path skips the SHA-256 and the string building. A fingerprint collision could
    /// only put two tokens in one bucket (slower, never faster); the token is not stored.
    static SCOPES: std::cell::RefCell<[(u64, Option<Arc<str>>); SCOPE_CACHE]> =
        const { std::cell::RefCell::new([const { (0, None) }; SCOPE_CACHE]) };
    static NEXT_SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn fingerprint<B>(request: &http::Request<B>) -> u64 {
    let mut hasher = FxHasher::default();
    let uri = request.uri();
    // Length-prefixed parts, so ("ab", "c") and ("a", "bc") differ.
    for part in [
        uri.scheme_str().unwrap_or("").as_bytes(),
        uri.authority().map_or("", |a| a.as_str()).as_bytes(),
    ] {
        hasher.write_usize(part.len());
        hasher.write(part);
    }
    match request.headers().get(http::header::AUTHORIZATION) {
        Some(auth) => {
            hasher.write_usize(auth.len());
            hasher.write(auth.as_bytes());
        }
        None => hasher.write_usize(usize::MAX),
    }
    hasher.finish()
}

fn cached_scope<B>(request: &http::Request<B>) -> Arc<str> {
    let print = fingerprint(request);
    let hit = SCOPES.with_borrow(|slots| {
        slots
            .iter()
            .find(|(p, scope)| *p == print && scope.is_some())
            .and_then(|(_, scope)| scope.clone())
    });
    if let Some(scope) = hit {
        return scope;
    }
    let scope: Arc<str> = HttpKey::scope_of(request).into();
    let slot = NEXT_SLOT.get() % SCOPE_CACHE;
    NEXT_SLOT.set(slot + 1);
    SCOPES.with_borrow_mut(|slots| slots[slot] = (print, Some(Arc::clone(&scope))));
    scope
}

impl<B> KeyFn<http::Request<B>> for HttpKey {
    fn key(&self, request: &http::Request<B>) -> RateKey {
        let class = class_of(request, self.by_path);
        RateKey::new(cached_scope(request), class)
    }

    fn deadline(&self, request: &http::Request<B>) -> Option<Deadline> {
        request.extensions().get::<Deadline>().copied()
    }
}

fn class_of<B>(request: &http::Request<B>, by_path: bool) -> Cow<'static, str> {
    let ext = request.extensions();
    if let Some(class) = ext.get::<RateClass>() {
        class.0.clone()
    } else if by_path {
        Cow::Owned(request.uri().path().to_owned())
    } else if let Some(op) = ext.get::<Operation>() {
        op.0.clone()
    } else {
        Cow::Borrowed(DEFAULT_CLASS)
    }
}

/// Wraps a key closure over HTTP requests so the request's [`Deadline`] extension is honoured.
#[derive(Debug, Clone)]
pub struct WithHttpDeadline<F>(pub F);

impl<B, F> KeyFn<http::Request<B>> for WithHttpDeadline<F>
where
    F: Fn(&http::Request<B>) -> RateKey,
{
    fn key(&self, request: &http::Request<B>) -> RateKey {
        (self.0)(request)
    }

    fn deadline(&self, request: &http::Request<B>) -> Option<Deadline> {
        request.extensions().get::<Deadline>().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, auth: Option<&str>) -> http::Request<()> {
        let mut b = http::Request::builder().uri(uri);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn scope_is_host_plus_token_hash_never_the_token() {
        let k = HttpKey::new().key(&req(
            "https://api.hubapi.com/crm/v3/objects/contacts/123",
            None,
        ));
        assert_eq!(k.scope_str(), "https://api.hubapi.com");
        assert_eq!(k.class(), "default");
        let a = HttpKey::new().key(&req(
            "https://api.hubapi.com/x",
            Some("Bearer secret-token-a"),
        ));
        let b = HttpKey::new().key(&req(
            "https://api.hubapi.com/y",
            Some("Bearer secret-token-b"),
        ));
        assert_ne!(a, b);
        assert!(a.scope_str().starts_with("https://api.hubapi.com#"));
        assert_eq!(a.scope_str().len(), "https://api.hubapi.com#".len() + 8);
        for text in [a.label(), format!("{a:?}"), a.to_string()] {
            assert!(!text.contains("secret"), "{text}");
        }
        let same = HttpKey::new().key(&req(
            "https://api.hubapi.com/z?q=1",
            Some("Bearer secret-token-a"),
        ));
        assert_eq!(a, same);
        assert_eq!(
            HttpKey::new().key(&req("/relative", None)).scope_str(),
            "local"
        );
    }

    #[test]
    fn class_from_extensions() {
        let mut r = req("https://api.manychat.com/fb/sending/sendContent", None);
        r.extensions_mut().insert(Operation::new("sendContent"));
        assert_eq!(HttpKey::new().key(&r).class(), "sendContent");
        assert_eq!(
            HttpKey::by_path().key(&r).class(),
            "/fb/sending/sendContent"
        );
        r.extensions_mut().insert(RateClass::new("send"));
        assert_eq!(HttpKey::new().key(&r).class(), "send");
        assert_eq!(HttpKey::by_path().key(&r).class(), "send");
    }
}
