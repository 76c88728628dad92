//! The pooled transport: [`HttpClient`], a tower `Service` over hyper-util's legacy client with
//! rustls, that collects each response body under a size cap.

mod error;
mod future;

pub use error::{BuildError, TransportError};
pub use future::ResponseFuture;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body as _;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use integrations_config::PoolConfig;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// The request body of the transport: a whole body in memory, so a request is cheap to clone
/// and replay (retries, hedging).
pub type Body = Full<Bytes>;

/// The default cap on a response body: 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 32 * 1024 * 1024;

/// A pooled HTTP/1.1 and HTTP/2 client over rustls, as a tower [`Service`].
///
/// - TLS with rustls and the `ring` provider (set on the client's own configuration, so no
///   process-wide provider needs installing), Mozilla's roots from `webpki-roots`, HTTP/2 or
///   HTTP/1.1 chosen by ALPN. Plain `http://` is allowed to loopback hosts (tests, the
///   sandbox) and refused elsewhere unless [`HttpClientBuilder::allow_plain_http`] says so.
/// - Connections are pooled: idle timeout, idle connections kept per host and the connect
///   timeout come from [`PoolConfig`]. Clones share the pool.
/// - Each response body is collected into [`Bytes`] under a cap
///   ([`DEFAULT_MAX_RESPONSE_BODY`] unless set): a `Content-Length` over the cap is refused
///   before reading, and a streamed body is cut off as soon as it passes the cap, with a
///   [`TransportError`] for which [`is_body_too_large`](TransportError::is_body_too_large) holds.
///
/// Redirects are not followed, and no request timeout is applied here: the attempt timeout
/// belongs to the tower stack above.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Body>,
    max_response_body: usize,
    allow_plain_http: bool,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("max_response_body", &self.max_response_body)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with the given pool settings and the default body cap and TLS setup.
    ///
    /// # Errors
    ///
    /// Returns [`BuildError`] if rustls refuses the TLS configuration (it does not with the
    /// built-in defaults).
    pub fn new(pool: &PoolConfig) -> Result<Self, BuildError> {
        Self::builder().pool(pool.clone()).build()
    }

    /// A builder, to set the pool, the body cap or a TLS configuration of your own.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// The cap on a response body, in bytes.
    pub fn max_response_body(&self) -> usize {
        self.max_response_body
    }
}

impl Service<Request<Body>> for HttpClient {
    type Response = Response<Bytes>;
    type Error = TransportError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // hyper-util's client is always ready: connections are made inside the call.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if !self.allow_plain_http && is_plain_http_to_remote(request.uri()) {
            return ResponseFuture::new(std::future::ready(Err(TransportError::plain_http())));
        }
        let response = self.inner.request(request);
        let limit = self.max_response_body;
        ResponseFuture::new(async move {
            let response = response.await.map_err(TransportError::from_client)?;
            collect(response, limit).await
        })
    }
}

/// Whether `uri` is plain `http://` to a host other than loopback (`localhost`, 127.0.0.0/8,
/// `::1`), where a bearer token would cross a network unencrypted.
fn is_plain_http_to_remote(uri: &http::Uri) -> bool {
    if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
        return false;
    }
    let host = uri.host().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

/// Reads a response body into memory, refusing one larger than `limit` bytes.
async fn collect(
    response: Response<Incoming>,
    limit: usize,
) -> Result<Response<Bytes>, TransportError> {
    let (parts, body) = response.into_parts();
    // hyper derives the size hint from `Content-Length` (and knows a HEAD answer has no body).
    let declared = body.size_hint().lower();
    if usize::try_from(declared).map_or(true, |declared| declared > limit) {
        return Err(TransportError::body_too_large(limit, Some(declared)));
    }
    let collected = Limited::new(body, limit).collect().await.map_err(|error| {
        if error.is::<LengthLimitError>() {
            TransportError::body_too_large(limit, None)
        } else {
            TransportError::body(error)
        }
    })?;
    Ok(Response::from_parts(parts, collected.to_bytes()))
}

/// Builds an [`HttpClient`].
pub struct HttpClientBuilder {
    pool: PoolConfig,
    max_response_body: usize,
    tls: Option<rustls::ClientConfig>,
    allow_plain_http: bool,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        Self {
            pool: PoolConfig::default(),
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            tls: None,
            allow_plain_http: false,
        }
    }
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("pool", &self.pool)
            .field("max_response_body", &self.max_response_body)
            .field("custom_tls", &self.tls.is_some())
            .field("allow_plain_http", &self.allow_plain_http)
            .finish()
    }
}

