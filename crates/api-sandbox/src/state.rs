//! State shared by the server, the API handlers and the control handle.

use std::sync::atomic::AtomicU64;

use parking_lot::Mutex;

use crate::config::SandboxConfig;
use crate::faults::{Api, FaultState};
use crate::hubspot::store::{CrmStore, CustomDef};
use crate::log::RequestLog;
use crate::manychat::store::ManyChatStore;
use crate::ratelimit::Limiters;
use crate::util::{Clock, IdSource};

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    pub(crate) clock: Clock,
    pub(crate) ids: IdSource,
    pub(crate) crm: Mutex<CrmStore>,
    pub(crate) mc: Mutex<ManyChatStore>,
    pub(crate) limits: Mutex<Limiters>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) log: RequestLog,
    pub(crate) seq: AtomicU64,
    /// The configured custom object types.
    pub(crate) custom_types: Vec<&'static CustomDef>,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Self {
        let clock = Clock::new(config.epoch_ms, config.time_scale);
        let (crm, mc) = crate::seed::generate(&config);
        Self {
            ids: IdSource::new(config.seed),
            log: RequestLog::new(clock.start()),
            clock,
            crm: Mutex::new(crm),
            mc: Mutex::new(mc),
            limits: Mutex::new(Limiters::default()),
            faults: Mutex::new(FaultState::default()),
            seq: AtomicU64::new(0),
            custom_types: config
                .hubspot
                .custom_objects
                .iter()
                .map(|c| CustomDef::intern(c, config.hubspot.portal_id))
                .collect(),
            config,
        }
    }

    /// The label of the presented token, for the log (never the token itself).
    pub(crate) fn token_label(&self, api: Api, headers: &http::HeaderMap) -> Option<String> {
        let token = bearer(headers)?;
        let label = match api {
            Api::HubSpot => self
                .config
                .hubspot
                .tokens
                .iter()
                .find(|t| t.token == token)
                .map(|t| t.label.clone()),
            Api::ManyChat => (token == self.config.manychat.token())
                .then(|| format!("page:{}", self.config.manychat.page_id)),
            _ => None,
        };
        Some(label.unwrap_or_else(|| "unknown".to_owned()))
    }
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}
