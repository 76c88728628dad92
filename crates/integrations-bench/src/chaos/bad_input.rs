//! Bad input at every boundary, generated with proptest from the scenario's seed: each
//! boundary must answer a typed error (or a correct value), never panic, never accept a forgery
//! and never echo a secret.

use super::{Size, Verdict};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use integrations_config::{HubSpotConfig, ManyChatConfig};
use integrations_http::{ApiError, HttpError, MAX_BODY_EXCERPT, decode_json};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::collections::HashMap;
use std::fmt::Debug;
use std::time::{Duration, UNIX_EPOCH};
use webhook_verify::{HubSpotVerifier, Verify, WebhookRequest, hubspot};

/// A seeded runner (no failure persistence: the seed is the replay).
fn runner(seed: u64, cases: u32) -> TestRunner {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let word = seed
            .wrapping_add(i as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 2_000,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// Runs one property; the error names the boundary and the (shrunk) failing input.
pub(crate) fn check<S>(
    boundary: &str,
    seed: u64,
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), String>,
) -> Result<(), String>
where
    S: Strategy,
    S::Value: Debug,
{
    runner(seed, cases)
        .run(&strategy, |value| {
            property(value).map_err(TestCaseError::fail)
        })
        .map_err(|e| {
            let mut message = format!("{boundary}: {e}");
            message = message.split_whitespace().collect::<Vec<_>>().join(" ");
            if message.len() > 600 {
                let mut cut = 600;
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                message.truncate(cut);
                message.push_str(" ...");
            }
            message
        })
}

/// Bytes that are mostly printable, sometimes anything.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[ -~]{0,48}".prop_map(String::into_bytes),
        "[0-9]{0,30}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..48),
    ]
}

fn retry_after_values() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        header_bytes(),
        "-?[0-9]{1,25}(\\.[0-9]{0,12})?".prop_map(String::into_bytes),
        (any::<u32>(), 0u8..3).prop_map(|(secs, form)| {
            let at = UNIX_EPOCH + Duration::from_secs(u64::from(secs) * 4);
            let text = httpdate::fmt_http_date(at);
            match form {
                0 => text,
                1 => text.replace("GMT", "UTC"),
                _ => text.to_lowercase(),
            }
            .into_bytes()
        }),
    ]
}

fn retry_after(seed: u64, cases: u32) -> Result<(), String> {
    let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    check("Retry-After", seed, cases, retry_after_values(), |bytes| {
        let Ok(value) = HeaderValue::from_bytes(&bytes) else {
            return Ok(()); // not a header value: hyper would refuse it before us
        };
        let parsed = resilience_core::retry_after::parse(&value, now);
        let text = String::from_utf8_lossy(&bytes).trim().to_string();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let d = parsed.map_err(|e| format!("delta-seconds {text:?} rejected: {e}"))?;
            if d > resilience_core::retry_after::MAX_DELTA {
                return Err(format!("{text:?} gave {d:?}, above MAX_DELTA"));
            }
        }
        let mut headers = HeaderMap::new();
        headers.append(http::header::RETRY_AFTER, value.clone());
        headers.append(http::header::RETRY_AFTER, HeaderValue::from_static("x"));
        let _ = resilience_core::retry_after::from_headers(&headers, now);
        Ok(())
    })
}

const HUBSPOT_VARS: &[&str] = &[
    "HUBSPOT_TOKEN",
    "HUBSPOT_BASE_URL",
    "HUBSPOT_TIMEOUT",
    "HUBSPOT_MAX_RETRIES",
    "HUBSPOT_CIRCUIT_BREAKER_ENABLED",
    "HUBSPOT_CACHE_ENABLED",
    "HUBSPOT_METRICS_ENABLED",
    "ENVIRONMENT",
];

