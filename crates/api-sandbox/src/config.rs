//! Sandbox configuration: seed data, tokens, rate limits and the time scale.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The default full-access HubSpot private-app token.
pub const DEFAULT_HUBSPOT_TOKEN: &str = "pat-na1-5a4d8b0c-0000-4000-8000-000000000001";
/// The default read-only HubSpot token (only `*.read` scopes: writes answer 403).
pub const DEFAULT_HUBSPOT_READONLY_TOKEN: &str = "pat-na1-5a4d8b0c-0000-4000-8000-000000000002";
/// The default ManyChat page id (the part before the colon of the token).
pub const DEFAULT_MANYCHAT_PAGE_ID: u64 = 1_234_567;
/// The default ManyChat API key (the part after the colon of the token).
pub const DEFAULT_MANYCHAT_API_KEY: &str = "0123456789abcdef0123456789abcdef";
/// Default [`SandboxConfig::max_body_bytes`]: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// 2026-01-01T00:00:00Z in epoch milliseconds: the default simulated "now" at start.
pub const DEFAULT_EPOCH_MS: i64 = 1_767_225_600_000;

/// Everything the sandbox can be told at start.
///
/// All fields are public; start from [`SandboxConfig::default`] and change what you need.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to bind (default `127.0.0.1:0`, an ephemeral port).
    pub bind: SocketAddr,
    /// Seed for the generated data and the correlation ids (default 42).
    pub seed: u64,
    /// Number of HubSpot contacts to generate (default 10,000).
    pub contacts: usize,
    /// Number of HubSpot companies to generate (default 200).
    pub companies: usize,
    /// Number of HubSpot deals to generate (default 500).
    pub deals: usize,
    /// Share of contacts that have a matching ManyChat subscriber (default 0.7).
    pub subscriber_share: f64,
    /// Share of subscribers whose last interaction is older than 24 hours, so `sendContent`
    /// without a `message_tag` answers code 3011 (default 0.0).
    pub stale_subscriber_share: f64,
    /// Multiplies every documented rate-limit window (HubSpot's burst, search and daily windows,
    /// ManyChat's per-second and hourly limits). `0.01` runs a 10 s window in 100 ms
    /// (default 1.0).
    pub time_scale: f64,
    /// Simulated wall-clock time at start, in epoch milliseconds: dates in responses are this
    /// plus the elapsed `tokio::time` (default 2026-01-01T00:00:00Z).
    pub epoch_ms: i64,
    /// Serve the `/__sandbox/` admin endpoints (default true).
    pub admin: bool,
    /// Largest request body read, in bytes (default 16 MiB). A larger body is read to its end
    /// and discarded, then answered 413 in the API's error shape.
    pub max_body_bytes: usize,
    /// HubSpot options.
    pub hubspot: HubSpotConfig,
    /// ManyChat options.
    pub manychat: ManyChatConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 42,
            contacts: 10_000,
            companies: 200,
            deals: 500,
            subscriber_share: 0.7,
            stale_subscriber_share: 0.0,
            time_scale: 1.0,
            epoch_ms: DEFAULT_EPOCH_MS,
            admin: true,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            hubspot: HubSpotConfig::default(),
            manychat: ManyChatConfig::default(),
        }
    }
}

impl SandboxConfig {
    /// A small data set (100 contacts, 10 companies, 20 deals) for fast tests.
    pub fn small() -> Self {
        Self {
            contacts: 100,
            companies: 10,
            deals: 20,
            ..Self::default()
        }
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of contacts.
    pub fn with_contacts(mut self, contacts: usize) -> Self {
        self.contacts = contacts;
        self
    }

    /// Sets the time scale (see [`SandboxConfig::time_scale`]).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }
}

/// A HubSpot bearer token the sandbox accepts.
#[derive(Clone)]
pub struct HubSpotToken {
    /// The token value sent as `Authorization: Bearer <token>`.
    pub token: String,
    /// A label recorded in the request log instead of the secret.
    pub label: String,
    /// Granted scopes; `None` grants every scope.
    pub scopes: Option<Vec<String>>,
}

impl std::fmt::Debug for HubSpotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubSpotToken")
            .field("token", &"[redacted]")
            .field("label", &self.label)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl HubSpotToken {
    /// A token with every scope.
    pub fn full(token: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            label: label.into(),
            scopes: None,
        }
    }

    /// A token with only the given scopes (e.g. `crm.objects.contacts.read`).
    pub fn scoped(
        token: impl Into<String>,
        label: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            token: token.into(),
            label: label.into(),
            scopes: Some(scopes.into_iter().map(Into::into).collect()),
        }
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == scope))
    }
}

/// A limit of `max` requests per rolling `interval` (before the time scale applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    /// Requests allowed in the window.
    pub max: u32,
    /// Window length, unscaled.
    pub interval: Duration,
}

impl WindowLimit {
    /// `max` requests per `interval`.
    pub const fn new(max: u32, interval: Duration) -> Self {
        Self { max, interval }
    }
}

