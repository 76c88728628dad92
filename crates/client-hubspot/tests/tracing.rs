//! The token never appears in tracing output or errors. Alone in its test binary, so the
//! subscriber it installs is the process's global one.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use api_sandbox::{Fault, Route};
use client_hubspot::{GetOptions, ListOptions};
use support::{builder, client, contact_id, sandbox};

const CONTACTS: &str = "/crm/v3/objects/contacts";

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[tokio::test]
async fn the_token_never_appears_in_logs_or_errors() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    // The only test of this binary, so a global subscriber sees every thread and callsite.
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let sandbox = sandbox().await;
    let token = sandbox.hubspot_token();
    let client = client(&sandbox);
    let id = contact_id(&sandbox, 0);
    client
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect("get");
    let not_found = client
        .contacts()
        .get("999999999", &GetOptions::new())
        .await
        .expect_err("404");
    sandbox
        .control()
        .fail_next(Route::path(CONTACTS), 1, Fault::status(503));
    client
        .contacts()
        .list_page(&ListOptions::new())
        .await
        .expect("retried");
    let bad = builder(&sandbox)
        .token(format!("{token}-x"))
        .build()
        .expect("builds");
    let unauthorized = bad.health_check().await.expect_err("401");

    let logs = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(logs.contains("hubspot.attempt"), "tracing ran: {logs}");
    assert!(logs.contains("contacts.get"), "spans name the operation");
    for text in [
        logs,
        format!("{not_found:?} {not_found}"),
        format!("{unauthorized:?} {unauthorized}"),
        format!("{client:?}"),
    ] {
        assert!(!text.contains(&token), "token leaked: {text}");
    }
}