const MANYCHAT_VARS: &[&str] = &[
    "MANYCHAT_API_KEY",
    "MANYCHAT_PAGE_ID",
    "MANYCHAT_BASE_URL",
    "MANYCHAT_TIMEOUT",
    "MANYCHAT_MAX_RETRIES",
    "MANYCHAT_CIRCUIT_BREAKER_ENABLED",
    "MANYCHAT_METRICS_ENABLED",
    "ENVIRONMENT",
];

fn config_value() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        "[ -~]{0,24}",
        "-?[0-9]{1,22}(\\.[0-9]{0,4})?",
        Just("true".to_string()),
        Just("no".to_string()),
        Just("https://api.hubapi.com".to_string()),
        Just("ftp://x".to_string()),
        Just("production".to_string()),
        "\\PC{0,12}",
    ])
}

/// A secret long and random enough that finding it in a message means it leaked.
fn secret_value() -> impl Strategy<Value = String> {
    "[a-z0-9]{24}".prop_map(|s| format!("secret-{s}"))
}

fn configs(seed: u64, cases: u32) -> Result<(), String> {
    let hubspot = (
        proptest::collection::vec(config_value(), HUBSPOT_VARS.len()),
        secret_value(),
        any::<bool>(),
    );
    check(
        "HubSpot config",
        seed,
        cases,
        hubspot,
        |(values, secret, with_token)| {
            let mut map: HashMap<String, String> = HUBSPOT_VARS
                .iter()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect();
            if with_token {
                map.insert("HUBSPOT_TOKEN".into(), secret.clone());
            }
            match HubSpotConfig::from_map(&map) {
                Ok(config) => {
                    let shown = format!("{config:?}");
                    if shown.contains(&secret) {
                        return Err("the token shows in the config's Debug".into());
                    }
                }
                Err(errors) => {
                    if errors.is_empty() {
                        return Err("an error with no problem in it".into());
                    }
                    let shown = format!("{errors} {errors:?}");
                    if with_token && shown.contains(&secret) {
                        return Err(format!("the token leaked into the error: {shown}"));
                    }
                    for error in errors.iter() {
                        if !HUBSPOT_VARS.contains(&error.var()) {
                            return Err(format!("error names `{}`, not a variable", error.var()));
                        }
                    }
                }
            }
            Ok(())
        },
    )?;
    let manychat = (
        proptest::collection::vec(config_value(), MANYCHAT_VARS.len()),
        secret_value(),
        prop::option::of("[0-9]{1,12}"),
    );
    check(
        "ManyChat config",
        seed ^ 1,
        cases,
        manychat,
        |(values, secret, page)| {
            let mut map: HashMap<String, String> = MANYCHAT_VARS
                .iter()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect();
            let key = match &page {
                Some(page) => format!("{page}:{secret}"),
                None => secret.clone(),
            };
            map.insert("MANYCHAT_API_KEY".into(), key);
            match ManyChatConfig::from_map(&map) {
                Ok(config) => {
                    if format!("{config:?}").contains(&secret) {
                        return Err("the API key shows in the config's Debug".into());
                    }
                }
                Err(errors) => {
                    let shown = format!("{errors} {errors:?}");
                    if shown.contains(&secret) {
                        return Err(format!("the API key leaked into the error: {shown}"));
                    }
                    for error in errors.iter() {
                        if !MANYCHAT_VARS.contains(&error.var()) {
                            return Err(format!("error names `{}`, not a variable", error.var()));
                        }
                    }
                }
            }
            Ok(())
        },
    )
}

