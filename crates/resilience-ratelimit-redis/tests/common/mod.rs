//! A real `redis-server` for the tests: the one at `REDIS_URL` when set, else a child process
//! on a free loopback port (stoppable and restartable, for the failure tests).
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process on 127.0.0.1, killed on drop.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
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
            "these tests need a real Redis: `redis-server` is not on PATH. Install the Debian \
             package `redis-server` (apt-get install -y redis-server), or set REDIS_URL to a \
             running server"
        ),
    }
}

impl RedisServer {
    /// Starts a fresh server on a free port (needs the `redis-server` binary).
    pub fn start() -> Self {
        let mut server = RedisServer {
            port: free_port(),
            child: None,
        };
        server.restart();
        server
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port (after [`stop`](Self::stop)).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(binary())
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("could not spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the server (its clients see their connections reset).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the tests find Redis: `REDIS_URL` if set (CI), else a child server (kept alive by the
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
                 (Debian package `redis-server`) or unset REDIS_URL to let the tests start one"
            );
            (url, None)
        }
        _ => {
            let server = RedisServer::start();
            (server.url(), Some(server))
        }
    }
}

/// A key prefix unique to one test run, so tests sharing a server never meet.
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("test:{test}:{}:{nanos}:", std::process::id())
}

pub mod fleet;
