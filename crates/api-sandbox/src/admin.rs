//! The `/__sandbox/` admin endpoints: the control handle over HTTP, for the standalone binary.
//!
//! | method | path | does |
//! | --- | --- | --- |
//! | GET | `/__sandbox/log` | request log as JSON |
//! | DELETE | `/__sandbox/log` | clear the log |
//! | POST | `/__sandbox/faults` | add a rule: `{"route":{…},"fault":{…},"count":3}` or `"duration_ms"` |
//! | DELETE | `/__sandbox/faults` | remove every rule and stop chaos |
//! | POST | `/__sandbox/chaos` | start chaos (`Chaos` JSON) or stop it (`null`) |
//! | GET | `/__sandbox/deliveries` | accepted ManyChat messages |
//! | POST | `/__sandbox/ratelimits/reset` | forget every rate-limit window |

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::faults::{Chaos, Fault, FaultRule, Route};
use crate::reply::Reply;
use crate::state::Shared;

/// A fault rule as posted to `/__sandbox/faults`.
#[derive(Debug, Deserialize)]
struct FaultSpec {
    #[serde(default)]
    route: Route,
    fault: Fault,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    duration_ms: Option<u64>,
}

fn bad(msg: impl std::fmt::Display) -> Reply {
    Reply::json(400, &json!({"status": "error", "message": msg.to_string()}))
}

pub(crate) fn handle(shared: &Shared, parts: &http::request::Parts, body: &Bytes) -> Reply {
    let path = parts.uri.path().trim_end_matches('/');
    match (&parts.method, path) {
        (&Method::GET, "/__sandbox/log") => match serde_json::to_value(shared.log.entries()) {
            Ok(v) => Reply::json(200, &v),
            Err(e) => bad(e),
        },
        (&Method::DELETE, "/__sandbox/log") => {
            shared.log.clear();
            Reply::empty(204)
        }
        (&Method::POST, "/__sandbox/faults") => {
            let spec: FaultSpec = match serde_json::from_slice(body) {
                Ok(s) => s,
                Err(e) => return bad(format!("invalid fault spec: {e}")),
            };
            let id = shared.faults.lock().add(FaultRule {
                route: spec.route,
                fault: spec.fault,
                remaining: spec.count,
                until: spec
                    .duration_ms
                    .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms))),
            });
            Reply::json(201, &json!({"id": id.0}))
        }
        (&Method::DELETE, "/__sandbox/faults") => {
            shared.faults.lock().clear();
            Reply::empty(204)
        }
        (&Method::POST, "/__sandbox/chaos") => {
            let chaos: Option<Chaos> = match serde_json::from_slice(body) {
                Ok(c) => c,
                Err(e) => return bad(format!("invalid chaos spec: {e}")),
            };
            shared.faults.lock().set_chaos(chaos);
            Reply::empty(204)
        }
        (&Method::GET, "/__sandbox/deliveries") => {
            let d = shared.mc.lock().deliveries.clone();
            match serde_json::to_value(d) {
                Ok(v) => Reply::json(200, &v),
                Err(e) => bad(e),
            }
        }
        (&Method::POST, "/__sandbox/ratelimits/reset") => {
            shared.limits.lock().reset();
            Reply::empty(204)
        }
        _ => Reply::json(
            404,
            &json!({"status": "error", "message": format!("no admin route {} {path}", parts.method), "routes": Value::Array(vec![
                json!("GET /__sandbox/log"), json!("DELETE /__sandbox/log"), json!("POST /__sandbox/faults"),
                json!("DELETE /__sandbox/faults"), json!("POST /__sandbox/chaos"), json!("GET /__sandbox/deliveries"),
                json!("POST /__sandbox/ratelimits/reset"),
            ])}),
        ),
    }
}
