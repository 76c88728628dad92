//! The shared HTTP transport of the HubSpot and ManyChat clients.
//!
//! - [`HttpClient`]: a pooled hyper-util client over rustls (the `ring` provider set on the
//!   client's own configuration, Mozilla's roots, HTTP/2 or HTTP/1.1 by ALPN, plain `http://`
//!   only to loopback hosts unless allowed, for tests and the sandbox). It is a tower `Service<http::Request<Body>>` where [`Body`] is a
//!   whole, replayable `Full<Bytes>`, and answers `http::Response<Bytes>`, reading each body
//!   under a cap (32 MiB by default). Its [`TransportError`] has predicates, and holds the
//!   workspace's `NotSent` marker when the request provably never left.
//! - Layers, for any `Service<http::Request<B>>`: [`BaseUriLayer`] (relative request URIs
//!   resolved against a base URL, keeping its path prefix), [`BearerAuthLayer`] (the token
//!   only for the API's own origin, marked sensitive), [`UserAgentLayer`].
//! - [`HttpError`]: the error of one call, with the API's error body read leniently
//!   ([`ApiError`]), decode failures that name the JSON path ([`DecodeError`]), and the
//!   predicates retry logic needs; [`decode_json`] turns a response into a type or an
//!   `HttpError`.
//!
//! # Example
//!
//! Build the transport and put auth, base URI and user agent in front of it. Outermost first:
//! the base URI makes request URIs absolute, so bearer auth can check their origin.
//!
//! ```
//! use integrations_config::{PoolConfig, Secret};
//! use integrations_http::{
//!     BaseUriLayer, BearerAuthLayer, HttpClient, HttpError, UserAgentLayer,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let base = BaseUriLayer::parse("https://api.hubapi.com")?;
//! let auth = BearerAuthLayer::new(base.base(), &Secret::new("pat-na1-example"))?;
//! let client = HttpClient::builder()
//!     .pool(PoolConfig::default())
//!     .max_response_body(8 * 1024 * 1024)
//!     .build()?;
//!
//! let service = tower::ServiceBuilder::new()
//!     // Errors come out of the layers boxed; `HttpError` recognises what is inside.
//!     .map_err(|error: resilience_core::BoxError| HttpError::from(error))
//!     .layer(base)
//!     .layer(auth)
//!     .layer(UserAgentLayer::default())
//!     .service(client);
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! Calling it (this needs the network, so it is only compiled):
//!
//! ```no_run
//! # use integrations_config::{PoolConfig, Secret};
//! # use integrations_http::{BaseUriLayer, BearerAuthLayer, Body, HttpClient, HttpError};
//! use serde_json::Value;
//! use tower::ServiceExt;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let base = BaseUriLayer::parse("https://api.hubapi.com")?;
//! # let auth = BearerAuthLayer::new(base.base(), &Secret::new("pat-na1-example"))?;
//! # let service = tower::ServiceBuilder::new()
//! #     .map_err(|error: resilience_core::BoxError| HttpError::from(error))
//! #     .layer(base)
//! #     .layer(auth)
//! #     .service(HttpClient::new(&PoolConfig::default())?);
//! let request = http::Request::get("/crm/v3/objects/contacts?limit=10").body(Body::default())?;
//! let response = service.oneshot(request).await?;
//! match integrations_http::decode_json::<Value>(&response) {
//!     Ok(page) => println!("{page}"),
//!     Err(err) if err.is_rate_limited() => println!("throttled, wait {:?}", err.retry_after()),
//!     Err(err) => println!("{err} (correlation id {:?})", err.correlation_id()),
//! }
//! # Ok(())
//! # }
//! ```

pub mod base_uri;
pub mod bearer_auth;
pub mod body;
pub mod client;
pub mod error;
mod origin;
pub mod user_agent;

pub use base_uri::{BaseUri, BaseUriLayer, InvalidBaseUri};
pub use bearer_auth::{BearerAuth, BearerAuthLayer, BearerToken, InvalidBearerAuth};
pub use client::{
    Body, BuildError, DEFAULT_MAX_RESPONSE_BODY, HttpClient, HttpClientBuilder, TransportError,
};
pub use error::{ApiError, DecodeError, ErrorDetail, HttpError, MAX_BODY_EXCERPT, decode_json};
pub use user_agent::{DEFAULT_USER_AGENT, UserAgent, UserAgentLayer};

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