fn webhooks(seed: u64, cases: u32) -> Result<(), String> {
    let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    let uri = "https://hooks.example.com/hubspot/webhook";
    let verifier = HubSpotVerifier::new(secret);
    let base_ms: u64 = 1_767_225_600_000;
    let now = UNIX_EPOCH + Duration::from_millis(base_ms);
    let header_names = [
        "x-hubspot-signature",
        "x-hubspot-signature-v3",
        "x-hubspot-signature-version",
        "x-hubspot-request-timestamp",
    ];
    let forged = (
        proptest::collection::vec(prop::option::of(header_bytes()), header_names.len()),
        proptest::collection::vec(any::<u8>(), 0..512),
        "(POST|GET|post|PUT|)",
    );
    check(
        "webhook headers and bodies",
        seed,
        cases,
        forged,
        |(values, body, method)| {
            let mut headers = HeaderMap::new();
            for (name, value) in header_names.iter().zip(values) {
                if let Some(value) = value.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            }
            let request = WebhookRequest::new(&method, uri, &headers, &body);
            match verifier.verify(&request, now) {
                Ok(_) => Err("a random signature verified (forgery accepted)".into()),
                Err(_) => Ok(()),
            }
        },
    )?;
    // A genuine v3 delivery verifies; any one changed body byte or a shifted timestamp does not.
    let tampered = (
        proptest::collection::vec(any::<u8>(), 1..512),
        any::<prop::sample::Index>(),
        1u8..=255,
        0u64..300_000,
    );
    check(
        "webhook tampering",
        seed ^ 2,
        cases,
        tampered,
        |(body, at, flip, age_ms)| {
            let ts = base_ms - age_ms;
            let signature = hubspot::sign_v3(secret.as_bytes(), "POST", uri, &body, ts);
            let mut headers = HeaderMap::new();
            let sig = HeaderValue::from_str(&signature).map_err(|e| e.to_string())?;
            headers.insert("x-hubspot-signature-v3", sig);
            headers.insert("x-hubspot-request-timestamp", HeaderValue::from(ts));
            let genuine = WebhookRequest::new("POST", uri, &headers, &body);
            verifier
                .verify(&genuine, now)
                .map_err(|e| format!("a genuine delivery was refused: {e}"))?;
            let mut changed = body.clone();
            let i = at.index(changed.len());
            changed[i] ^= flip;
            let request = WebhookRequest::new("POST", uri, &headers, &changed);
            if verifier.verify(&request, now).is_ok() {
                return Err(format!(
                    "body byte {i} changed and the signature still verified"
                ));
            }
            headers.insert("x-hubspot-request-timestamp", HeaderValue::from(ts + 1));
            let request = WebhookRequest::new("POST", uri, &headers, &body);
            if verifier.verify(&request, now).is_ok() {
                return Err("a shifted timestamp still verified".into());
            }
            Ok(())
        },
    )
}

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2_048),
        "\\PC{0,600}".prop_map(String::into_bytes),
        // Almost-JSON: HubSpot and ManyChat error shapes with random cuts and junk.
        (
            prop_oneof![
                Just(r#"{"status":"error","message":"Validation error","correlationId":"abc","category":"VALIDATION_ERROR","errors":[{"message":"x","code":"INVALID"}]}"#),
                Just(r#"{"status":"error","message":"Invalid access token","details":{"messages":[{"message":"m"}]},"code":3011}"#),
                Just(r#"<html><head><title>502 Bad Gateway</title></head><body>x</body></html>"#),
                Just(r#"{"results":[{"id":"1","properties":{"email":"a@b.c"}}],"paging":{"next":{"after":"2"}}}"#),
            ],
            any::<prop::sample::Index>(),
            "\\PC{0,40}",
        )
            .prop_map(|(text, cut, junk)| {
                let cut = cut.index(text.len() + 1);
                let mut bytes = text.as_bytes()[..cut].to_vec();
                bytes.extend_from_slice(junk.as_bytes());
                bytes
            }),
    ]
}

fn response_bodies(seed: u64, cases: u32) -> Result<(), String> {
    let case = (
        prop_oneof![200u16..=299, 400u16..=599, 100u16..=999],
        body_bytes(),
        prop::option::of(header_bytes()),
    );
    check(
        "API response bodies",
        seed,
        cases,
        case,
        |(status, body, content_type)| {
            let Ok(status) = StatusCode::from_u16(status) else {
                return Ok(());
            };
            let mut headers = HeaderMap::new();
            if let Some(v) = content_type.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
                headers.insert(http::header::CONTENT_TYPE, v);
            }
            let error = ApiError::from_parts(status, &headers, &body);
            // The excerpt is bounded whatever the body (cut on a UTF-8 boundary, plus a marker).
            // (Invalid UTF-8 shows as U+FFFD, so the bound is on characters, not bytes.)
            if error.body_text().chars().count() > MAX_BODY_EXCERPT + 16 {
                return Err(format!(
                    "error excerpt of {} characters for a {}-byte body",
                    error.body_text().chars().count(),
                    body.len()
                ));
            }
            let _ = error.to_string();
            let _ = (error.is_retryable(), error.retry_after(), error.message());
            let mut response = Response::new(body.clone());
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            match decode_json::<serde_json::Value>(&response) {
                Ok(value) => {
                    // Documented: an empty or all-whitespace 2xx body decodes as `null`.
                    let input: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
                        b"null"
                    } else {
                        &body
                    };
                    let reparsed: Result<serde_json::Value, _> = serde_json::from_slice(input);
                    if reparsed.ok().as_ref() != Some(&value) || !status.is_success() {
                        return Err(
                            "decode_json accepted what serde_json refuses or a non-2xx".into()
                        );
                    }
                }
                Err(HttpError::Api(_) | HttpError::Decode(_)) => {}
                Err(other) => return Err(format!("unexpected error kind: {other:?}")),
            }
            Ok(())
        },
    )
}

