//! Bad API answers end to end: the sandbox answers every request with a generated status and
//! body (random JSON, text, HTML, nothing) and a random `Retry-After`, and the HubSpot and
//! ManyChat clients must turn each into a value or a typed error: never a panic, never a
//! success for a non-2xx answer, never the token in an error.

use super::{Size, Verdict};
use api_sandbox::{Fault, FaultBody, Route, Sandbox};
use client_hubspot::{BatchReadOptions, GetOptions, HubSpotClient};
use client_manychat::ManyChatClient;
use proptest::prelude::*;
use serde_json::Value;
use std::time::Duration;

/// Random JSON, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::String("error".into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("id".to_string()),
                        Just("status".to_string()),
                        Just("results".to_string()),
                        Just("properties".to_string()),
                        Just("data".to_string()),
                        Just("message".to_string()),
                        Just("errors".to_string()),
                        Just("paging".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: FaultBody,
    retry_after: Option<String>,
}

fn answers() -> impl Strategy<Value = Answer> {
    (
        prop::sample::select(vec![
            200u16, 201, 204, 207, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503,
        ]),
        prop_oneof![
            3 => json().prop_map(FaultBody::Json),
            1 => "\\PC{0,64}".prop_map(FaultBody::Text),
            1 => Just(FaultBody::Empty),
            1 => Just(FaultBody::Html),
            1 => Just(FaultBody::ApiDefault),
        ],
        prop::option::of(prop_oneof!["[0-9]{1,12}", "[ -~]{0,20}"]),
    )
        .prop_map(|(status, body, retry_after)| Answer {
            status,
            body,
            retry_after,
        })
}

/// Runs the scenario.
pub fn run(seed: u64, size: Size) -> Verdict {
    let cases = match size {
        Size::Quick => 48,
        Size::Full => 600,
    };
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => return Verdict::failed(e, "no runtime"),
    };
    let setup = runtime.block_on(async {
        let sandbox = Sandbox::start(crate::loopback::fast_sandbox_config().with_seed(seed))
            .await
            .map_err(|e| format!("sandbox: {e}"))?;
        let hubspot = HubSpotClient::builder()
            .token(sandbox.hubspot_token())
            .base_url(sandbox.hubspot_url())
            .timeout(Duration::from_secs(2))
            .retry(None)
            .breaker(None)
            .cache(None)
            .rate_limit(None)
            .metrics(None)
            .build()
            .map_err(|e| format!("hubspot client: {e}"))?;
        let manychat = ManyChatClient::builder()
            .token(sandbox.manychat_token())
            .base_url(sandbox.manychat_url())
            .timeout(Duration::from_secs(2))
            .retry(None)
            .breaker(None)
            .rate_limit(None)
            .metrics(None)
            .build()
            .map_err(|e| format!("manychat client: {e}"))?;
        Ok::<_, String>((sandbox, hubspot, manychat))
    });
    let (sandbox, hubspot, manychat) = match setup {
        Ok(s) => s,
        Err(e) => return Verdict::failed(e, ""),
    };
    let secrets = [sandbox.hubspot_token(), sandbox.manychat_token()];
    let control = sandbox.control().clone();
    let result = super::bad_input::check(
        "API answers through the clients",
        seed,
        cases,
        answers(),
        |answer| {
            control.clear_faults();
            control.fail_always(
                Route::any(),
                Fault::Status {
                    status: answer.status,
                    body: answer.body.clone(),
                    retry_after: answer.retry_after.clone(),
                },
            );
            let (hubspot, manychat) = (hubspot.clone(), manychat.clone());
            let outcome = runtime.block_on(async move {
                let get = tokio::spawn({
                    let hubspot = hubspot.clone();
                    async move {
                        hubspot
                            .contacts()
                            .get("1", &GetOptions::new())
                            .await
                            .map(drop)
                            .map_err(|e| format!("{e} {e:?}"))
                    }
                });
                let batch = tokio::spawn(async move {
                    hubspot
                        .contacts()
                        .batch_read(["1", "2"], &BatchReadOptions::new())
                        .await
                        .map_err(|e| format!("{e} {e:?}"))
                        .and_then(|read| {
                            // A chunk that failed as a whole is reported per input: then
                            // every input must carry a typed error.
                            let failed: Vec<String> =
                                read.failures().map(|(_, e)| format!("{e} {e:?}")).collect();
                            match failed.len() {
                                0 => Ok(()),
                                2 => Err(failed.join("; ")),
                                n => Err(format!("PARTIAL: {n} of 2 inputs failed for one answer")),
                            }
                        })
                });
                let find = tokio::spawn(async move {
                    manychat
                        .subscribers()
                        .find_by_email("ada@example.com")
                        .await
                        .map(drop)
                        .map_err(|e| format!("{e} {e:?}"))
                });
                let mut out = Vec::new();
                for (name, task) in [
                    ("hubspot get", get),
                    ("hubspot batch_read", batch),
                    ("manychat find", find),
                ] {
                    out.push((name, task.await.map_err(|e| format!("panicked: {e}"))));
                }
                out
            });
            for (name, joined) in outcome {
                let result = joined.map_err(|e| format!("{name}: {e}"))?;
                match result {
                    Ok(()) if !(200..300).contains(&answer.status) => {
                        return Err(format!(
                            "{name}: a {} answer became a success",
                            answer.status
                        ));
                    }
                    Ok(()) => {}
                    Err(text) if text.starts_with("PARTIAL") => {
                        return Err(format!("{name}: {text}"));
                    }
                    Err(text) => {
                        if let Some(secret) = secrets.iter().find(|s| text.contains(s.as_str())) {
                            return Err(format!(
                                "{name}: the token ({} chars) shows in the error",
                                secret.len()
                            ));
                        }
                    }
                }
            }
            Ok(())
        },
    );
    let faulted = sandbox.log().count(|e| e.fault.is_some());
    drop(sandbox);
    match result {
        Ok(()) if faulted == 0 => Verdict::failed("no generated answer reached a client", ""),
        Ok(()) => Verdict::passed(format!(
            "{cases} generated answers (status, JSON/text/HTML/empty body, Retry-After) x 3 client calls ({faulted} generated answers served): values or typed errors, no panic, no success for a non-2xx, no token in errors"
        )),
        Err(e) => Verdict::failed(e, format!("{cases} cases")),
    }
}
