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
use crate::replay::ReplayGuard;
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
            replay: ForgetOnDrop,
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

/// The replay key recorded for a delivery whose inner call is running. Unless the call
/// succeeds ([`keep`](Self::keep)), the key is forgotten, also when the response future is
/// dropped mid-call (the client hung up, a timeout fired): the application never took the
/// delivery, so the sender's retry must get through rather than be refused as a replay.
pub(crate) struct ForgetOnDrop(Option<(ReplayKey, Arc<dyn ReplayGuard>)>);

impl ForgetOnDrop {
    fn keep(&mut self) {
        self.0 = None;
    }

    fn forget(&mut self) {
        if let Some((key, guard)) = self.0.take() {
            guard.forget(&key);
        }
    }
}

impl Drop for ForgetOnDrop {
    fn drop(&mut self) {
        self.forget();
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
                    let replay = ForgetOnDrop(
                        config
                            .replay
                            .as_ref()
                            .map(|guard| (verified.replay_key, Arc::clone(guard))),
                    );
                    let mut request = Request::from_parts(parts, Full::new(body));
                    request.extensions_mut().insert(verified);
                    let mut inner = inner.take().expect(POLLED_AFTER_COMPLETION);
                    State::Call {
                        future: inner.call(request),
                        replay,
                    }
                }
                StateProj::Call { future, replay } => {
                    let result = ready!(future.poll(cx));
                    let failed = result
                        .as_ref()
                        .map_or(true, |response| !response.status().is_success());
                    if failed {
                        // The application did not take the delivery: let the sender's retry in.
                        replay.forget();
                    } else {
                        replay.keep();
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