impl HttpClientBuilder {
    /// Pool idle timeout, idle connections kept per host and connect timeout.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Allows plain `http://` to any host (default `false`: plain HTTP only to loopback, so a
    /// bearer token never crosses a network unencrypted; `https://` is always allowed).
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// The largest response body read into memory, in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BODY`]).
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.max_response_body = bytes;
        self
    }

    /// Uses this rustls configuration instead of the default (ring, webpki roots), for
    /// example to trust a private CA. Its ALPN list is replaced by `h2, http/1.1`.
    pub fn tls_config(mut self, mut config: rustls::ClientConfig) -> Self {
        config.alpn_protocols.clear();
        self.tls = Some(config);
        self
    }

    /// Builds the client. No runtime is needed to build it; requests need a tokio runtime.
    ///
    /// # Errors
    ///
    /// Returns [`BuildError`] if rustls refuses the default protocol versions for the `ring`
    /// provider (it does not in practice).
    pub fn build(self) -> Result<HttpClient, BuildError> {
        let tls = match self.tls {
            Some(config) => config,
            None => default_tls_config()?,
        };
        let mut http = HttpConnector::new();
        // The TLS connector above handles https; this connector must accept both schemes.
        http.enforce_http(false);
        http.set_connect_timeout(Some(self.pool.connect_timeout));
        http.set_nodelay(true);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(self.pool.idle_timeout)
            .pool_max_idle_per_host(self.pool.max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        Ok(HttpClient {
            inner,
            max_response_body: self.max_response_body,
            allow_plain_http: self.allow_plain_http,
        })
    }
}

/// rustls with the `ring` provider set on this configuration (no process-global provider),
/// the safe default protocol versions and Mozilla's roots.
fn default_tls_config() -> Result<rustls::ClientConfig, BuildError> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(BuildError::tls)?
    .with_webpki_roots()
    .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        let remote = |u: &str| is_plain_http_to_remote(&u.parse().unwrap());
        assert!(remote("http://api.hubapi.com/crm/v3"));
        assert!(remote("http://10.0.0.5:8080/"));
        assert!(remote("http://localhost.evil.example/"));
        assert!(!remote("https://api.hubapi.com/crm/v3"));
        assert!(!remote("http://127.0.0.1:8080/"));
        assert!(!remote("http://127.5.6.7/"));
        assert!(!remote("http://localhost:3000/"));
        assert!(!remote("http://LOCALHOST/"));
        assert!(!remote("http://[::1]:8080/"));
    }

    #[tokio::test]
    async fn plain_http_to_a_remote_host_is_refused_before_connecting() {
        use tower::ServiceExt;
        let client = HttpClient::builder().build().unwrap();
        let request = Request::get("http://example.invalid/x")
            .body(Body::default())
            .unwrap();
        let error = client.oneshot(request).await.unwrap_err();
        assert!(error.is_plain_http_refused(), "{error}");
        assert!(resilience_core::find_in_chain::<resilience_core::NotSent>(&error).is_some());
        assert!(resilience_core::find_in_chain::<resilience_core::Rejected>(&error).is_some());
        assert!(error.to_string().contains("plain http"));
    }

    #[test]
    fn builds_without_a_runtime_or_a_global_crypto_provider() {
        let client = HttpClient::builder()
            .max_response_body(1024)
            .build()
            .expect("default tls config");
        assert_eq!(client.max_response_body(), 1024);
        assert_eq!(
            HttpClient::new(&PoolConfig::default())
                .expect("client")
                .max_response_body(),
            DEFAULT_MAX_RESPONSE_BODY
        );
        // No provider was installed process-wide.
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    }

    #[test]
    fn custom_tls_config_has_its_alpn_replaced() {
        let mut config = default_tls_config().expect("tls");
        config.alpn_protocols = vec![b"spdy/3".to_vec()];
        // hyper-rustls asserts an empty ALPN list; the builder clears it instead of panicking.
        let client = HttpClient::builder().tls_config(config).build();
        assert!(client.is_ok());
    }
}
