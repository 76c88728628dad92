//! [`UserAgentLayer`]: a `User-Agent` on every request that has none.
//!
//! A `User-Agent` the caller set is kept: whoever sets one on a request means it (a Kestra task
//! naming itself, a client crate naming its API). Built on tower-http's [`SetRequestHeader`] in
//! `if_not_present` mode.

use http::HeaderValue;
use http::header::USER_AGENT;
use tower_http::set_header::SetRequestHeader;
use tower_layer::Layer;

/// The default `User-Agent`: `integrations/<crate version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("integrations/", env!("CARGO_PKG_VERSION"));

/// The service of [`UserAgentLayer`]: tower-http's [`SetRequestHeader`] with a fixed value.
/// It has `get_ref`, `get_mut` and `into_inner`.
pub type UserAgent<S> = SetRequestHeader<S, HeaderValue>;

/// Sets `User-Agent` on requests that have none. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct UserAgentLayer {
    value: HeaderValue,
}

impl UserAgentLayer {
    /// A layer that sends `value` (for example `HeaderValue::from_static("my-flow/1.0")`).
    pub fn new(value: HeaderValue) -> Self {
        Self { value }
    }

    /// The value sent.
    pub fn value(&self) -> &HeaderValue {
        &self.value
    }
}

impl Default for UserAgentLayer {
    /// A layer that sends [`DEFAULT_USER_AGENT`].
    fn default() -> Self {
        Self::new(HeaderValue::from_static(DEFAULT_USER_AGENT))
    }
}

impl<S> Layer<S> for UserAgentLayer {
    type Service = UserAgent<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetRequestHeader::if_not_present(inner, USER_AGENT, self.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, Response};
    use std::convert::Infallible;
    use tower::ServiceExt;

    async fn sent_user_agent(layer: UserAgentLayer, request: Request<()>) -> Option<HeaderValue> {
        let svc = layer.layer(tower::service_fn(|req: Request<()>| async move {
            Ok::<_, Infallible>(Response::new(req.headers().get(USER_AGENT).cloned()))
        }));
        svc.oneshot(request).await.expect("infallible").into_body()
    }

    #[tokio::test]
    async fn default_names_the_crate_and_version() {
        let sent = sent_user_agent(UserAgentLayer::default(), Request::new(())).await;
        assert_eq!(
            sent,
            Some(HeaderValue::from_static(concat!(
                "integrations/",
                env!("CARGO_PKG_VERSION")
            )))
        );
        assert!(DEFAULT_USER_AGENT.starts_with("integrations/0."));
    }

    #[tokio::test]
    async fn a_callers_user_agent_is_kept() {
        let request = Request::builder()
            .header(USER_AGENT, "kestra-task/2")
            .body(())
            .expect("request");
        let layer = UserAgentLayer::new(HeaderValue::from_static("client-hubspot/0.1"));
        assert_eq!(
            sent_user_agent(layer.clone(), request).await,
            Some(HeaderValue::from_static("kestra-task/2"))
        );
        assert_eq!(
            sent_user_agent(layer, Request::new(())).await,
            Some(HeaderValue::from_static("client-hubspot/0.1"))
        );
    }
}
