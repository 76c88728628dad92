use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::Collect;
use http_body_util::{Either, Full, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{Config, ResponseBody, reject};
use crate::error::{BoxError, WebhookError};
use crate::request::{ReplayKey, Verify};

pin_project! {
    /// The future of [`VerifyWebhook`](super::VerifyWebhook): collects the body, verifies, then
    /// runs the inner service.
    pub struct ResponseFuture<B, S, V>
    where
        B: Body,
        B::Error: Into<BoxError>,
        S: Service<Request<Full<Bytes>>>,
    {
        #[pin]
        state: State<B, S, S::Future, V>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<B, S, F, V>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        Collect {
            #[pin]
            collect: Collect<Limited<B>>,
            parts: Option<Parts>,
            inner: Option<S>,
            config: Arc<Config<V>>,
        },
        Call {
            #[pin]
            future: F,
            replay_key: Option<ReplayKey>,
            config: Arc<Config<V>>,
        },
        Reject {
            error: Option<WebhookError>,
        },
    }
}

impl<B, S, V> ResponseFuture<B, S, V>
where
    B: Body,
    B::Error: Into<BoxError>,
    S: Service<Request<Full<Bytes>>>,
{
    pub(crate) fn collect(
        collect: Collect<Limited<B>>,
        parts: Parts,
        inner: S,
        config: Arc<Config<V>>,
    ) -> Self {
        Self {
            state: State::Collect {
                collect,
                parts: Some(parts),
                inner: Some(inner),
                config,
            },
        }
    }

    pub(crate) fn reject(error: WebhookError) -> Self {
        Self {
            state: State::Reject { error: Some(error) },
        }
    }
}

impl<B, S, V> fmt::Debug for ResponseFuture<B, S, V>
where
    B: Body,
    B::Error: Into<BoxError>,
    S: Service<Request<Full<Bytes>>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

const POLLED_AFTER_COMPLETION: &str = "ResponseFuture polled after completion";

impl<B, S, V, ResBody> Future for ResponseFuture<B, S, V>
where
    B: Body,
    B::Error: Into<BoxError>,
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    V: Verify,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Collect {
                    collect,
                    parts,
                    inner,
                    config,
                } => {
                    let collected = ready!(collect.poll(cx));
                    let parts = parts.take().expect(POLLED_AFTER_COMPLETION);
                    let body = match collected {
                        Ok(collected) => collected.to_bytes(),
                        Err(error) => {
                            let error = if error.is::<LengthLimitError>() {
                                WebhookError::BodyTooLarge {
                                    limit: config.body_limit,
                                }
                            } else {
                                WebhookError::BodyRead(error)
                            };
                            return Poll::Ready(Ok(reject(&error)));
                        }
                    };
                    let verified = match config.verify(&parts, &body) {
                        Ok(verified) => verified,
                        Err(error) => return Poll::Ready(Ok(reject(&error))),
                    };
                    let replay_key = config.replay.as_ref().map(|_| verified.replay_key);
                    let mut request = Request::from_parts(parts, Full::new(body));
                    request.extensions_mut().insert(verified);
                    let mut inner = inner.take().expect(POLLED_AFTER_COMPLETION);
                    State::Call {
                        future: inner.call(request),
                        replay_key,
                        config: Arc::clone(config),
                    }
                }
                StateProj::Call {
                    future,
                    replay_key,
                    config,
                } => {
                    let result = ready!(future.poll(cx));
                    let failed = result
                        .as_ref()
                        .map_or(true, |response| !response.status().is_success());
                    if failed {
                        // The application did not take the delivery: let the sender's retry in.
                        if let (Some(key), Some(guard)) = (replay_key.take(), &config.replay) {
                            guard.forget(&key);
                        }
                    }
                    return Poll::Ready(result.map(|response| response.map(Either::Left)));
                }
                StateProj::Reject { error } => {
                    let error = error.take().expect(POLLED_AFTER_COMPLETION);
                    return Poll::Ready(Ok(reject(&error)));
                }
            };
            this.state.set(next);
        }
    }
}
