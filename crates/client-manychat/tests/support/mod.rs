//! Test support: the sandbox, a client pointed at it, and a tiny fixture server for the
//! endpoints the sandbox does not serve.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use api_sandbox::{Sandbox, SandboxConfig};
use bytes::Bytes;
use client_manychat::{ManyChatClient, ManyChatClientBuilder};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use integrations_config::{Environment, ManyChatConfig};
use tokio::net::TcpListener;

/// A sandbox with a small data set; `rate_limits` switches ManyChat's server-side limits.
pub async fn sandbox(rate_limits: bool) -> Sandbox {
    let mut config = SandboxConfig::small();
    config.manychat.rate_limits = rate_limits;
    Sandbox::start(config).await.expect("sandbox starts")
}

/// A builder with the `test` environment's defaults (short waits, no jitter) for `base_url`.
pub fn builder(base_url: &str, token: &str) -> ManyChatClientBuilder {
    let config = ManyChatConfig::for_environment(Environment::Test, token).expect("valid token");
    ManyChatClient::builder().config(config).base_url(base_url)
}

/// A client with the default stack (test environment) pointed at the sandbox.
pub fn client(sandbox: &Sandbox) -> ManyChatClient {
    builder(&sandbox.manychat_url(), &sandbox.manychat_token())
        .build()
        .expect("client builds")
}

/// One request the fixture server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub authorization: Option<String>,
    pub body: serde_json::Value,
}

/// A fixture server on 127.0.0.1:0 answering every request with `answer(path)`.
pub struct Fixture {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

pub async fn fixture<F>(answer: F) -> Fixture
where
    F: Fn(&str) -> (u16, String) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(answer);
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let answer = Arc::clone(&answer);
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let answer = Arc::clone(&answer);
                    let log = Arc::clone(&log);
                    async move {
                        let (parts, body) = request.into_parts();
                        let bytes = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let path = parts.uri.path().to_owned();
                        log.lock().expect("log").push(Seen {
                            method: parts.method.to_string(),
                            path_and_query: parts
                                .uri
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default(),
                            authorization: parts
                                .headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                            body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
                        });
                        let (status, body) = answer(&path);
                        let response = Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body)))
                            .expect("response");
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Fixture { url, seen }
}

pub const FIXTURE_TOKEN: &str = "7654321:fixturefixturefixture";
