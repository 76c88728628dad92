//! The hyper server: binding, the accept loop, per-request fault handling, logging and shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::SandboxConfig;
use crate::control::Control;
use crate::faults::{Api, Fault, FaultBody};
use crate::log::{LogEntry, RequestLog};
use crate::reply::Reply;
use crate::state::Shared;

/// How far past the limit an oversized body is drained before the connection is closed
/// instead (so a client that never stops sending cannot keep a task busy forever).
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

type Body = BoxBody<Bytes, std::io::Error>;

/// Why [`Sandbox::start`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listening socket could not be bound.
    #[error("cannot bind the sandbox to {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is unusable.
    #[error("invalid sandbox config: {0}")]
    Config(String),
}

/// A running sandbox. Dropping it stops the server: the port stops accepting and open
/// connections are closed.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    control: Control,
    log: RequestLog,
    shutdown: Option<oneshot::Sender<()>>,
    closed: watch::Receiver<bool>,
}

/// Resolves once the sandbox's listener is closed (see [`Sandbox::closed`]).
#[derive(Debug, Clone)]
pub struct Closed(watch::Receiver<bool>);

impl Closed {
    /// Waits until the server has stopped accepting.
    pub async fn wait(mut self) {
        // an error means the server task is gone, which also means closed
        let _ = self.0.wait_for(|c| *c).await;
    }
}

