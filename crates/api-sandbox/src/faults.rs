//! Scripted and random faults: which requests misbehave, and how.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::util::Rng;

/// Which API a request belongs to (decided by its path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `/crm/...` and `/account-info/...`.
    #[serde(rename = "hubspot")]
    HubSpot,
    /// `/fb/...`.
    #[serde(rename = "manychat")]
    ManyChat,
    /// `/__sandbox/...` (never faulted).
    Admin,
    /// Anything else (answered 404).
    Unknown,
}

impl Api {
    /// Classifies a request path.
    pub fn of_path(path: &str) -> Self {
        if path.starts_with("/crm/") || path.starts_with("/account-info/") {
            Self::HubSpot
        } else if path.starts_with("/fb/") {
            Self::ManyChat
        } else if path.starts_with("/__sandbox/") {
            Self::Admin
        } else {
            Self::Unknown
        }
    }
}

/// Which requests a fault applies to. Every `None` field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Only requests to this API.
    #[serde(default)]
    pub api: Option<Api>,
    /// Only this method (case-insensitive, e.g. `"POST"`).
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths starting with this prefix (e.g. `"/crm/v3/objects/contacts/search"`).
    #[serde(default)]
    pub path_prefix: Option<String>,
}

impl Route {
    /// Every HubSpot and ManyChat request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Every HubSpot request.
    pub fn hubspot() -> Self {
        Self {
            api: Some(Api::HubSpot),
            ..Self::default()
        }
    }

    /// Every ManyChat request.
    pub fn manychat() -> Self {
        Self {
            api: Some(Api::ManyChat),
            ..Self::default()
        }
    }

    /// Requests whose path starts with `prefix`.
    pub fn path(prefix: impl Into<String>) -> Self {
        Self {
            path_prefix: Some(prefix.into()),
            ..Self::default()
        }
    }

    /// Narrows the route to one method.
    pub fn with_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// True when the route covers the request.
    pub fn matches(&self, api: Api, method: &str, path: &str) -> bool {
        api != Api::Admin
            && self.api.is_none_or(|a| a == api)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// The body a [`Fault::Status`] answers with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FaultBody {
    /// The API's own JSON error shape for that status (HubSpot: `status`, `message`,
    /// `correlationId`, `category`; ManyChat: `status: "error"`, `message`).
    #[default]
    ApiDefault,
    /// A load balancer's HTML error page (`<html><head><title>502 Bad Gateway</title>…`).
    Html,
    /// This JSON value.
    Json(Value),
    /// This text, as `text/plain`.
    Text(String),
    /// No body at all.
    Empty,
}

/// How a faulted request misbehaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status without processing the request.
    Status {
        /// HTTP status code.
        status: u16,
        /// Body to send.
        #[serde(default)]
        body: FaultBody,
        /// `Retry-After` header value, if any (e.g. `"2"` or an HTTP date).
        #[serde(default)]
        retry_after: Option<String>,
    },
    /// Wait this long (`tokio::time::sleep`), then process normally.
    Latency {
        /// Added delay in milliseconds.
        delay_ms: u64,
    },
    /// Close the connection before processing: the request had no effect.
    DropBeforeResponse,
    /// Process the request (its side effects happen), then close the connection without a
    /// response: the case that makes blind retries of sends dangerous.
    DropAfterProcessing,
    /// Process the request, then answer its status with a body that is not valid JSON.
    MalformedJson,
    /// Process the request, then send only half of the body (the `Content-Length` promises all
    /// of it) and close the connection.
    TruncatedBody,
}

