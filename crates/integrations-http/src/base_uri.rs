//! [`BaseUriLayer`]: resolve each request's path and query against a configured base URL.
//!
//! A request for `/crm/v3/objects/contacts?limit=10` through a layer with base
//! `http://127.0.0.1:8080/hubspot` goes to
//! `http://127.0.0.1:8080/hubspot/crm/v3/objects/contacts?limit=10`. A request that already
//! carries a scheme or an authority (an absolute URI, such as a paging link the API returned)
//! is left alone, whatever its host: [`BearerAuth`](crate::BearerAuth) then decides by origin
//! whether it gets the token.

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Uri};
use pin_project_lite::pin_project;
use resilience_core::{BoxError, Rejected};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Joins a request's path and query onto a base path.
///
/// Trailing slashes of `base_path` are dropped and exactly one `/` separates the two; the
/// request's path and query are kept verbatim. An empty request path gives the base path
/// itself (or `/`).
///
/// ```
/// use integrations_http::base_uri::join_path;
///
/// assert_eq!(join_path("/hubspot/", "/crm/v3?limit=1"), "/hubspot/crm/v3?limit=1");
/// assert_eq!(join_path("/", "/fb/page/getInfo"), "/fb/page/getInfo");
/// assert_eq!(join_path("/hubspot", ""), "/hubspot");
/// ```
pub fn join_path(base_path: &str, path_and_query: &str) -> String {
    let (path, query) = match path_and_query.find('?') {
        Some(at) => path_and_query.split_at(at),
        None => (path_and_query, ""),
    };
    let prefix = base_path.trim_end_matches('/');
    let mut joined = String::with_capacity(prefix.len() + path_and_query.len() + 1);
    joined.push_str(prefix);
    if !path.is_empty() {
        if !path.starts_with('/') {
            joined.push('/');
        }
        joined.push_str(path);
    } else if joined.is_empty() {
        joined.push('/');
    }
    joined.push_str(query);
    joined
}

/// A validated base URL: absolute `http`/`https`, no credentials, no query.
#[derive(Debug)]
struct Base {
    uri: Uri,
    scheme: Scheme,
    authority: Authority,
}

impl Base {
    fn new(uri: Uri) -> Result<Self, InvalidBaseUri> {
        let scheme = uri.scheme().cloned().ok_or(InvalidBaseUri::NotAbsolute)?;
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(InvalidBaseUri::Scheme);
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or(InvalidBaseUri::NotAbsolute)?;
        if authority.as_str().contains('@') {
            return Err(InvalidBaseUri::Credentials);
        }
        // `http::Uri` takes any text after the host's `:` as a port (and then reports none), so
        // `https://user:pa/ss@host` would send requests to host `user`, and `Debug` would print
        // the password.
        let after_host = authority
            .as_str()
            .rsplit_once(']')
            .map_or(authority.as_str(), |(_, rest)| rest);
        if let Some((_, port)) = after_host.rsplit_once(':') {
            if !port.is_empty() && port.parse::<u16>().is_err() {
                return Err(InvalidBaseUri::Port);
            }
        }
        if uri.query().is_some() {
            return Err(InvalidBaseUri::Query);
        }
        Ok(Self {
            uri,
            scheme,
            authority,
        })
    }

    /// The absolute URI for `request`, or `None` when it is absolute already.
    fn resolve(&self, request: &Uri) -> Result<Option<Uri>, InvalidRequestUri> {
        if request.scheme().is_some() || request.authority().is_some() {
            return Ok(None);
        }
        let tail = request.path_and_query().map_or("", PathAndQuery::as_str);
        let joined = join_path(self.uri.path(), tail);
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(joined)
            .build()
            .map(Some)
            .map_err(|source| InvalidRequestUri {
                reason: source.to_string(),
                marker: Rejected::new("base_uri", None),
            })
    }
}

/// The base URL given to [`BaseUriLayer`] is not usable.
///
/// The message never repeats the URL, since a misconfigured one may hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidBaseUri {
    /// The text does not parse as a URI.
    Parse,
    /// The URI has no scheme or no host.
    NotAbsolute,
    /// The scheme is neither `http` nor `https`.
    Scheme,
    /// The URI holds user credentials (`user:pass@host`).
    Credentials,
    /// The URI has a query string, which requests could not combine with theirs.
    Query,
    /// The port is not a number from 0 to 65535 (often a `user:password@` whose password holds
    /// a `/`, which ends the authority early).
    Port,
}

impl fmt::Display for InvalidBaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parse => "invalid base uri: not a uri",
            Self::NotAbsolute => "invalid base uri: it needs a scheme and a host",
            Self::Scheme => "invalid base uri: the scheme must be http or https",
            Self::Credentials => "invalid base uri: it must not hold user credentials",
            Self::Query => "invalid base uri: it must not have a query string",
            Self::Port => "invalid base uri: the port is not a number from 0 to 65535",
        })
    }
}