/// A JSON Lines or CSV input with at most one bad record, and where it is.
#[derive(Debug, Clone)]
struct InputFile {
    format: integrations_cli::cli::InputFormat,
    bytes: Vec<u8>,
    /// The 1-based line of the bad record, if any.
    bad_line: Option<usize>,
    /// Records (data rows) when nothing is bad.
    rows: usize,
}

fn input_files() -> impl Strategy<Value = InputFile> {
    use integrations_cli::cli::InputFormat;
    let field = "[a-z0-9@. ]{0,8}";
    let jsonl = (
        proptest::collection::vec((field, field), 1..30),
        prop::option::of((any::<prop::sample::Index>(), 0u8..4)),
    )
        .prop_map(|(rows, bad)| {
            let mut lines: Vec<Vec<u8>> = rows
                .iter()
                .map(|(a, b)| {
                    serde_json::json!({"email": a, "firstname": b})
                        .to_string()
                        .into_bytes()
                })
                .collect();
            let bad_line = bad.map(|(at, kind)| {
                let i = at.index(lines.len());
                lines[i] = match kind {
                    0 => b"{\"email\": \"cut".to_vec(),
                    1 => b"[1, 2, 3]".to_vec(),
                    2 => b"\"just a string\"".to_vec(),
                    _ => {
                        let mut l = lines[i].clone();
                        l.insert(l.len() / 2, 0xFF);
                        l
                    }
                };
                i + 1
            });
            InputFile {
                format: InputFormat::Jsonl,
                bytes: lines.join(&b'\n'),
                bad_line,
                rows: rows.len(),
            }
        });
    let csv = (
        1usize..6,
        proptest::collection::vec(proptest::collection::vec("[a-z0-9]{1,6}", 6), 1..30),
        prop::option::of((any::<prop::sample::Index>(), any::<bool>())),
    )
        .prop_map(|(width, rows, bad)| {
            let header: Vec<String> = (0..width).map(|c| format!("col{c}")).collect();
            let mut lines: Vec<Vec<u8>> = vec![header.join(",").into_bytes()];
            lines.extend(rows.iter().map(|r| r[..width].join(",").into_bytes()));
            let bad_line = bad.map(|(at, utf8)| {
                let i = 1 + at.index(rows.len());
                if utf8 {
                    lines[i].push(0xC3); // a lone lead byte: not UTF-8
                } else {
                    lines[i].extend_from_slice(b",extra");
                }
                i + 1
            });
            InputFile {
                format: InputFormat::Csv,
                bytes: lines.join(&b'\n'),
                bad_line,
                rows: rows.len(),
            }
        });
    prop_oneof![jsonl, csv]
}

