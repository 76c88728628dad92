//! Helpers: run the built binary, read its output, talk to its server.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use api_sandbox::Sandbox;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_integrations");

/// What a finished run printed.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Every stdout line that parses as a JSON object and is not a log line.
    pub fn results(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.is_array() || (v.is_object() && v.get("level").is_none()))
            .collect()
    }

    /// The last result line.
    pub fn result(&self) -> Value {
        self.results().pop().unwrap_or_else(|| {
            panic!(
                "no JSON result in stdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// The environment pointing both clients at the sandbox, in the `test` environment.
pub fn sandbox_env(sandbox: &Sandbox) -> Vec<(String, String)> {
    vec![
        ("ENVIRONMENT".into(), "test".into()),
        ("HUBSPOT_TOKEN".into(), sandbox.hubspot_token()),
        ("HUBSPOT_BASE_URL".into(), sandbox.hubspot_url()),
        ("MANYCHAT_API_KEY".into(), sandbox.manychat_token()),
        ("MANYCHAT_BASE_URL".into(), sandbox.manychat_url()),
    ]
}

fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the binary to completion (off the async runtime's threads).
pub async fn run(args: &[&str], env: &[(String, String)]) -> Out {
    run_with_stdin(args, env, None).await
}

/// Runs the binary with `stdin` piped in.
pub async fn run_with_stdin(
    args: &[&str],
    env: &[(String, String)],
    stdin: Option<Vec<u8>>,
) -> Out {
    let mut cmd = command(args, env);
    tokio::task::spawn_blocking(move || {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd.spawn().expect("the binary starts");
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(&data).expect("stdin written");
        }
        let output = child.wait_with_output().expect("the binary finishes");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("join")
}

/// A running binary whose stdout lines arrive on a channel.
pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
    stderr: std::thread::JoinHandle<String>,
}

/// Starts the binary in the background.
pub fn spawn(args: &[&str], env: &[(String, String)]) -> Running {
    let mut cmd = command(args, env);
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd.spawn().expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    Running {
        child,
        lines: rx,
        seen: Vec::new(),
        stderr,
    }
}

impl Running {
    /// Waits (up to 20 s) for a stdout line matching `pred`.
    pub async fn wait_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match self.lines.try_recv() {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no matching line; seen:\n{}",
                        self.seen.join("\n")
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!("the process ended; seen:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Sends SIGTERM and waits for the exit; returns (code, remaining stdout, stderr).
    pub async fn terminate(mut self) -> (i32, Vec<String>, String) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
        tokio::task::spawn_blocking(move || {
            let status = self.child.wait().expect("waits");
            let mut rest = self.seen;
            rest.extend(self.lines.iter());
            let stderr = self.stderr.join().unwrap_or_default();
            (status.code().unwrap_or(-1), rest, stderr)
        })
        .await
        .expect("join")
    }
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "integrations-cli-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `GET url` → (status, body).
pub async fn get(url: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let response = client
        .get(url.parse().expect("url"))
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A contact that has a ManyChat subscriber: (contact id, email, subscriber id).
pub fn contact_with_subscriber(sandbox: &Sandbox) -> (u64, String, u64) {
    let control = sandbox.control();
    for id in control.contact_ids() {
        if let Some(sub) = control.subscriber_for_contact(id) {
            let contact = control.contact(id).expect("contact");
            if let Some(email) = contact["properties"]["email"].as_str() {
                if control.subscriber_id_by_email(email) == Some(sub) {
                    return (id, email.to_owned(), sub);
                }
            }
        }
    }
    panic!("no contact with a subscriber matched by email")
}
pub mod redis;
