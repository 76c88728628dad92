use crate::check::{CheckFuture, HealthCheck, Observation};
use http::{Request, Response, StatusCode, Uri};
use resilience_core::BoxError;
use std::fmt;
use std::marker::PhantomData;
use tower::ServiceExt;
use tower_service::Service;

/// An HTTP `GET` probe through any tower service (see [`HttpProbe::new`]).
///
/// A 2xx response passes; any other status fails with `unexpected status <code>`; an error fails
/// with the error's message. The URI is not echoed in the output (it may carry a token).
pub struct HttpProbe<S, B = http_body_util::Full<bytes::Bytes>> {
    name: String,
    service: parking_lot::Mutex<S>,
    uri: Uri,
    _body: PhantomData<fn() -> B>,
}

impl<S, B> fmt::Debug for HttpProbe<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProbe")
            .field("name", &self.name)
            .field("uri", &self.uri.path())
            .finish_non_exhaustive()
    }
}

impl<S, B> HttpProbe<S, B> {
    /// Probes `uri` with `GET` requests sent through `service` (a clone per run). Pass a client
    /// stack (auth, base URI) or a plain transport such as hyper-util's client; the request body
    /// is `B::default()`.
    pub fn new(name: impl Into<String>, service: S, uri: Uri) -> Self {
        Self {
            name: name.into(),
            service: parking_lot::Mutex::new(service),
            uri,
            _body: PhantomData,
        }
    }
}

impl<S, B, RB> HealthCheck for HttpProbe<S, B>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Default + Send + 'static,
    RB: Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let service = self.service.lock().clone();
        let request = Request::get(self.uri.clone()).body(B::default());
        Box::pin(async move {
            let request = request.map_err(|e| -> BoxError { Box::new(e) })?;
            let response = service.oneshot(request).await.map_err(Into::into)?;
            let status = response.status();
            let observation = if status.is_success() {
                Observation::pass()
            } else {
                Observation::fail(format!("unexpected status {}", describe(status)))
            };
            Ok(observation.with_measurement("status", status.as_u16(), None))
        })
    }

    fn component_type(&self) -> Option<&str> {
        Some("component")
    }
}

fn describe(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}