impl Error for InvalidBaseUri {}

/// A request's path could not be joined onto the base URL (the result is not a valid URI, for
/// example longer than `http::Uri` allows).
///
/// Its `source()` is a [`Rejected`] marker (layer `"base_uri"`): the request never left, and
/// classifiers treat it as neutral, so it is neither retried nor counted against the server.
#[derive(Debug)]
pub struct InvalidRequestUri {
    reason: String,
    marker: Rejected,
}

impl fmt::Display for InvalidRequestUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot join the request path onto the base uri: {}",
            self.reason
        )
    }
}

impl Error for InvalidRequestUri {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.marker)
    }
}

/// Resolves every relative request URI against a base URL. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct BaseUriLayer {
    base: Arc<Base>,
}

impl BaseUriLayer {
    /// A layer for `base`, which keeps its path as a prefix (`http://127.0.0.1:8080/hubspot`).
    ///
    /// # Errors
    ///
    /// Returns [`InvalidBaseUri`] unless `base` is an absolute `http`/`https` URI without
    /// credentials and without a query.
    pub fn new(base: Uri) -> Result<Self, InvalidBaseUri> {
        Ok(Self {
            base: Arc::new(Base::new(base)?),
        })
    }

    /// Parses `base` and builds the layer.
    ///
    /// # Errors
    ///
    /// Returns [`InvalidBaseUri`] if `base` does not parse, or as [`BaseUriLayer::new`].
    pub fn parse(base: &str) -> Result<Self, InvalidBaseUri> {
        Self::new(base.parse().map_err(|_| InvalidBaseUri::Parse)?)
    }

    /// The base URL.
    pub fn base(&self) -> &Uri {
        &self.base.uri
    }
}

impl<S> Layer<S> for BaseUriLayer {
    type Service = BaseUri<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BaseUri {
            inner,
            base: Arc::clone(&self.base),
        }
    }
}

/// The service of [`BaseUriLayer`]: resolves relative request URIs against the base URL.
///
/// Errors are boxed: the inner service's, or [`InvalidRequestUri`].
#[derive(Debug, Clone)]
pub struct BaseUri<S> {
    inner: S,
    base: Arc<Base>,
}

impl<S> BaseUri<S> {
    /// Wraps `inner` with the base URL `base`.
    ///
    /// # Errors
    ///
    /// As [`BaseUriLayer::new`].
    pub fn new(inner: S, base: Uri) -> Result<Self, InvalidBaseUri> {
        Ok(BaseUriLayer::new(base)?.layer(inner))
    }

    /// The base URL.
    pub fn base(&self) -> &Uri {
        &self.base.uri
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for BaseUri<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.base.resolve(request.uri()) {
            Ok(Some(uri)) => *request.uri_mut() = uri,
            Ok(None) => {}
            Err(error) => {
                return ResponseFuture {
                    state: State::Failed {
                        error: Some(Box::new(error)),
                    },
                };
            }
        }
        ResponseFuture {
            state: State::Called {
                future: self.inner.call(request),
            },
        }
    }
}