fn cli_files(seed: u64, cases: u32) -> Result<(), String> {
    check("CLI input files", seed, cases, input_files(), |file| {
        let parsed = integrations_cli::commands::hubspot::parse_rows(&file.bytes, file.format);
        match (parsed, file.bad_line) {
            (Ok(rows), None) if rows.len() == file.rows => Ok(()),
            (Ok(rows), None) => Err(format!("{} rows read, {} written", rows.len(), file.rows)),
            (Ok(_), Some(line)) => Err(format!("a bad record on line {line} was accepted")),
            (Err(e), None) => Err(format!("a valid file was refused: {e}")),
            (Err(integrations_cli::CliError::Input(message)), Some(line)) => {
                let named = message.contains(&format!("line {line}"))
                    || message.contains(&format!("row {line}"));
                if named {
                    Ok(())
                } else {
                    Err(format!("the error does not name line {line}: {message:?}"))
                }
            }
            (Err(e), Some(_)) => Err(format!("not an input error: {e:?}")),
        }
    })
}

/// CLI input files: JSON Lines and CSV with one bad record (malformed JSON, a value that is not
/// an object, a row with the wrong number of fields, a byte that is not UTF-8): a typed input
/// error naming the record's line, never a panic.
pub fn run_cli_files(seed: u64, size: Size) -> Verdict {
    let cases = match size {
        Size::Quick => 256,
        Size::Full => 5_000,
    };
    match std::panic::catch_unwind(|| cli_files(seed, cases)) {
        Ok(Ok(())) => Verdict::passed(format!(
            "{cases} generated JSON Lines and CSV files, each bad record reported with its line"
        )),
        Ok(Err(e)) => Verdict::failed(e, format!("{cases} cases")),
        Err(_) => Verdict::failed("the harness panicked", ""),
    }
}

/// One boundary's property check: seed and number of cases in, the broken property out.
type Property = fn(u64, u32) -> Result<(), String>;

/// Runs every boundary; the first broken property fails the scenario.
pub fn run(seed: u64, size: Size) -> Verdict {
    let cases = match size {
        Size::Quick => 256,
        Size::Full => 5_000,
    };
    let boundaries: [(&str, Property); 4] = [
        ("Retry-After", retry_after),
        ("configs", configs),
        ("webhooks", webhooks),
        ("response bodies", response_bodies),
    ];
    let mut done = Vec::new();
    for (name, property) in boundaries {
        // A panic inside a property is caught by proptest and reported as a failure; this is
        // the guard for a panic in the harness itself.
        let result = std::panic::catch_unwind(|| property(seed, cases))
            .unwrap_or_else(|_| Err(format!("{name}: panicked")));
        if let Err(e) = result {
            return Verdict::failed(
                e,
                format!(
                    "{cases} cases per property; passed before: {}",
                    done.join(", ")
                ),
            );
        }
        done.push(name);
    }
    Verdict::passed(format!(
        "{cases} generated cases per property over {} (CLI input files: scenario cli-input; typed API bodies through the clients: scenario api-bodies)",
        done.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    #[test]
    fn a_broken_property_is_reported_with_its_input() {
        let result = check("demo", 1, 64, 0u32..1000, |n| {
            if n >= 500 {
                Err(format!("{n} too big"))
            } else {
                Ok(())
            }
        });
        let message = result.expect_err("half the inputs break it");
        assert!(message.starts_with("demo:"), "{message}");
        // Shrinking finds the smallest failing input.
        assert!(message.contains("500"), "{message}");
    }

    #[test]
    fn the_same_seed_generates_the_same_cases() {
        let draw = |seed| {
            let mut runner = runner(seed, 1);
            (0..5)
                .map(|_| {
                    "[a-z]{8}"
                        .new_tree(&mut runner)
                        .map(|t| t.current())
                        .unwrap_or_default()
                })
                .collect::<Vec<String>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
