//! The server-side tower middleware: buffer, verify, pass on or reject.

mod future;
mod layer;
mod service;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::request::Parts;
use http::{HeaderValue, Response};
use http_body_util::{Either, Full};

use crate::clock::Clock;
use crate::error::WebhookError;
use crate::replay::ReplayGuard;
use crate::request::{Verified, Verify, WebhookRequest};

pub use future::ResponseFuture;
pub use layer::VerifyWebhookLayer;
pub use service::VerifyWebhook;

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The replay window used when the scheme signs no timestamp (twice HubSpot's tolerance).
pub const DEFAULT_REPLAY_TTL: Duration = Duration::from_secs(600);

/// The response body of [`VerifyWebhook`]: the inner service's body, or a small JSON rejection.
pub type ResponseBody<B> = Either<B, Full<Bytes>>;

/// Everything the middleware shares between clones.
pub(crate) struct Config<V> {
    pub(crate) verifier: Arc<V>,
    pub(crate) body_limit: usize,
    pub(crate) public_base: Option<Arc<str>>,
    pub(crate) request_scheme: http::uri::Scheme,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) replay: Option<Arc<dyn ReplayGuard>>,
    pub(crate) replay_ttl: Option<Duration>,
}

impl<V> Clone for Config<V> {
    fn clone(&self) -> Self {
        Self {
            verifier: Arc::clone(&self.verifier),
            body_limit: self.body_limit,
            public_base: self.public_base.clone(),
            request_scheme: self.request_scheme.clone(),
            clock: Arc::clone(&self.clock),
            replay: self.replay.clone(),
            replay_ttl: self.replay_ttl,
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for Config<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("verifier", &self.verifier)
            .field("body_limit", &self.body_limit)
            .field("public_base", &self.public_base)
            .field("request_scheme", &self.request_scheme)
            .field("clock", &self.clock)
            .field("replay", &self.replay)
            .field("replay_ttl", &self.replay_ttl)
            .finish()
    }
}

impl<V: Verify> Config<V> {
    /// Reconstructs the URI the sender signed: the configured public base URL followed by the
    /// request's path and query, or else `{request_scheme}://{authority or Host}{path?query}`.
    fn signed_uri(&self, parts: &Parts) -> Result<String, WebhookError> {
        let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        if let Some(base) = &self.public_base {
            return Ok(format!("{base}{path}"));
        }
        let host = match parts.uri.authority() {
            Some(authority) => authority.as_str(),
            None => parts
                .headers
                .get(HOST)
                .and_then(|value| value.to_str().ok())
                .filter(|host| !host.is_empty())
                .ok_or(WebhookError::UriUnavailable {
                    reason: "no Host header and no public base url configured",
                })?,
        };
        Ok(format!("{}://{host}{path}", self.request_scheme))
    }

    /// Verifies the buffered request and records it with the replay guard.
    pub(crate) fn verify(&self, parts: &Parts, body: &[u8]) -> Result<Verified, WebhookError> {
        let uri = if self.verifier.needs_uri() {
            self.signed_uri(parts)?
        } else {
            String::new()
        };
        let now = self.clock.now();
        let request = WebhookRequest::new(parts.method.as_str(), &uri, &parts.headers, body);
        let verified = self.verifier.verify(&request, now)?;
        if let Some(guard) = &self.replay {
            let ttl = self.replay_ttl.unwrap_or_else(|| {
                self.verifier
                    .tolerance()
                    .map_or(DEFAULT_REPLAY_TTL, |tolerance| tolerance.saturating_mul(2))
            });
            guard.check(&verified, now, ttl)?;
        }
        Ok(verified)
    }
}

/// The rejection response: the error's status and `{"error": code, "message": text}`.
pub(crate) fn reject<B>(error: &WebhookError) -> Response<ResponseBody<B>> {
    let body = serde_json::json!({
        "error": error.code(),
        "message": error.to_string(),
    });
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body.to_string()))));
    *response.status_mut() = error.status();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
