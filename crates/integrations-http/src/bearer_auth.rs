//! [`BearerAuthLayer`]: `Authorization: Bearer <token>`, sent only to the configured API.
//!
//! The header is added when the request's origin (scheme, host and port, with default ports
//! filled in and case ignored) equals the API's, so a token never reaches another host, even
//! when a response links elsewhere. A request with a relative URI has no origin and gets no
//! token: put [`BaseUriLayer`](crate::BaseUriLayer) outside this layer. The header value is
//! marked sensitive (tracing layers and `Debug` print it as `Sensitive`), and an
//! `Authorization` the caller set is never replaced.
//!
//! The layer is tower-http's [`SetRequestHeader`] (in `if_not_present` mode) with a
//! [`BearerToken`] that decides per request.

use crate::origin::Origin;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Uri};
use integrations_config::Secret;
use std::error::Error;
use std::fmt;
use tower_http::set_header::{MakeHeaderValue, SetRequestHeader};
use tower_layer::Layer;

/// The service of [`BearerAuthLayer`]: tower-http's [`SetRequestHeader`] with a
/// [`BearerToken`]. It has `get_ref`, `get_mut` and `into_inner`.
pub type BearerAuth<S> = SetRequestHeader<S, BearerToken>;

/// A bearer token bound to one API origin; gives the `Authorization` value to requests for
/// that origin only. `Debug` prints the origin, never the token.
#[derive(Clone)]
pub struct BearerToken {
    origin: Origin,
    value: HeaderValue,
}

impl BearerToken {
    /// A token for requests to `api`'s origin.
    ///
    /// # Errors
    ///
    /// Returns [`InvalidBearerAuth`] if `api` is not an absolute `http`/`https` URI, or the
    /// token is empty or holds bytes a header cannot carry (the message never shows the token).
    pub fn new(api: &Uri, token: &Secret) -> Result<Self, InvalidBearerAuth> {
        let origin = Origin::of(api).ok_or(InvalidBearerAuth::Api)?;
        if token.expose().trim().is_empty() {
            return Err(InvalidBearerAuth::EmptyToken);
        }
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| InvalidBearerAuth::TokenNotHeaderSafe)?;
        value.set_sensitive(true);
        Ok(Self { origin, value })
    }

    /// `true` when a request for `uri` would get the token.
    pub fn applies_to(&self, uri: &Uri) -> bool {
        self.origin.matches(uri)
    }
}

impl<B> MakeHeaderValue<Request<B>> for BearerToken {
    fn make_header_value(&mut self, request: &Request<B>) -> Option<HeaderValue> {
        self.applies_to(request.uri()).then(|| self.value.clone())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("origin", &self.origin)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// The API URI or the token given to [`BearerAuthLayer`] is not usable. Never shows the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidBearerAuth {
    /// The API URI is not an absolute `http`/`https` URI.
    Api,
    /// The token is empty or only whitespace.
    EmptyToken,
    /// The token holds characters an HTTP header cannot carry (a newline, a control byte).
    TokenNotHeaderSafe,
}

impl fmt::Display for InvalidBearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Api => "bearer auth needs an absolute http or https api uri",
            Self::EmptyToken => "the bearer token is empty",
            Self::TokenNotHeaderSafe => {
                "the bearer token holds characters an http header cannot carry"
            }
        })
    }
}

impl Error for InvalidBearerAuth {}

/// Adds `Authorization: Bearer <token>` to requests for one API origin. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct BearerAuthLayer {
    token: BearerToken,
}

impl BearerAuthLayer {
    /// A layer that sends `token` to `api`'s origin (scheme, host, port) and nowhere else.
    ///
    /// # Errors
    ///
    /// As [`BearerToken::new`].
    pub fn new(api: &Uri, token: &Secret) -> Result<Self, InvalidBearerAuth> {
        Ok(Self {
            token: BearerToken::new(api, token)?,
        })
    }

    /// The token and the origin it is bound to.
    pub fn token(&self) -> &BearerToken {
        &self.token
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetRequestHeader::if_not_present(inner, AUTHORIZATION, self.token.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;
    use std::convert::Infallible;
    use tower::ServiceExt;

    const TOKEN: &str = "pat-na1-s3cret";

    fn layer(api: &str) -> BearerAuthLayer {
        BearerAuthLayer::new(&api.parse().expect("uri"), &Secret::new(TOKEN)).expect("layer")
    }

    /// Sends `request` through the layer; returns the `Authorization` the inner service saw.
    async fn sent_authorization(api: &str, request: Request<()>) -> Option<HeaderValue> {
        let svc = layer(api).layer(tower::service_fn(|req: Request<()>| async move {
            Ok::<_, Infallible>(Response::new(req.headers().get(AUTHORIZATION).cloned()))
        }));
        svc.oneshot(request).await.expect("infallible").into_body()
    }

    fn get(uri: &str) -> Request<()> {
        Request::builder().uri(uri).body(()).expect("request")
    }

    #[tokio::test]
    async fn same_origin_gets_a_sensitive_bearer_header() {
        let value = sent_authorization(
            "https://api.hubapi.com",
            get("https://API.hubapi.com:443/crm/v3/objects/contacts"),
        )
        .await
        .expect("header set");
        assert_eq!(value, format!("Bearer {TOKEN}").as_str());
        assert!(value.is_sensitive());
    }

    #[tokio::test]
    async fn other_origins_and_relative_uris_get_nothing() {
        let api = "https://api.hubapi.com/hubspot";
        for uri in [
            "https://evil.example/crm",
            "http://api.hubapi.com/crm",
            "https://api.hubapi.com:8443/crm",
            "https://api.hubapi.com.evil.example/crm",
            "/crm/v3/objects/contacts",
        ] {
            assert_eq!(sent_authorization(api, get(uri)).await, None, "{uri}");
        }
    }

    #[tokio::test]
    async fn a_callers_authorization_is_kept() {
        let mut request = get("https://api.hubapi.com/x");
        request
            .headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_static("Bearer other"));
        assert_eq!(
            sent_authorization("https://api.hubapi.com", request).await,
            Some(HeaderValue::from_static("Bearer other"))
        );
    }

    #[test]
    fn bad_input_is_a_typed_error_without_the_token() {
        let api: Uri = "https://api.hubapi.com".parse().expect("uri");
        assert_eq!(
            BearerAuthLayer::new(&"/relative".parse().expect("uri"), &Secret::new(TOKEN))
                .unwrap_err(),
            InvalidBearerAuth::Api
        );
        assert_eq!(
            BearerAuthLayer::new(&api, &Secret::new(" ")).unwrap_err(),
            InvalidBearerAuth::EmptyToken
        );
        let err = BearerAuthLayer::new(&api, &Secret::new("s3cret\nInjected: 1")).unwrap_err();
        assert_eq!(err, InvalidBearerAuth::TokenNotHeaderSafe);
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let layer = layer("https://api.hubapi.com");
        let svc = layer.layer(());
        for text in [
            format!("{layer:?}"),
            format!("{svc:?}"),
            format!("{layer:#?}"),
        ] {
            assert!(!text.contains("s3cret"), "{text}");
        }
        assert!(format!("{layer:?}").contains("https://api.hubapi.com:443"));
        assert!(
            layer
                .token()
                .applies_to(&"https://api.hubapi.com/a".parse().expect("uri"))
        );
    }
}