impl Fault {
    /// A status with the API's own JSON error body.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            body: FaultBody::ApiDefault,
            retry_after: None,
        }
    }

    /// A status with an HTML body (what a proxy in front of the API sends).
    pub fn html(status: u16) -> Self {
        Self::Status {
            status,
            body: FaultBody::Html,
            retry_after: None,
        }
    }

    /// A status with a given JSON body.
    pub fn json(status: u16, body: Value) -> Self {
        Self::Status {
            status,
            body: FaultBody::Json(body),
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` header (in whole seconds) to a status fault; other faults are
    /// returned unchanged.
    pub fn retry_after_secs(self, secs: u64) -> Self {
        self.retry_after(secs.to_string())
    }

    /// Adds a raw `Retry-After` header value to a status fault.
    pub fn retry_after(self, value: impl Into<String>) -> Self {
        match self {
            Self::Status { status, body, .. } => Self::Status {
                status,
                body,
                retry_after: Some(value.into()),
            },
            other => other,
        }
    }

    /// Added latency before normal processing.
    pub fn latency(delay: Duration) -> Self {
        Self::Latency {
            delay_ms: delay.as_millis() as u64,
        }
    }

    /// Short machine name, as recorded in the request log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::Latency { .. } => "latency",
            Self::DropBeforeResponse => "drop_before_response",
            Self::DropAfterProcessing => "drop_after_processing",
            Self::MalformedJson => "malformed_json",
            Self::TruncatedBody => "truncated_body",
        }
    }
}

/// A fault applied to matching requests, a number of times and/or until a deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Requests it applies to.
    pub route: Route,
    /// What happens to them.
    pub fault: Fault,
    /// How many more requests it applies to (`None`: no count limit).
    pub remaining: Option<u32>,
    /// When it stops applying (`None`: no deadline).
    pub until: Option<Instant>,
}

/// Random faults: each matching request fails with `probability`, the fault picked from
/// `faults`, all driven by `seed` so a chaos run is reproducible request by request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chaos {
    /// PRNG seed.
    pub seed: u64,
    /// Chance in `[0, 1]` that a matching request is faulted.
    pub probability: f64,
    /// Faults to pick from (uniformly).
    pub faults: Vec<Fault>,
    /// Requests it applies to.
    #[serde(default)]
    pub route: Route,
}

/// Identifies a scripted rule, to remove it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FaultId(pub(crate) u64);

#[derive(Debug, Default)]
pub(crate) struct FaultState {
    rules: Vec<(FaultId, FaultRule)>,
    chaos: Option<(Chaos, Rng)>,
    next_id: u64,
}

impl FaultState {
    pub(crate) fn add(&mut self, rule: FaultRule) -> FaultId {
        let id = FaultId(self.next_id);
        self.next_id += 1;
        self.rules.push((id, rule));
        id
    }

    pub(crate) fn remove(&mut self, id: FaultId) -> bool {
        let before = self.rules.len();
        self.rules.retain(|(i, _)| *i != id);
        before != self.rules.len()
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.chaos = None;
    }

    pub(crate) fn set_chaos(&mut self, chaos: Option<Chaos>) {
        self.chaos = chaos.map(|c| {
            let rng = Rng::new(c.seed);
            (c, rng)
        });
    }

    pub(crate) fn active(&self) -> usize {
        self.rules.len()
    }

    /// Picks the fault for a request (first matching rule, else chaos), consuming one use.
    pub(crate) fn decide(
        &mut self,
        api: Api,
        method: &str,
        path: &str,
        now: Instant,
    ) -> Option<Fault> {
        self.rules
            .retain(|(_, r)| r.remaining.is_none_or(|n| n > 0) && r.until.is_none_or(|u| now < u));
        if let Some((_, rule)) = self
            .rules
            .iter_mut()
            .find(|(_, r)| r.route.matches(api, method, path))
        {
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            return Some(rule.fault.clone());
        }
        let (chaos, rng) = self.chaos.as_mut()?;
        if !chaos.route.matches(api, method, path) || chaos.faults.is_empty() {
            return None;
        }
        let hit = rng.chance(chaos.probability);
        let pick = rng.below(chaos.faults.len() as u64) as usize;
        hit.then(|| chaos.faults[pick].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_by_api_method_and_prefix() {
        let r = Route::path("/fb/sending").with_method("post");
        assert!(r.matches(Api::ManyChat, "POST", "/fb/sending/sendContent"));
        assert!(!r.matches(Api::ManyChat, "GET", "/fb/sending/sendContent"));
        assert!(!Route::any().matches(Api::Admin, "GET", "/__sandbox/log"));
        assert!(!Route::hubspot().matches(Api::ManyChat, "GET", "/fb/page/getInfo"));
    }

    #[test]
    fn counted_rules_run_out() {
        let mut s = FaultState::default();
        let now = Instant::now();
        s.add(FaultRule {
            route: Route::any(),
            fault: Fault::status(503),
            remaining: Some(2),
            until: None,
        });
        assert!(s.decide(Api::HubSpot, "GET", "/crm", now).is_some());
        assert!(s.decide(Api::HubSpot, "GET", "/crm", now).is_some());
        assert!(s.decide(Api::HubSpot, "GET", "/crm", now).is_none());
        assert_eq!(s.active(), 0);
    }
}
