//! The built `integrations` binary against the sandbox started in the test process.

mod common;

use std::time::Duration;

use api_sandbox::webhook::{self, SignatureVersion, WebhookEvent, WebhookOptions};
use api_sandbox::{Fault, Route, Sandbox, SandboxConfig};
use common::{
    Out, contact_with_subscriber, get, run, run_with_stdin, sandbox_env, spawn, temp_dir,
};
use integrations_cli::kestra::parse_line;
use serde_json::{Value, json};

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::small())
        .await
        .expect("sandbox starts")
}

fn env_with(sandbox: &Sandbox, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = sandbox_env(sandbox);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

/// Every `::…::` line must be what Kestra's `^::(\{.*})::$` accepts, as JSON.
fn kestra_lines(out: &Out) -> Vec<serde_json::Map<String, Value>> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(|l| parse_line(l).unwrap_or_else(|| panic!("not a valid Kestra line: {l}")))
        .collect()
}

fn kestra_outputs(out: &Out) -> serde_json::Map<String, Value> {
    let mut outputs = serde_json::Map::new();
    for line in kestra_lines(out) {
        if let Some(Value::Object(o)) = line.get("outputs") {
            outputs.extend(o.clone());
        }
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help_on_stdout() {
    let commands: &[&[&str]] = &[
        &[],
        &["hubspot"],
        &["hubspot", "get"],
        &["hubspot", "search"],
        &["hubspot", "batch-read"],
        &["hubspot", "upsert"],
        &["hubspot", "archive"],
        &["manychat"],
        &["manychat", "send-text"],
        &["manychat", "send-content"],
        &["manychat", "send-flow"],
        &["manychat", "find"],
        &["manychat", "tag"],
        &["manychat", "set-field"],
        &["sync"],
        &["webhook"],
        &["webhook", "verify"],
        &["health"],
        &["serve"],
        &["sandbox"],
        &["demo"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = run(&args, &[]).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stdout);
        assert!(out.stdout.contains("Usage:"), "{args:?}: {}", out.stdout);
        assert!(
            out.stderr.is_empty(),
            "{args:?} wrote to stderr: {}",
            out.stderr
        );
    }
    let out = run(&["hubspot", "--bogus"], &[]).await;
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("--bogus"));
    assert!(out.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_names_every_variable_and_never_prints_a_secret() {
    let env = vec![
        ("HUBSPOT_TIMEOUT".to_owned(), "abc".to_owned()),
        ("HUBSPOT_MAX_RETRIES".to_owned(), "99".to_owned()),
    ];
    let out = run(&["hubspot", "get", "1"], &env).await;
    assert_eq!(out.code, 2);
    let error = out.result();
    let message = error["error"]["message"].as_str().expect("message");
    assert!(message.contains("HUBSPOT_TOKEN is missing"), "{message}");
    assert!(message.contains("HUBSPOT_TIMEOUT"), "{message}");
    assert!(message.contains("HUBSPOT_MAX_RETRIES"), "{message}");
    assert_eq!(error["error"]["kind"], "config");

    let secret = "pat-na1-super-secret-value";
    let env = vec![
        ("HUBSPOT_TOKEN".to_owned(), secret.to_owned()),
        ("HUBSPOT_TIMEOUT".to_owned(), "-3".to_owned()),
    ];
    let out = run(&["--kestra", "hubspot", "get", "1"], &env).await;
    assert_eq!(out.code, 2);
    assert!(!out.stdout.contains(secret));
    assert!(out.stderr.is_empty());
    assert!(kestra_outputs(&out).contains_key("error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_commands_read_search_upsert_and_archive() {
    let sandbox = sandbox().await;
    let env = sandbox_env(&sandbox);
    let ids = sandbox.control().contact_ids();
    let first = ids[0].to_string();

    let out = run(
        &["hubspot", "get", &first, "--properties", "email,firstname"],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let contact = out.result();
    assert_eq!(contact["id"], first.as_str());
    let email = contact["properties"]["email"]
        .as_str()
        .expect("email")
        .to_owned();

    let out = run(&["hubspot", "get", &email, "--id-property", "email"], &env).await;
    assert_eq!(out.code, 0);
    assert_eq!(out.result()["id"], first.as_str());

    let out = run(&["hubspot", "get", "999999999"], &env).await;
    assert_eq!(out.code, 1);
    assert!(
        out.result()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("404")
    );

    let out = run(
        &[
            "hubspot",
            "search",
            "--filter",
            "email=HAS_PROPERTY",
            "--max",
            "5",
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result().as_array().map(Vec::len), Some(5));

    let batch = format!("{},{},999999999", ids[0], ids[1]);
    let out = run(&["hubspot", "batch-read", "--ids", &batch], &env).await;
    assert_eq!(out.code, 1, "one id is missing: partial");
    let result = out.result();
    assert_eq!(
        (result["succeeded"].as_u64(), result["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(result["items"][2]["ok"], false);
    let out = run(
        &["--allow-partial", "hubspot", "batch-read", "--ids", &batch],
        &env,
    )
    .await;
    assert_eq!(out.code, 0);

    let dir = temp_dir("upsert");
    let csv = dir.join("contacts.csv");
    std::fs::write(
        &csv,
        format!("email,firstname\n{email},Renamed\nnew.person@example.test,\"New, Person\"\n"),
    )
    .expect("csv written");
    let out = run(
        &["hubspot", "upsert", "--file", csv.to_str().expect("utf-8")],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let result = out.result();
    assert_eq!(result["succeeded"], 2);
    assert_eq!(result["items"][0]["result"]["created"], false);
    assert_eq!(result["items"][1]["result"]["created"], true);
    let created = result["items"][1]["result"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let stored = sandbox
        .control()
        .contact_by_email("new.person@example.test")
        .expect("created");
    assert_eq!(stored["properties"]["firstname"], "New, Person");

    let out = run(&["hubspot", "archive", &created], &env).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        sandbox
            .control()
            .contact_by_email("new.person@example.test")
            .is_none()
    );

    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"firstname\":\"no email\"}\n").expect("written");
    let out = run(
        &["hubspot", "upsert", "--file", bad.to_str().expect("utf-8")],
        &env,
    )
    .await;
    assert_eq!(out.code, 2, "bad input is refused before anything is sent");
    assert!(
        out.result()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("row 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manychat_commands_find_send_tag_and_set_fields() {
    let sandbox = sandbox().await;
    let env = sandbox_env(&sandbox);
    let (_, email, subscriber) = contact_with_subscriber(&sandbox);
    let sub = subscriber.to_string();

    let out = run(&["manychat", "find", "--email", &email], &env).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result()["id"], subscriber);
    let out = run(
        &["manychat", "find", "--email", "nobody@nowhere.test"],
        &env,
    )
    .await;
    assert_eq!(out.code, 0);
    assert_eq!(out.result()["found"], false);

    let out = run(
        &[
            "manychat",
            "send-text",
            "--subscriber",
            &sub,
            "--text",
            "Hello",
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result()["sent"], true);
    assert_eq!(sandbox.control().deliveries_to(subscriber).len(), 1);

    let dir = temp_dir("content");
    let file = dir.join("message.json");
    std::fs::write(
        &file,
        json!({"version": "v2", "content": {"messages": [{"type": "text", "text": "From a file"}]}}).to_string(),
    )
    .expect("written");
    let out = run(
        &[
            "manychat",
            "send-content",
            "--subscriber",
            &sub,
            "--file",
            file.to_str().expect("utf-8"),
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = run(
        &[
            "manychat",
            "send-flow",
            "--subscriber",
            &sub,
            "--flow",
            "content20180221085508_278589",
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(sandbox.control().deliveries_to(subscriber).len(), 3);

    let out = run(
        &["manychat", "tag", "--subscriber", &sub, "--tag", "vip"],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let stored = sandbox
        .control()
        .subscriber(subscriber)
        .expect("subscriber");
    assert!(
        stored["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "vip")),
        "{stored}"
    );
    let out = run(
        &[
            "manychat",
            "set-field",
            "--subscriber",
            &sub,
            "--field",
            "score",
            "--value",
            "42",
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let stored = sandbox
        .control()
        .subscriber(subscriber)
        .expect("subscriber");
    let score = stored["custom_fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "score"))
        .map(|f| f["value"].clone());
    assert_eq!(score, Some(json!(42)));

    let out = run(
        &[
            "manychat",
            "send-text",
            "--subscriber",
            "abc",
            "--text",
            "x",
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_prints_kestra_lines_writes_results_and_never_sends_twice() {
    let sandbox = sandbox().await;
    let ids: Vec<String> = sandbox
        .control()
        .contact_ids()
        .iter()
        .take(20)
        .map(u64::to_string)
        .collect();
    let list = ids.join(",");
    let dir = temp_dir("sync");
    let results = dir.join("results.jsonl");
    let results_arg = results.to_str().expect("utf-8");
    let env = sandbox_env(&sandbox);
    let args = [
        "--kestra",
        "sync",
        "--ids",
        &list,
        "--text",
        "Hi {{firstname}}",
        "--tag",
        "welcomed",
        "--results",
        results_arg,
    ];
    let out = run(&args, &env).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.is_empty(),
        "stderr in Kestra mode: {}",
        out.stderr
    );
    for line in out.stdout.lines() {
        // In Kestra mode every line is a protocol line (logs included) or the JSON result.
        assert!(
            parse_line(line).is_some() || serde_json::from_str::<Value>(line).is_ok(),
            "unexpected line {line:?}"
        );
    }
    let outputs = kestra_outputs(&out);
    assert_eq!(outputs["total"], 20);
    let synced = outputs["synced"].as_u64().expect("synced");
    assert!(synced > 0);
    assert_eq!(outputs["results_file"], results_arg);
    let metrics: Vec<Value> = kestra_lines(&out)
        .into_iter()
        .filter_map(|l| l.get("metrics").cloned())
        .flat_map(|m| m.as_array().cloned().unwrap_or_default())
        .collect();
    assert!(
        metrics
            .iter()
            .all(|m| m["type"] == "counter" || m["type"] == "timer")
    );
    assert!(
        metrics
            .iter()
            .any(|m| m["name"] == "messages_sent" && m["value"] == synced as f64)
    );

    let lines: Vec<Value> = std::fs::read_to_string(&results)
        .expect("results file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 20, "one record per contact");
    let mut recorded: Vec<String> = lines
        .iter()
        .map(|l| l["contact_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    recorded.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(recorded, expected);
    let deliveries = sandbox.control().deliveries();
    assert_eq!(deliveries.len() as u64, synced);

    // A re-run (a Kestra task retry) finds the tag and sends nothing again; Kestra mode is
    // detected from the task runner's variables.
    let out = run(
        &[
            "sync",
            "--ids",
            &list,
            "--text",
            "Hi {{firstname}}",
            "--tag",
            "welcomed",
            "--results",
            results_arg,
        ],
        &env_with(&sandbox, &[("WORKING_DIR", dir.to_str().expect("utf-8"))]),
    )
    .await;
    assert_eq!(out.code, 0);
    let outputs = kestra_outputs(&out);
    assert_eq!(outputs["already_synced"].as_u64(), Some(synced));
    assert_eq!(outputs["synced"], 0);
    assert_eq!(sandbox.control().deliveries().len(), deliveries.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sends_fail_the_run_unless_partial_is_allowed() {
    let sandbox = sandbox().await;
    let ids: Vec<String> = sandbox
        .control()
        .contact_ids()
        .iter()
        .take(10)
        .map(u64::to_string)
        .collect();
    let list = ids.join(",");
    let env = sandbox_env(&sandbox);
    let dir = temp_dir("partial");
    let results = dir.join("r.jsonl");
    let refuse = Fault::json(
        400,
        json!({"status": "error", "message": "Validation error", "details": {"messages": [{"message": "refused"}]}}),
    );
    sandbox
        .control()
        .fail_next(Route::path("/fb/sending/sendContent"), 2, refuse.clone());
    let args = [
        "sync",
        "--ids",
        &list,
        "--text",
        "Hi",
        "--tag",
        "t",
        "--results",
        results.to_str().expect("utf-8"),
    ];
    let out = run(&args, &env).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.result()["failed"], 2);
    let failed: Vec<Value> = std::fs::read_to_string(&results)
        .expect("results")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|f| f["stage"] == "send" && f["sent"] == false)
    );

    sandbox
        .control()
        .fail_next(Route::path("/fb/sending/sendContent"), 1, refuse);
    let mut partial = vec!["--allow-partial"];
    partial.extend(args);
    let out = run(&partial, &env).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result()["failed"], 1);
    assert_eq!(
        out.result()["synced"],
        1,
        "the other earlier failure is sent now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_verify_accepts_a_signed_delivery_and_rejects_a_forged_one() {
    const SECRET: &str = "client-secret-for-tests";
    let url = "https://hooks.example.com/webhooks/hubspot";
    let ts: i64 = 1_767_225_600_000;
    let events = [WebhookEvent::contact_creation(1, 42, ts)];
    let env = vec![("HUBSPOT_CLIENT_SECRET".to_owned(), SECRET.to_owned())];
    let dir = temp_dir("verify");
    let now = (ts + 1_000).to_string();
    for (version, scheme) in [
        (SignatureVersion::V3, "hubspot-v3"),
        (SignatureVersion::V1, "hubspot-v1"),
    ] {
        for corrupt in [false, true] {
            let options = WebhookOptions {
                version,
                corrupt_signature: corrupt,
                timestamp_ms: Some(ts),
                ..WebhookOptions::default()
            };
            let request = webhook::build_request(SECRET, url, &events, &options).expect("built");
            let body = dir.join("body.json");
            std::fs::write(&body, request.body().clone().into_data_for_test()).expect("written");
            let mut args: Vec<String> = vec![
                "--kestra".into(),
                "webhook".into(),
                "verify".into(),
                "--body".into(),
                body.to_str().expect("utf-8").into(),
                "--uri".into(),
                url.into(),
                "--now-ms".into(),
                now.clone(),
            ];
            for (name, value) in request.headers() {
                args.push("-H".into());
                args.push(format!("{name}: {}", value.to_str().expect("ascii")));
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run(&args, &env).await;
            assert!(!out.stdout.contains(SECRET));
            assert!(out.stderr.is_empty());
            let verdict = out.result();
            if corrupt {
                assert_eq!(out.code, 1, "{}", out.stdout);
                assert_eq!(verdict["valid"], false);
                assert_eq!(verdict["code"], "signature_mismatch");
                assert_eq!(kestra_outputs(&out)["valid"], false);
            } else {
                assert_eq!(out.code, 0, "{}", out.stdout);
                assert_eq!(verdict["valid"], true);
                assert_eq!(verdict["scheme"], scheme);
            }
        }
    }
    // Body on stdin, headers from a JSON file, a v3 timestamp outside the tolerance.
    let request = webhook::build_request(
        SECRET,
        url,
        &events,
        &WebhookOptions {
            timestamp_ms: Some(ts),
            ..WebhookOptions::default()
        },
    )
    .expect("built");
    let headers: serde_json::Map<String, Value> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or_default())))
        .collect();
    let headers_file = dir.join("headers.json");
    std::fs::write(&headers_file, Value::Object(headers).to_string()).expect("written");
    let late = (ts + 3_600_000).to_string();
    let out = run_with_stdin(
        &[
            "webhook",
            "verify",
            "--headers-file",
            headers_file.to_str().expect("utf-8"),
            "--uri",
            url,
            "--now-ms",
            &late,
        ],
        &env,
        Some(request.body().clone().into_data_for_test().to_vec()),
    )
    .await;
    assert_eq!(out.code, 1);
    assert_eq!(out.result()["code"], "timestamp_too_old");
    // No secret variable: a configuration error, exit 2.
    let out = run(
        &[
            "webhook",
            "verify",
            "--body",
            headers_file.to_str().expect("utf-8"),
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.result()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("HUBSPOT_CLIENT_SECRET")
    );
}

/// The bytes of a `Full` body built by the sandbox.
trait IntoData {
    fn into_data_for_test(self) -> bytes::Bytes;
}

impl IntoData for http_body_util::Full<bytes::Bytes> {
    fn into_data_for_test(self) -> bytes::Bytes {
        use http_body::Body as _;
        let mut body = std::pin::pin!(self);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match body.as_mut().poll_frame(&mut cx) {
            std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
            _ => bytes::Bytes::new(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_pass_and_fail_with_matching_exit_codes() {
    let sandbox = sandbox().await;
    let out = run(&["--kestra", "health"], &sandbox_env(&sandbox)).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result()["status"], "pass");
    assert_eq!(kestra_outputs(&out)["status"], "pass");
    assert!(out.stderr.is_empty());

    let env = env_with(&sandbox, &[("MANYCHAT_BASE_URL", "http://127.0.0.1:9")]);
    let out = run(&["health"], &env).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.result()["status"], "fail");

    let out = run(&["health"], &[]).await;
    assert_eq!(out.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_accounts_for_every_contact_and_exits_zero() {
    let out = run(&["demo", "--contacts", "40"], &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let summary = out
        .results()
        .into_iter()
        .find(|v| v.get("ok").is_some())
        .expect("summary");
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["accounted_for"], 40);
    assert_eq!(summary["duplicate_deliveries"], 0);
    assert_eq!(summary["forged_webhook_status"], 401);
    assert_eq!(summary["replayed_webhook_status"], 409);
    assert!(
        summary["breaker_opens"].as_f64().unwrap_or(0.0) >= 1.0,
        "{summary}"
    );
    assert!(
        summary["retries"].as_f64().unwrap_or(0.0) >= 1.0,
        "{summary}"
    );
    assert!(
        out.stdout
            .contains("# TYPE resilience_breaker_transitions_total counter")
    );
    assert!(out.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_verifies_queues_refuses_when_full_and_loses_nothing_across_a_restart() {
    const SECRET: &str = "serve-test-secret";
    let sandbox = sandbox().await;
    let control = sandbox.control().clone();
    let ids = control.contact_ids();
    let dir = temp_dir("serve");
    let spool = dir.join("spool.jsonl");
    let results = dir.join("results.jsonl");
    let mut env = sandbox_env(&sandbox);
    env.push(("HUBSPOT_CLIENT_SECRET".to_owned(), SECRET.to_owned()));
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--plain-http",
        "--queue-capacity",
        "1",
        "--workers",
        "1",
        "--text",
        "Welcome {{firstname}}",
        "--tag",
        "welcomed",
        "--spool",
        spool.to_str().expect("utf-8"),
        "--results",
        results.to_str().expect("utf-8"),
    ];
    // Contact reads take a while, so the one worker stays busy with the first delivery.
    let slow = control.fail_always(
        Route::path("/crm/v3/objects/contacts/batch/read"),
        Fault::latency(Duration::from_secs(3)),
    );
    let mut server = spawn(&args, &env);
    let line = server.wait_line(|l| l.contains("\"listening\"")).await;
    let addr = serde_json::from_str::<Value>(&line).expect("json")["listening"]
        .as_str()
        .expect("addr")
        .to_owned();
    let url = format!("http://{addr}/webhooks/hubspot");
    let (status, body) = get(&format!("http://{addr}/health/live")).await;
    assert_eq!(status, 200, "{body}");

    let events = |from: usize, to: usize| -> Vec<WebhookEvent> {
        ids[from..to]
            .iter()
            .enumerate()
            .map(|(i, id)| {
                WebhookEvent::contact_creation((from + i) as u64, *id, 1_767_225_600_000)
            })
            .collect()
    };
    let deliver = |events: Vec<WebhookEvent>, options: WebhookOptions| {
        let url = url.clone();
        async move {
            webhook::deliver(SECRET, &url, &events, &options)
                .await
                .expect("delivered")
                .status()
                .as_u16()
        }
    };
    assert_eq!(deliver(events(0, 5), WebhookOptions::default()).await, 204);
    let forged = WebhookOptions {
        corrupt_signature: true,
        ..WebhookOptions::default()
    };
    assert_eq!(deliver(events(5, 10), forged).await, 401);
    // Wait until the worker has taken the first job off the queue.
    for _ in 0..200 {
        let (_, metrics) = get(&format!("http://{addr}/metrics")).await;
        if metrics.contains("integrations_serve_queue_depth 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        deliver(events(5, 10), WebhookOptions::default()).await,
        204,
        "queued"
    );
    assert_eq!(
        deliver(events(10, 15), WebhookOptions::default()).await,
        503,
        "queue full"
    );
    let (status, metrics) = get(&format!("http://{addr}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("integrations_webhooks_total{result=\"queue_full\"} 1"),
        "{metrics}"
    );

    // Graceful shutdown with one job running and one queued: the first finishes, the second
    // is spooled.
    let (code, lines, stderr) = server.terminate().await;
    assert_eq!(code, 0, "{}", lines.join("\n"));
    assert!(stderr.is_empty(), "{stderr}");
    let summary: Value = lines
        .iter()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("spooled").is_some())
        })
        .expect("summary");
    assert_eq!(summary["accepted"], 2);
    assert_eq!(summary["rejected_queue_full"], 1);
    assert_eq!(summary["spooled"], 1);
    assert_eq!(summary["jobs_done"], 1);
    let spooled = std::fs::read_to_string(&spool).expect("spool written");
    assert_eq!(spooled.lines().count(), 1);

    // The next start resumes the spool.
    control.remove_fault(slow);
    let mut server = spawn(&args, &env);
    server.wait_line(|l| l.contains("\"listening\"")).await;
    let read = || -> Vec<String> {
        std::fs::read_to_string(&results)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["contact_id"].as_str().map(str::to_owned))
            .collect()
    };
    for _ in 0..500 {
        if read().len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, _, _) = server.terminate().await;
    assert_eq!(code, 0);
    let mut synced = read();
    synced.sort();
    let mut expected: Vec<String> = ids[0..10].iter().map(u64::to_string).collect();
    expected.sort();
    assert_eq!(
        synced, expected,
        "every accepted contact has exactly one result"
    );
    assert!(!spool.exists(), "nothing left in the spool");
    let deliveries = control.deliveries();
    let mut subscribers: Vec<u64> = deliveries.iter().map(|d| d.subscriber_id).collect();
    subscribers.sort_unstable();
    subscribers.dedup();
    assert_eq!(
        subscribers.len(),
        deliveries.len(),
        "no message delivered twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_takes_contacts_from_a_webhook_payload_or_a_search() {
    let sandbox = sandbox().await;
    let env = sandbox_env(&sandbox);
    let ids = sandbox.control().contact_ids();
    let dir = temp_dir("sources");
    let payload = dir.join("payload.json");
    let events = json!([
        {"subscriptionType": "contact.creation", "objectId": ids[0]},
        {"subscriptionType": "contact.propertyChange", "objectId": ids[1]},
        {"subscriptionType": "deal.creation", "objectId": 5},
        {"subscriptionType": "contact.creation", "objectId": ids[0]},
    ]);
    std::fs::write(&payload, events.to_string()).expect("written");
    let results = dir.join("r.jsonl");
    let results = results.to_str().expect("utf-8");
    let out = run(
        &[
            "sync",
            "--webhook-payload",
            payload.to_str().expect("utf-8"),
            "--tag",
            "seen",
            "--results",
            results,
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.result()["total"],
        2,
        "two distinct contacts in the payload"
    );
    assert_eq!(
        sandbox.control().deliveries().len(),
        0,
        "tag only: nothing sent"
    );

    let out = run(
        &[
            "sync",
            "--from-search",
            "--filter",
            "email=HAS_PROPERTY",
            "--max",
            "4",
            "--text",
            "Hi",
            "--results",
            results,
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result()["total"], 4);

    let out = run(&["sync", "--ids", "1", "--results", results], &env).await;
    assert_eq!(out.code, 2, "nothing to do is a usage error");
    let out = run(
        &["sync", "--ids", "1", "--from-search", "--text", "x"],
        &env,
    )
    .await;
    assert_eq!(out.code, 2, "two sources conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_command_prints_its_environment_and_serves_until_terminated() {
    let mut sandbox = spawn(&["sandbox", "--port", "0", "--contacts", "30"], &[]);
    let line = sandbox.wait_line(|l| l.contains("HUBSPOT_BASE_URL")).await;
    let info: Value = serde_json::from_str(&line).expect("json");
    let env: Vec<(String, String)> = [
        "HUBSPOT_BASE_URL",
        "HUBSPOT_TOKEN",
        "MANYCHAT_BASE_URL",
        "MANYCHAT_API_KEY",
    ]
    .iter()
    .map(|k| {
        (
            (*k).to_owned(),
            info[*k].as_str().expect("value").to_owned(),
        )
    })
    .chain([("ENVIRONMENT".to_owned(), "test".to_owned())])
    .collect();
    let out = run(&["health"], &env).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = run(&["hubspot", "search", "--max", "3"], &env).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result().as_array().map(Vec::len), Some(3));
    let (code, lines, stderr) = sandbox.terminate().await;
    assert_eq!(code, 0, "{}", lines.join("\n"));
    assert!(stderr.is_empty());
    assert!(lines.iter().any(|l| l.contains("\"stopped\":true")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_verify_handles_a_generic_hmac_scheme() {
    use webhook_verify::SignatureEncoding;
    let secret = "github-secret";
    let body = br#"{"action":"opened"}"#;
    let dir = temp_dir("github");
    let file = dir.join("body.json");
    std::fs::write(&file, body).expect("written");
    let signature = format!(
        "X-Hub-Signature-256: sha256={}",
        webhook_verify::generic::sign(secret.as_bytes(), body, SignatureEncoding::Hex)
    );
    let env = vec![("WEBHOOK_SECRET".to_owned(), secret.to_owned())];
    let file = file.to_str().expect("utf-8");
    let out = run(
        &[
            "webhook", "verify", "--scheme", "github", "--body", file, "-H", &signature,
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.result()["scheme"], "hmac");
    let out = run(
        &[
            "webhook",
            "verify",
            "--scheme",
            "hmac",
            "--signature-header",
            "x-hub-signature-256",
            "--prefix",
            "sha256=",
            "--body",
            file,
            "-H",
            &signature,
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = run(
        &[
            "webhook",
            "verify",
            "--scheme",
            "github",
            "--body",
            file,
            "-H",
            "X-Hub-Signature-256: sha256=00",
        ],
        &env,
    )
    .await;
    assert_eq!(out.code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_whose_answer_was_lost_is_unconfirmed_and_not_resent() {
    let sandbox = sandbox().await;
    let env = sandbox_env(&sandbox);
    let dir = temp_dir("upsert-unknown");
    let rows = dir.join("rows.jsonl");
    std::fs::write(
        &rows,
        "{\"email\":\"lost1@example.com\",\"firstname\":\"A\"}\n\
         {\"email\":\"lost2@example.com\",\"firstname\":\"B\"}\n",
    )
    .expect("write rows");
    sandbox.control().fail_next(
        Route::path("/crm/v3/objects/contacts/batch/upsert"),
        1,
        Fault::DropAfterProcessing,
    );
    let out = run(
        &["hubspot", "upsert", "--file", rows.to_str().expect("utf-8")],
        &env,
    )
    .await;
    assert_eq!(out.code, 1, "not confirmed is not done: {}", out.stdout);
    let result = out.result();
    assert_eq!(result["unconfirmed"], 2, "{result}");
    assert_eq!(result["failed"], 2, "{result}");
    for item in result["items"].as_array().expect("items") {
        assert_eq!(item["outcome"], "unknown", "{item}");
        assert!(
            item["error"]
                .as_str()
                .is_some_and(|e| e.contains("outcome unknown")),
            "{item}"
        );
    }
    let upserts = sandbox.log().filter(|e| e.path.ends_with("/batch/upsert"));
    assert_eq!(upserts.len(), 1, "the upsert was not resent");
    assert!(
        sandbox
            .control()
            .contact_by_email("lost1@example.com")
            .is_some(),
        "it was applied, the answer was lost"
    );
}
