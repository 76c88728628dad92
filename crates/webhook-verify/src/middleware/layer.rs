use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::{Config, DEFAULT_BODY_LIMIT, VerifyWebhook};
use crate::clock::{Clock, SystemClock};
use crate::error::WebhookError;
use crate::replay::ReplayGuard;

/// Applies [`VerifyWebhook`] to a service: buffers the body (up to a limit), verifies it with a
/// [`Verify`](crate::Verify) scheme, and passes the request on with the exact body bytes, or
/// answers with a JSON rejection.
///
/// | setting | default |
/// | --- | --- |
/// | body limit | 1 MiB ([`DEFAULT_BODY_LIMIT`]) |
/// | signed URI | `https://` + `Host` (or the request's authority) + path and query |
/// | clock | [`SystemClock`] |
/// | replay guard | none |
/// | replay window | 2 × the scheme's tolerance, else 10 minutes |
#[derive(Debug)]
pub struct VerifyWebhookLayer<V> {
    config: Config<V>,
}

impl<V> Clone for VerifyWebhookLayer<V> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<V> VerifyWebhookLayer<V> {
    /// A layer verifying with `verifier` and the defaults above.
    pub fn new(verifier: V) -> Self {
        Self {
            config: Config {
                verifier: Arc::new(verifier),
                body_limit: DEFAULT_BODY_LIMIT,
                public_base: None,
                request_scheme: http::uri::Scheme::HTTPS,
                clock: Arc::new(SystemClock),
                replay: None,
                replay_ttl: None,
            },
        }
    }

    /// Sets the largest body accepted, in bytes; larger bodies get 413 (before reading when
    /// `Content-Length` announces them, otherwise as soon as the limit is crossed).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// Reconstructs the signed URI as `url` + the request's path and query, for servers
    /// behind a proxy that changes the scheme, the host or a path prefix. `url` is the public
    /// address the sender was configured with, without the webhook path the server sees (for
    /// example `https://hooks.example.com` or `https://example.com/api` when the proxy strips
    /// `/api`).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidBaseUrl`] when `url` is not an absolute `http`/`https` URL with a
    /// host, or carries a query.
    pub fn public_base_url(mut self, url: &str) -> Result<Self, WebhookError> {
        let uri: http::Uri = url.parse().map_err(|_| WebhookError::InvalidBaseUrl {
            reason: "not a valid URL",
        })?;
        let scheme = uri.scheme_str().ok_or(WebhookError::InvalidBaseUrl {
            reason: "the URL has no scheme",
        })?;
        if scheme != "https" && scheme != "http" {
            return Err(WebhookError::InvalidBaseUrl {
                reason: "the scheme must be http or https",
            });
        }
        let authority = uri.authority().ok_or(WebhookError::InvalidBaseUrl {
            reason: "the URL has no host",
        })?;
        if uri.query().is_some() {
            return Err(WebhookError::InvalidBaseUrl {
                reason: "the URL must not have a query",
            });
        }
        let path = uri.path().trim_end_matches('/');
        self.config.public_base = Some(Arc::from(format!("{scheme}://{authority}{path}")));
        Ok(self)
    }

    /// Sets the scheme used when the URI is reconstructed from the request (default `https`,
    /// since senders call HTTPS endpoints and TLS usually ends before this server).
    #[must_use]
    pub fn request_scheme(mut self, scheme: http::uri::Scheme) -> Self {
        self.config.request_scheme = scheme;
        self
    }

    /// Sets the clock that supplies `now` for timestamp checks.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// Rejects deliveries already accepted within the replay window (409).
    #[must_use]
    pub fn replay_guard(mut self, guard: impl ReplayGuard + 'static) -> Self {
        self.config.replay = Some(Arc::new(guard));
        self
    }

    /// Overrides the replay window.
    #[must_use]
    pub fn replay_ttl(mut self, ttl: Duration) -> Self {
        self.config.replay_ttl = Some(ttl);
        self
    }
}

impl<S, V> Layer<S> for VerifyWebhookLayer<V> {
    type Service = VerifyWebhook<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyWebhook::from_config(inner, Arc::new(self.config.clone()))
    }
}
