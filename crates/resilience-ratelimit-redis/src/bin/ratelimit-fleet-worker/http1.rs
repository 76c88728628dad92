//! A minimal HTTP/1.1 client as a tower `Service` (one request per connection, status and
//! headers parsed, body kept raw), so the fleet worker needs no HTTP client dependency.
//! Shared with the tests and the benchmark through `#[path]`.

use resilience_core::BoxError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::Service;

/// Sends `http://` requests with an empty body and `connection: close`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Http1;

impl Service<http::Request<()>> for Http1 {
    type Response = http::Response<Vec<u8>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<()>) -> Self::Future {
        Box::pin(send(request))
    }
}

async fn send(request: http::Request<()>) -> Result<http::Response<Vec<u8>>, BoxError> {
    let authority = request
        .uri()
        .authority()
        .ok_or("the request URI has no authority")?
        .as_str()
        .to_owned();
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n",
        request.method()
    );
    for (name, value) in request.headers() {
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(value.to_str()?);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(&authority).await?;
    stream.write_all(head.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<http::Response<Vec<u8>>, BoxError> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the response has no end of headers")?;
    let head = std::str::from_utf8(&raw[..end])?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty response")?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .ok_or("no status code")?
        .parse()?;
    let mut builder = http::Response::builder().status(status);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    Ok(builder.body(raw[end + 4..].to_vec())?)
}
