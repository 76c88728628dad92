use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use tower_service::Service;

use super::{Config, ResponseBody, ResponseFuture, VerifyWebhookLayer};
use crate::error::{BoxError, WebhookError};
use crate::request::Verify;

/// Middleware that verifies a webhook's signature before the inner service sees it.
///
/// The inner service receives `Request<Full<Bytes>>` holding exactly the bytes that were
/// verified, with the [`Verified`](crate::Verified) record in its extensions. Build it with
/// [`VerifyWebhookLayer`].
#[derive(Debug)]
pub struct VerifyWebhook<S, V> {
    inner: S,
    config: Arc<Config<V>>,
}

impl<S: Clone, V> Clone for VerifyWebhook<S, V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S, V> VerifyWebhook<S, V> {
    /// Wraps `inner`, verifying with `verifier` and the layer's defaults.
    pub fn new(inner: S, verifier: V) -> Self {
        use tower_layer::Layer as _;
        VerifyWebhookLayer::new(verifier).layer(inner)
    }

    /// A [`VerifyWebhookLayer`] for `verifier`.
    pub fn layer(verifier: V) -> VerifyWebhookLayer<V> {
        VerifyWebhookLayer::new(verifier)
    }

    pub(crate) fn from_config(inner: S, config: Arc<Config<V>>) -> Self {
        Self { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, V, B, ResBody> Service<Request<B>> for VerifyWebhook<S, V>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone,
    V: Verify,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<B, S, V>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service handles this request; a fresh clone stays behind for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.config.body_limit;
        let (parts, body) = request.into_parts();

        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(0)
            .max(body.size_hint().lower());
        if declared > u64::try_from(limit).unwrap_or(u64::MAX) {
            // Refused without reading a byte of the body.
            return ResponseFuture::reject(WebhookError::BodyTooLarge { limit });
        }
        let collect = Limited::new(body, limit).collect();
        ResponseFuture::collect(collect, parts, inner, Arc::clone(&self.config))
    }
}