/// HubSpot options.
#[derive(Debug, Clone)]
pub struct HubSpotConfig {
    /// Accepted tokens (default: [`DEFAULT_HUBSPOT_TOKEN`] with every scope and
    /// [`DEFAULT_HUBSPOT_READONLY_TOKEN`] with read scopes only).
    pub tokens: Vec<HubSpotToken>,
    /// The portal (account) id (default 62515).
    pub portal_id: u64,
    /// Burst limit per token, `TEN_SECONDLY_ROLLING` (default 100 per 10 s); `None` disables it.
    pub burst: Option<WindowLimit>,
    /// Search limit per token, `SECONDLY` (default 5 per 1 s); `None` disables it.
    pub search: Option<WindowLimit>,
    /// Daily limit per token, `DAILY` (default none). When set, responses also carry
    /// `X-HubSpot-RateLimit-Daily` and `-Daily-Remaining`.
    pub daily: Option<u32>,
    /// Add `Retry-After` (whole seconds, rounded up) to 429s. HubSpot's docs do not promise it,
    /// so the default is false.
    pub retry_after_on_429: bool,
    /// Largest `limit` for list calls; larger values are clamped (default 100).
    pub max_list_limit: u32,
    /// Custom object types served at `/crm/v3/objects/{name | p<portal>_<name> | objectTypeId}`
    /// besides contacts, companies and deals (default: [`CustomObjectType::pets`]). Any other
    /// type answers HubSpot's 400 `Unable to infer object type from: …`.
    pub custom_objects: Vec<CustomObjectType>,
}

/// A custom object type (schema) the sandbox serves, with generated records.
///
/// Its properties are the given ones plus `hs_object_id`, `hs_createdate` and
/// `hs_lastmodifieddate` (read-only). Reads without `properties` return those three, as HubSpot
/// does for custom objects; the scopes are `crm.objects.custom.read` / `.write`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomObjectType {
    /// The object name used in paths, e.g. `pets` (lower case, no slash).
    pub name: String,
    /// The object type id, e.g. `2-1000001`.
    pub object_type_id: String,
    /// Writable properties (string values). Must include `primary_display_property`.
    pub properties: Vec<String>,
    /// The property free-text search looks at and the seed fills with `"<name> <n>"`.
    pub primary_display_property: String,
    /// Number of records to generate (deterministic from the seed).
    pub records: usize,
}

impl CustomObjectType {
    /// A type with the given name, id and properties; the first property is the primary
    /// display property; 50 records.
    pub fn new(
        name: impl Into<String>,
        object_type_id: impl Into<String>,
        properties: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let properties: Vec<String> = properties.into_iter().map(Into::into).collect();
        Self {
            name: name.into(),
            object_type_id: object_type_id.into(),
            primary_display_property: properties.first().cloned().unwrap_or_default(),
            properties,
            records: 50,
        }
    }

    /// Sets the number of generated records.
    pub fn with_records(mut self, records: usize) -> Self {
        self.records = records;
        self
    }

    /// The default custom type: `pets` (`2-1000001`) with `name`, `species`, `age` and
    /// `owner_email`, 50 records.
    pub fn pets() -> Self {
        Self::new(
            "pets",
            "2-1000001",
            ["name", "species", "age", "owner_email"],
        )
    }
}

impl Default for HubSpotConfig {
    fn default() -> Self {
        Self {
            tokens: vec![
                HubSpotToken::full(DEFAULT_HUBSPOT_TOKEN, "default"),
                HubSpotToken::scoped(
                    DEFAULT_HUBSPOT_READONLY_TOKEN,
                    "readonly",
                    [
                        "crm.objects.contacts.read",
                        "crm.objects.companies.read",
                        "crm.objects.deals.read",
                        "crm.objects.custom.read",
                    ],
                ),
            ],
            portal_id: 62_515,
            burst: Some(WindowLimit::new(100, Duration::from_secs(10))),
            search: Some(WindowLimit::new(5, Duration::from_secs(1))),
            daily: None,
            retry_after_on_429: false,
            max_list_limit: 100,
            custom_objects: vec![CustomObjectType::pets()],
        }
    }
}

/// ManyChat options.
#[derive(Clone)]
pub struct ManyChatConfig {
    /// Page id (the part before the colon of the token).
    pub page_id: u64,
    /// API key (the part after the colon).
    pub api_key: String,
    /// Page name returned by `/fb/page/getInfo`.
    pub page_name: String,
    /// Enforce the documented per-operation limits (default true).
    pub rate_limits: bool,
}

impl std::fmt::Debug for ManyChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManyChatConfig")
            .field("page_id", &self.page_id)
            .field("api_key", &"[redacted]")
            .field("page_name", &self.page_name)
            .field("rate_limits", &self.rate_limits)
            .finish()
    }
}

impl Default for ManyChatConfig {
    fn default() -> Self {
        Self {
            page_id: DEFAULT_MANYCHAT_PAGE_ID,
            api_key: DEFAULT_MANYCHAT_API_KEY.to_owned(),
            page_name: "Sandbox Coffee Co.".to_owned(),
            rate_limits: true,
        }
    }
}

impl ManyChatConfig {
    /// The bearer token ManyChat expects: `<page_id>:<api_key>`.
    pub fn token(&self) -> String {
        format!("{}:{}", self.page_id, self.api_key)
    }
}
