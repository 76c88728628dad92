//! A real Redis for the fleet test: `REDIS_URL` when set (CI), else a `redis-server` child on a
//! free loopback port, killed on drop (the approach of `resilience-ratelimit-redis`'s tests).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process on 127.0.0.1, killed on drop.
pub struct RedisServer {
    port: u16,
    child: Child,
}

impl RedisServer {
    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> String {
    let found = Command::new("which")
        .arg("redis-server")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match found {
        Some(path) if !path.is_empty() => path,
        _ => panic!(
            "this test needs a real Redis: `redis-server` is not on PATH. Install the Debian \
             package `redis-server` (apt-get install -y redis-server), or set REDIS_URL to a \
             running server"
        ),
    }
}

fn start() -> RedisServer {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port");
    let child = Command::new(binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("could not spawn redis-server");
    let server = RedisServer { port, child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    server
}

/// Where the test finds Redis: `REDIS_URL` if set (CI), else a child server (kept alive by the
/// returned guard).
pub fn redis() -> (String, Option<RedisServer>) {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            let addr = url
                .trim_start_matches("redis://")
                .split('/')
                .next()
                .unwrap_or("")
                .rsplit('@')
                .next()
                .unwrap_or("")
                .to_owned();
            assert!(
                std::net::TcpStream::connect(&addr).is_ok(),
                "REDIS_URL is set to {addr} but nothing listens there; start redis-server \
                 (Debian package `redis-server`) or unset REDIS_URL to let the test start one"
            );
            (url, None)
        }
        _ => {
            let server = start();
            (server.url(), Some(server))
        }
    }
}
