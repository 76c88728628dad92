//! The HubSpot surface: auth, rate limits with `X-HubSpot-RateLimit-*` headers, routing to the
//! CRM v3 object endpoints and `/account-info/v3/details`.

pub(crate) mod error;
mod objects;
mod search;
pub(crate) mod store;

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::config::HubSpotToken;
use crate::reply::Reply;
use crate::state::{Shared, bearer};
use crate::util::{decode_path, parse_query};
use store::ObjectType;

/// A parsed HubSpot operation.
#[derive(Debug)]
enum Op {
    AccountDetails,
    List(ObjectType),
    Create(ObjectType),
    Get(ObjectType, String),
    Update(ObjectType, String),
    Archive(ObjectType, String),
    Search(ObjectType),
    Batch(ObjectType, BatchOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchOp {
    Read,
    Create,
    Update,
    Upsert,
    Archive,
}

impl Op {
    fn scope(&self) -> Option<String> {
        let (ty, write) = match self {
            Self::AccountDetails => return None,
            Self::List(t) | Self::Get(t, _) | Self::Search(t) => (*t, false),
            Self::Batch(t, BatchOp::Read) => (*t, false),
            Self::Create(t) | Self::Update(t, _) | Self::Archive(t, _) | Self::Batch(t, _) => {
                (*t, true)
            }
        };
        Some(format!(
            "crm.objects.{}.{}",
            ty.scope_name(),
            if write { "write" } else { "read" }
        ))
    }
}

fn parse_op(shared: &Shared, method: &Method, path: &str) -> Result<Op, Reply> {
    let trimmed = path.trim_end_matches('/');
    if trimmed == "/account-info/v3/details" {
        return match *method {
            Method::GET => Ok(Op::AccountDetails),
            _ => Err(method_not_allowed(shared)),
        };
    }
    let Some(rest) = trimmed.strip_prefix("/crm/v3/objects/") else {
        return Err(error::error(
            shared,
            404,
            "OBJECT_NOT_FOUND",
            &format!("No route found for {method} {path}"),
        ));
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let ty = ObjectType::resolve(&decode_path(segs[0]), &shared.custom_types).ok_or_else(|| {
        error::validation(
            shared,
            &format!("Unable to infer object type from: {}", decode_path(segs[0])),
        )
    })?;
    let m = method.clone();
    let op = match (segs.len(), segs.get(1).copied(), segs.get(2).copied()) {
        (1, ..) => match m {
            Method::GET => Op::List(ty),
            Method::POST => Op::Create(ty),
            _ => return Err(method_not_allowed(shared)),
        },
        (2, Some("search"), _) if m == Method::POST => Op::Search(ty),
        (3, Some("batch"), Some(b)) => {
            let b = match b {
                "read" => BatchOp::Read,
                "create" => BatchOp::Create,
                "update" => BatchOp::Update,
                "upsert" => BatchOp::Upsert,
                "archive" => BatchOp::Archive,
                _ => return Err(not_routed(shared, method, path)),
            };
            if m != Method::POST {
                return Err(method_not_allowed(shared));
            }
            Op::Batch(ty, b)
        }
        _ => {
            let id = decode_path(&segs[1..].join("/"));
            match m {
                Method::GET => Op::Get(ty, id),
                Method::PATCH => Op::Update(ty, id),
                Method::DELETE => Op::Archive(ty, id),
                _ => return Err(method_not_allowed(shared)),
            }
        }
    };
    Ok(op)
}

fn not_routed(shared: &Shared, method: &Method, path: &str) -> Reply {
    error::error(
        shared,
        404,
        "OBJECT_NOT_FOUND",
        &format!("No route found for {method} {path}"),
    )
}

fn method_not_allowed(shared: &Shared) -> Reply {
    error::error(
        shared,
        405,
        "VALIDATION_ERROR",
        "HTTP method not allowed for this path",
    )
}

/// Handles one HubSpot request (after faults).
pub(crate) fn handle(shared: &Shared, parts: &http::request::Parts, body: &Bytes) -> Reply {
    let cfg = &shared.config.hubspot;
    let Some(token) = bearer(&parts.headers).and_then(|t| cfg.tokens.iter().find(|k| k.token == t))
    else {
        return error::unauthorized(shared);
    };
    let op = match parse_op(shared, &parts.method, parts.uri.path()) {
        Ok(op) => op,
        Err(r) => return r,
    };
    let now = Instant::now();
    if let Op::Search(_) = op {
        // search has its own per-second limit and sends no rate-limit headers
        if let Some(l) = cfg.search {
            let d = shared.limits.lock().rolling(
                &format!("hs:search:{}", token.label),
                l.max,
                shared.clock.scaled(l.interval),
                now,
            );
            if !d.allowed {
                let r = error::rate_limited(
                    shared,
                    "SECONDLY",
                    &format!("publicapi:search-api-secondly:{}", cfg.portal_id),
                );
                return retry_after(shared, r, d.retry_in);
            }
        }
        return dispatch(shared, token, op, parts, body);
    }
    let mut headers: Vec<(&'static str, String)> = Vec::new();
    if let Some(l) = cfg.burst {
        let interval = shared.clock.scaled(l.interval);
        let d = shared.limits.lock().rolling(
            &format!("hs:burst:{}", token.label),
            l.max,
            interval,
            now,
        );
        headers.push(("x-hubspot-ratelimit-max", l.max.to_string()));
        headers.push(("x-hubspot-ratelimit-remaining", d.remaining.to_string()));
        headers.push((
            "x-hubspot-ratelimit-interval-milliseconds",
            interval.as_millis().to_string(),
        ));
        if !d.allowed {
            let r = error::rate_limited(
                shared,
                "TEN_SECONDLY_ROLLING",
                &format!(
                    "publicapi:private-app-api-calls-ten-secondly:{}",
                    cfg.portal_id
                ),
            );
            return with_headers(retry_after(shared, r, d.retry_in), &headers);
        }
    }
    if let Some(max) = cfg.daily {
        let key = format!("hs:daily:{}", token.label);
        let d = shared.limits.lock().fixed(
            &key,
            max,
            shared.clock.scaled(Duration::from_secs(86_400)),
            shared.clock.start(),
            now,
        );
        headers.push(("x-hubspot-ratelimit-daily", max.to_string()));
        headers.push((
            "x-hubspot-ratelimit-daily-remaining",
            d.remaining.to_string(),
        ));
        if !d.allowed {
            let r = error::rate_limited(
                shared,
                "DAILY",
                &format!("publicapi:private-app-api-calls-daily:{}", cfg.portal_id),
            );
            return with_headers(retry_after(shared, r, d.retry_in), &headers);
        }
    }
    let reply = dispatch(shared, token, op, parts, body);
    with_headers(reply, &headers)
}

fn with_headers(mut r: Reply, headers: &[(&'static str, String)]) -> Reply {
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r
}

fn retry_after(shared: &Shared, r: Reply, wait: Duration) -> Reply {
    if shared.config.hubspot.retry_after_on_429 {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        r.retry_after(&secs.max(1).to_string())
    } else {
        r
    }
}

fn dispatch(
    shared: &Shared,
    token: &HubSpotToken,
    op: Op,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Reply {
    if let Some(scope) = op.scope()
        && !token.has_scope(&scope)
    {
        return error::missing_scope(shared, &scope);
    }
    let query = parse_query(parts.uri.query());
    match op {
        Op::AccountDetails => account_details(shared),
        Op::List(ty) => objects::list(shared, ty, &query),
        Op::Create(ty) => objects::create(shared, ty, body),
        Op::Get(ty, id) => objects::get(shared, ty, &id, &query),
        Op::Update(ty, id) => objects::update(shared, ty, &id, &query, body),
        Op::Archive(ty, id) => objects::archive(shared, ty, &id),
        Op::Search(ty) => search::search(shared, ty, body),
        Op::Batch(ty, b) => objects::batch(shared, ty, b, &query, body),
    }
}

fn account_details(shared: &Shared) -> Reply {
    Reply::json(
        200,
        &json!({
            "portalId": shared.config.hubspot.portal_id,
            "accountType": "STANDARD",
            "timeZone": "US/Eastern",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "dataHostingLocation": "na1",
            "uiDomain": "app.hubspot.com",
            "utcOffset": "-05:00",
            "utcOffsetMilliseconds": -18_000_000,
        }),
    )
}