pin_project! {
    /// The future of [`BaseUri`]: the inner service's, or the join error.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Called { #[pin] future: F },
        Failed { error: Option<BoxError> },
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Called { future } => future.poll(cx).map_err(Into::into),
            StateProj::Failed { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| "base_uri future polled after completion".into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilience_core::find_in_chain;
    use std::convert::Infallible;
    use tower::ServiceExt;

    #[test]
    fn join_handles_slashes() {
        assert_eq!(join_path("", "/a"), "/a");
        assert_eq!(join_path("/", "/a"), "/a");
        assert_eq!(join_path("/hubspot", "/a/b"), "/hubspot/a/b");
        assert_eq!(join_path("/hubspot/", "/a"), "/hubspot/a");
        assert_eq!(join_path("/hubspot//", "/a"), "/hubspot/a");
        assert_eq!(join_path("/hubspot", "a"), "/hubspot/a");
        assert_eq!(join_path("/hubspot", "/a/"), "/hubspot/a/");
        // The request's own path is kept verbatim, double slashes included.
        assert_eq!(join_path("/v1", "//a"), "/v1//a");
    }

    #[test]
    fn join_handles_query_strings() {
        assert_eq!(
            join_path("/hubspot", "/crm?limit=10&after=/x?y"),
            "/hubspot/crm?limit=10&after=/x?y"
        );
        assert_eq!(join_path("/hubspot/", "?a=1"), "/hubspot?a=1");
        assert_eq!(join_path("", "?a=1"), "/?a=1");
        assert_eq!(join_path("/", "/a?"), "/a?");
    }

    #[test]
    fn join_handles_empty_paths() {
        assert_eq!(join_path("", ""), "/");
        assert_eq!(join_path("/", ""), "/");
        assert_eq!(join_path("/hubspot", ""), "/hubspot");
        assert_eq!(join_path("/hubspot/", ""), "/hubspot");
        assert_eq!(join_path("/hubspot", "/"), "/hubspot/");
    }

    #[test]
    fn base_must_be_absolute_http_without_query_or_credentials() {
        assert_eq!(
            BaseUriLayer::parse("/crm/v3").unwrap_err(),
            InvalidBaseUri::NotAbsolute
        );
        assert_eq!(
            BaseUriLayer::parse("ftp://h/").unwrap_err(),
            InvalidBaseUri::Scheme
        );
        assert_eq!(
            BaseUriLayer::parse("https://h/x?hapikey=s3cret").unwrap_err(),
            InvalidBaseUri::Query
        );
        let err = BaseUriLayer::parse("https://me:s3cret@h/").unwrap_err();
        assert_eq!(err, InvalidBaseUri::Credentials);
        assert!(!err.to_string().contains("s3cret"));
        assert_eq!(
            BaseUriLayer::parse("not a uri").unwrap_err(),
            InvalidBaseUri::Parse
        );
        assert_eq!(
            BaseUriLayer::parse("api.hubapi.com:443").unwrap_err(),
            InvalidBaseUri::NotAbsolute
        );
        assert!(BaseUriLayer::parse("https://api.hubapi.com").is_ok());
        // A password with a `/` would otherwise make `me` the host and `s3cret` the port.
        let err = BaseUriLayer::parse("https://me:s3cret/x@h/").unwrap_err();
        assert_eq!(err, InvalidBaseUri::Port);
        assert!(!err.to_string().contains("s3cret"));
        assert_eq!(
            BaseUriLayer::parse("http://127.0.0.1:99999").unwrap_err(),
            InvalidBaseUri::Port
        );
        assert!(BaseUriLayer::parse("http://[::1]:8080/sandbox").is_ok());
        assert!(BaseUriLayer::parse("http://127.0.0.1:8080").is_ok());
    }

    /// Answers with the URI it received.
    async fn echo(request: Request<()>) -> Result<String, Infallible> {
        Ok(request.uri().to_string())
    }

    async fn resolve(base: &str, uri: &str) -> Result<String, BoxError> {
        let svc = BaseUriLayer::parse(base)
            .expect("base")
            .layer(tower::service_fn(echo));
        let request = Request::builder().uri(uri).body(()).expect("request");
        svc.oneshot(request).await
    }

    #[tokio::test]
    async fn relative_requests_are_resolved_against_the_base() {
        assert_eq!(
            resolve(
                "http://127.0.0.1:8080/hubspot",
                "/crm/v3/objects/contacts?limit=10"
            )
            .await
            .expect("ok"),
            "http://127.0.0.1:8080/hubspot/crm/v3/objects/contacts?limit=10"
        );
        assert_eq!(
            resolve("https://api.manychat.com", "/fb/page/getInfo")
                .await
                .expect("ok"),
            "https://api.manychat.com/fb/page/getInfo"
        );
    }

    #[tokio::test]
    async fn absolute_requests_are_left_alone() {
        let next = "https://api.hubapi.com/crm/v3/objects/contacts?after=20";
        assert_eq!(
            resolve("https://api.hubapi.com/prefix", next)
                .await
                .expect("ok"),
            next
        );
        let other = "http://other.example:9000/x";
        assert_eq!(
            resolve("https://api.hubapi.com", other).await.expect("ok"),
            other
        );
    }

    #[tokio::test]
    async fn an_unjoinable_path_is_a_rejected_error_not_a_panic() {
        // Each part is a valid URI on its own; together they exceed `http::Uri`'s length limit.
        let long = format!("/{}", "a".repeat(60_000));
        let base = format!("http://h{long}");
        let err = resolve(&base, &long).await.expect_err("too long");
        assert!(err.is::<InvalidRequestUri>(), "{err:?}");
        let rejected = find_in_chain::<Rejected>(&*err).expect("rejected marker");
        assert_eq!(rejected.layer(), "base_uri");
    }

    #[test]
    fn accessors() {
        let mut svc = BaseUri::new(7_u8, "http://h/p".parse().expect("uri")).expect("base");
        assert_eq!(svc.base(), &"http://h/p".parse::<Uri>().expect("uri"));
        *svc.get_mut() += 1;
        assert_eq!(*svc.get_ref(), 8);
        assert_eq!(svc.into_inner(), 8);
    }
}
