//! Which responses the cache layer may store, for how long, and how it copies them.

use http::header::{CACHE_CONTROL, VARY};
use std::time::Duration;

/// What a response allows a client-side cache to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Must not be stored.
    NoStore,
    /// May be stored.
    Store {
        /// The lifetime the response gives itself (`Cache-Control: max-age`), if any.
        max_age: Option<Duration>,
        /// Marked `Cache-Control: private` (meant for one user only).
        private: bool,
    },
}

/// A response type the cache layer can store and hand out copies of.
///
/// Implemented for `http::Response<B>` with a cloneable body (our clients'
/// `http::Response<bytes::Bytes>`); implement it for your own response types to cache them.
pub trait CacheableResponse: Sized {
    /// A copy for a caller served from the cache.
    fn clone_response(&self) -> Self;

    /// What the response allows. The layer stores a response only when its classifier also
    /// calls it a success.
    fn freshness(&self) -> Freshness;
}

impl<B: Clone> CacheableResponse for http::Response<B> {
    fn clone_response(&self) -> Self {
        let mut copy = http::Response::new(self.body().clone());
        *copy.status_mut() = self.status();
        *copy.version_mut() = self.version();
        *copy.headers_mut() = self.headers().clone();
        *copy.extensions_mut() = self.extensions().clone();
        copy
    }

    /// Only 2xx responses are storable; then `Cache-Control` decides:
    ///
    /// | directive | effect |
    /// | --- | --- |
    /// | `no-store` | not stored |
    /// | `no-cache` | not stored (we do not revalidate, so it could never be served) |
    /// | `max-age=N` | stored for at most N s (`0` or a malformed value: not stored) |
    /// | `private` | stored, flagged private (see [`CacheLayer::store_private`](crate::CacheLayer::store_private)) |
    /// | `Vary: *` | not stored |
    fn freshness(&self) -> Freshness {
        if !self.status().is_success() {
            return Freshness::NoStore;
        }
        http_freshness(self.headers())
    }
}

/// Reads `Cache-Control` (every occurrence) and `Vary` from response headers.
pub fn http_freshness(headers: &http::HeaderMap) -> Freshness {
    let vary_star = headers.get_all(VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|part| part.trim() == "*"))
    });
    if vary_star {
        return Freshness::NoStore;
    }
    let mut max_age = None;
    let mut private = false;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(text) = value.to_str() else {
            return Freshness::NoStore;
        };
        for directive in text.split(',') {
            let directive = directive.trim();
            let (name, arg) = match directive.split_once('=') {
                Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Freshness::NoStore;
            } else if name.eq_ignore_ascii_case("private") {
                private = true;
            } else if name.eq_ignore_ascii_case("max-age") {
                match arg.and_then(|a| a.parse::<u64>().ok()) {
                    Some(0) | None => return Freshness::NoStore,
                    Some(secs) => {
                        let age = Duration::from_secs(secs);
                        max_age = Some(max_age.map_or(age, |m: Duration| m.min(age)));
                    }
                }
            }
        }
    }
    Freshness::Store { max_age, private }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, cache_control: &[&str]) -> http::Response<bytes::Bytes> {
        let mut builder = http::Response::builder().status(status);
        for value in cache_control {
            builder = builder.header(CACHE_CONTROL, *value);
        }
        builder.body(bytes::Bytes::from_static(b"{}")).unwrap()
    }

    #[test]
    fn cache_control_table() {
        let store = |max_age: Option<u64>, private| Freshness::Store {
            max_age: max_age.map(Duration::from_secs),
            private,
        };
        let table: &[(u16, &[&str], Freshness)] = &[
            (200, &[], store(None, false)),
            (204, &["max-age=30"], store(Some(30), false)),
            (200, &["public, max-age=60"], store(Some(60), false)),
            (200, &["private, max-age=5"], store(Some(5), true)),
            (200, &["max-age=\"7\""], store(Some(7), false)),
            (200, &["max-age=60", "max-age=10"], store(Some(10), false)),
            (200, &["no-store"], Freshness::NoStore),
            (200, &["No-Store"], Freshness::NoStore),
            (200, &["max-age=60, no-cache"], Freshness::NoStore),
            (200, &["max-age=0"], Freshness::NoStore),
            (200, &["max-age=soon"], Freshness::NoStore),
            (301, &[], Freshness::NoStore),
            (404, &["max-age=60"], Freshness::NoStore),
            (500, &[], Freshness::NoStore),
        ];
        for (status, cc, expected) in table {
            assert_eq!(
                response(*status, cc).freshness(),
                *expected,
                "{status} {cc:?}"
            );
        }
        let mut vary = response(200, &[]);
        vary.headers_mut()
            .insert(VARY, http::HeaderValue::from_static("*"));
        assert_eq!(vary.freshness(), Freshness::NoStore);
    }

    #[test]
    fn clone_keeps_status_headers_body_and_extensions() {
        #[derive(Clone, Debug, PartialEq)]
        struct Tag(u8);
        let mut original = response(203, &["max-age=5"]);
        original.extensions_mut().insert(Tag(7));
        let copy = original.clone_response();
        assert_eq!(copy.status(), 203);
        assert_eq!(copy.headers(), original.headers());
        assert_eq!(copy.body(), original.body());
        assert_eq!(copy.extensions().get::<Tag>(), Some(&Tag(7)));
    }
}