impl Sandbox {
    /// Generates the seed data, binds `config.bind` and starts serving on the current tokio
    /// runtime.
    ///
    /// # Errors
    /// [`StartError::Bind`] when the address cannot be bound, [`StartError::Config`] when a
    /// number in the config is out of range (negative or non-finite time scale or shares).
    pub async fn start(config: SandboxConfig) -> Result<Self, StartError> {
        validate(&config)?;
        let addr = config.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let shared = Arc::new(Shared::new(config));
        let log = shared.log.clone();
        let (tx, rx) = oneshot::channel();
        let (closed_tx, closed_rx) = watch::channel(false);
        tokio::spawn(accept_loop(listener, shared.clone(), rx, closed_tx));
        Ok(Self {
            addr: local,
            control: Control::new(shared),
            log,
            shutdown: Some(tx),
            closed: closed_rx,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for the HubSpot client (`http://127.0.0.1:PORT`), the stand-in for
    /// `https://api.hubapi.com`.
    pub fn hubspot_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL for the ManyChat client, the stand-in for `https://api.manychat.com` (the same
    /// listener: the two APIs' paths do not overlap).
    pub fn manychat_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL of the admin endpoints (`/__sandbox`).
    pub fn admin_url(&self) -> String {
        format!("http://{}/__sandbox", self.addr)
    }

    /// The first configured HubSpot token (full access by default).
    pub fn hubspot_token(&self) -> String {
        self.control.hubspot_token()
    }

    /// The ManyChat token, `<page_id>:<api_key>`.
    pub fn manychat_token(&self) -> String {
        self.control.manychat_token()
    }

    /// The control handle: faults, data and deliveries.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// A future-maker that resolves once the listener is closed; take it before dropping the
    /// sandbox to wait for the port to stop accepting.
    pub fn closed(&self) -> Closed {
        Closed(self.closed.clone())
    }

    /// Stops the server and waits until the port no longer accepts.
    pub async fn shutdown(mut self) {
        let closed = self.closed();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        closed.wait().await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn validate(c: &SandboxConfig) -> Result<(), StartError> {
    let bad = |name: &str, v: f64| format!("{name} must be a finite number >= 0, got {v}");
    if !c.time_scale.is_finite() || c.time_scale <= 0.0 {
        return Err(StartError::Config(format!(
            "time_scale must be a finite number > 0, got {}",
            c.time_scale
        )));
    }
    for (name, v) in [
        ("subscriber_share", c.subscriber_share),
        ("stale_subscriber_share", c.stale_subscriber_share),
    ] {
        if !v.is_finite() || !(0.0..=1.0).contains(&v) {
            return Err(StartError::Config(bad(name, v) + " and <= 1"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for t in &c.hubspot.custom_objects {
        let problem = if t.name.is_empty() || t.name.contains('/') {
            Some("a name that is not empty and has no '/'")
        } else if t.object_type_id.is_empty() || t.object_type_id.contains('/') {
            Some("an object_type_id that is not empty and has no '/'")
        } else if crate::hubspot::store::ObjectType::parse(&t.name).is_some()
            || crate::hubspot::store::ObjectType::parse(&t.object_type_id).is_some()
            || !seen.insert(t.name.to_ascii_lowercase())
            || !seen.insert(t.object_type_id.to_ascii_lowercase())
        {
            Some("a name and object_type_id no other type uses")
        } else if !t.properties.contains(&t.primary_display_property) {
            Some("its primary_display_property among its properties")
        } else if t
            .properties
            .iter()
            .any(|p| p.is_empty() || p.starts_with("hs_"))
        {
            Some("properties that are not empty and do not start with hs_")
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(StartError::Config(format!(
                "custom object type {:?} needs {p}",
                t.name
            )));
        }
    }
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
    closed: watch::Sender<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(shared.clone(), req));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next() => {}
        }
    }
    drop(listener);
    conns.abort_all();
    let _ = closed.send(true);
}

/// The error a faulted request returns to hyper so that it closes the connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a sandbox fault")
    }
}

impl std::error::Error for Dropped {}

fn full(b: Bytes) -> Body {
    Full::new(b)
        .map_err(|never: Infallible| match never {})
        .boxed()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let arrived = Instant::now();
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let api = Api::of_path(&path);
    let mut entry = LogEntry {
        seq,
        api,
        method: parts.method.as_str().to_owned(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        status: None,
        at: shared.log.since_start(arrived),
        completed: Duration::ZERO,
        token: shared.token_label(api, &parts.headers),
        headers: RequestLog::redact(&parts.headers),
        fault: None,
        processed: false,
    };
    let body = match read_body(body, shared.config.max_body_bytes).await {
        Ok(BodyRead::Complete(b)) => b,
        Ok(BodyRead::TooLarge(len)) => {
            let r = too_large(&shared, api, len);
            entry.status = Some(r.status.as_u16());
            entry.completed = shared.log.since_start(Instant::now());
            if api != Api::Admin {
                shared.log.push(entry);
            }
            return Ok(into_response(r.status, *r.headers, full(r.body)));
        }
        Err(()) => {
            entry.completed = shared.log.since_start(Instant::now());
            entry.fault = Some("body_error".to_owned());
            shared.log.push(entry);
            return Err(Dropped);
        }
    };

    let fault = match api {
        Api::HubSpot | Api::ManyChat => {
            shared
                .faults
                .lock()
                .decide(api, parts.method.as_str(), &path, arrived)
        }
        _ => None,
    };
    entry.fault = fault.as_ref().map(|f| f.name().to_owned());

    let reply = match &fault {
        Some(Fault::Status {
            status,
            body: fbody,
            retry_after,
        }) => {
            let mut r = fault_reply(&shared, api, *status, fbody);
            if let Some(ra) = retry_after {
                r = r.retry_after(ra);
            }
            Some(r)
        }
        Some(Fault::DropBeforeResponse) => None,
        Some(Fault::Latency { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(*delay_ms)).await;
            entry.processed = true;
            Some(route(&shared, api, &parts, &body))
        }
        _ => {
            entry.processed = true;
            Some(route(&shared, api, &parts, &body))
        }
    };

    let result = match (reply, &fault) {
        (None, _) | (Some(_), Some(Fault::DropAfterProcessing)) => Err(Dropped),
        (Some(r), Some(Fault::MalformedJson)) => {
            entry.status = Some(r.status.as_u16());
            Ok(malformed(r))
        }
        (Some(r), Some(Fault::TruncatedBody)) => {
            entry.status = Some(r.status.as_u16());
            Ok(truncated(r))
        }
        (Some(r), _) => {
            entry.status = Some(r.status.as_u16());
            Ok(into_response(r.status, *r.headers, full(r.body)))
        }
    };
    entry.completed = shared.log.since_start(Instant::now());
    if api != Api::Admin {
        shared.log.push(entry);
    }
    result
}

/// A request body: complete, or over the limit (with the number of bytes received).
enum BodyRead {
    Complete(Bytes),
    TooLarge(usize),
}

/// Reads the body up to `max` bytes; past it, keeps reading and discarding (so the client
/// finishes sending and sees the answer rather than a reset), up to [`DRAIN_LIMIT`] more.
async fn read_body(mut body: Incoming, max: usize) -> Result<BodyRead, ()> {
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| ()).map(Frame::into_data) else {
            return Err(());
        };
        let Ok(data) = data else { continue };
        seen = seen.saturating_add(data.len());
        if seen <= max {
            buf.extend_from_slice(&data);
        } else {
            buf = bytes::BytesMut::new();
            if seen > max.saturating_add(DRAIN_LIMIT) {
                return Err(());
            }
        }
    }
    Ok(if seen > max {
        BodyRead::TooLarge(seen)
    } else {
        BodyRead::Complete(buf.freeze())
    })
}

/// The 413 for an oversized body, in the API's error shape.
fn too_large(shared: &Shared, api: Api, len: usize) -> Reply {
    let max = shared.config.max_body_bytes;
    let detail = format!("Request body is {len} bytes; the maximum is {max}");
    match api {
        Api::ManyChat => crate::manychat::error(413, "Request Entity Too Large", &[detail]),
        Api::HubSpot => crate::hubspot::error::error(shared, 413, "VALIDATION_ERROR", &detail),
        _ => Reply::json(
            413,
            &serde_json::json!({"status": "error", "message": detail}),
        ),
    }
}

fn into_response(status: http::StatusCode, headers: http::HeaderMap, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

fn malformed(r: Reply) -> Response<Body> {
    let mut bytes = r.body.slice(..r.body.len() / 2).to_vec();
    if bytes.is_empty() {
        bytes.extend_from_slice(b"{\"status\":");
    }
    bytes.extend_from_slice(b"<!-- upstream");
    let mut headers = *r.headers;
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    into_response(r.status, headers, full(Bytes::from(bytes)))
}

fn truncated(r: Reply) -> Response<Body> {
    let total = r.body.len().max(2);
    let part = r.body.slice(..r.body.len() / 2);
    let frames = stream::iter(vec![
        Ok(Frame::data(part)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox truncated the body",
        )),
    ]);
    let mut headers = *r.headers;
    headers.insert(CONTENT_LENGTH, HeaderValue::from(total));
    into_response(r.status, headers, BodyExt::boxed(StreamBody::new(frames)))
}

fn fault_reply(shared: &Shared, api: Api, status: u16, body: &FaultBody) -> Reply {
    match body {
        FaultBody::ApiDefault => match api {
            Api::ManyChat => crate::manychat::fault_body(status),
            _ => crate::hubspot::error::fault_body(shared, status),
        },
        FaultBody::Html => Reply::html_error(status),
        FaultBody::Json(v) => Reply::json(status, v),
        FaultBody::Text(t) => Reply::text(status, "text/plain", t.clone()),
        FaultBody::Empty => Reply::empty(status),
    }
}

fn route(shared: &Arc<Shared>, api: Api, parts: &http::request::Parts, body: &Bytes) -> Reply {
    match api {
        Api::HubSpot => crate::hubspot::handle(shared, parts, body),
        Api::ManyChat => crate::manychat::handle(shared, parts, body),
        Api::Admin if shared.config.admin => crate::admin::handle(shared, parts, body),
        _ => Reply::json(
            404,
            &serde_json::json!({"status": "error", "message": format!("no sandbox route for {}", parts.uri.path())}),
        ),
    }
}
