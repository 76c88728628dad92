//! A real hyper server on 127.0.0.1:0 for the integration tests: it counts accepted TCP
//! connections and records every request it receives. Plain HTTP/1.1, or TLS (a self-signed
//! certificate for `localhost` and `127.0.0.1` from `tests/fixtures`) with HTTP/2 and HTTP/1.1
//! chosen by ALPN.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri, Version};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

const CERT_PEM: &[u8] = include_bytes!("../fixtures/localhost.cert.pem");
const KEY_PEM: &[u8] = include_bytes!("../fixtures/localhost.key.pem");

/// The body type test handlers answer with.
pub(crate) type TestBody = BoxBody<Bytes, Infallible>;

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
}

type Handler = Arc<dyn Fn(&Recorded) -> Response<TestBody> + Send + Sync>;

/// A running test server; stops (with all its connections) when dropped.
pub(crate) struct TestServer {
    scheme: &'static str,
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts a plain HTTP/1.1 server that answers every request with `handler`.
    pub(crate) async fn start(
        handler: impl Fn(&Recorded) -> Response<TestBody> + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(None, handler).await
    }

    /// Starts an HTTPS server offering `alpn` (e.g. `[b"h2", b"http/1.1"]`).
    pub(crate) async fn start_tls(
        alpn: &[&[u8]],
        handler: impl Fn(&Recorded) -> Response<TestBody> + Send + Sync + 'static,
    ) -> Self {
        let key = PrivateKeyDer::from_pem_slice(KEY_PEM).expect("fixture key");
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificate()], key)
        .expect("server config");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Self::start_with(Some(TlsAcceptor::from(Arc::new(config))), handler).await
    }

    async fn start_with(
        tls: Option<TlsAcceptor>,
        handler: impl Fn(&Recorded) -> Response<TestBody> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(serve(
            listener,
            tls,
            Arc::clone(&accepted),
            Arc::clone(&requests),
            handler,
        ));
        Self {
            scheme,
            addr,
            accepted,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:<port>` (or `https://`) followed by `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// How many TCP connections the server has accepted.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Every request received so far, in order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    handler: Handler,
) {
    // Connection tasks live in this set, so aborting the accept task closes them too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        let requests = Arc::clone(&requests);
        let handler = Arc::clone(&handler);
        let tls = tls.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let recorded = Recorded {
                    method: request.method().clone(),
                    uri: request.uri().clone(),
                    version: request.version(),
                    headers: request.headers().clone(),
                };
                requests.lock().expect("lock").push(recorded.clone());
                let response = handler(&recorded);
                async move { Ok::<_, Infallible>(response) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match tls {
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Some(acceptor) => {
                    // A handshake the client aborts (it does not trust us) just ends here.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            }
        });
    }
}

/// A dead port: bound, then released, so connecting to it is refused.
pub(crate) fn dead_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/")
}

/// The test server's self-signed certificate.
pub(crate) fn certificate() -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(CERT_PEM).expect("fixture certificate")
}

/// A client TLS configuration (ring provider) that trusts only the test server's certificate.
pub(crate) fn trusting_client_tls() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate()).expect("root");
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}
