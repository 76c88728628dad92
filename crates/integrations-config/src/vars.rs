//! The names of the environment variables this crate reads (compatible with the Python library
//! this workspace replaces). Unset, empty and whitespace-only values all mean "not set".

/// Selects the defaults: `production` (default), `staging`, `development` or `test`.
pub const ENVIRONMENT: &str = "ENVIRONMENT";

/// HubSpot private-app or OAuth access token (required, secret).
pub const HUBSPOT_TOKEN: &str = "HUBSPOT_TOKEN";
/// HubSpot API base URL (default `https://api.hubapi.com`).
pub const HUBSPOT_BASE_URL: &str = "HUBSPOT_BASE_URL";
/// Timeout of one HubSpot HTTP attempt, in seconds, integer or decimal (default 30).
pub const HUBSPOT_TIMEOUT: &str = "HUBSPOT_TIMEOUT";
/// Retries after the first HubSpot attempt, 0 to 10 (default 3).
pub const HUBSPOT_MAX_RETRIES: &str = "HUBSPOT_MAX_RETRIES";
/// Whether the HubSpot client has a circuit breaker (default true).
pub const HUBSPOT_CIRCUIT_BREAKER_ENABLED: &str = "HUBSPOT_CIRCUIT_BREAKER_ENABLED";
/// Whether the HubSpot client caches idempotent reads (default true).
pub const HUBSPOT_CACHE_ENABLED: &str = "HUBSPOT_CACHE_ENABLED";
/// Whether the HubSpot client records metrics (default true).
pub const HUBSPOT_METRICS_ENABLED: &str = "HUBSPOT_METRICS_ENABLED";

/// ManyChat API key, either `<page_id>:<api_key>` or the bare key with [`MANYCHAT_PAGE_ID`]
/// set (required, secret).
pub const MANYCHAT_API_KEY: &str = "MANYCHAT_API_KEY";
/// ManyChat (Facebook) page id, numeric; joined to a bare [`MANYCHAT_API_KEY`].
pub const MANYCHAT_PAGE_ID: &str = "MANYCHAT_PAGE_ID";
/// ManyChat API base URL (default `https://api.manychat.com`).
pub const MANYCHAT_BASE_URL: &str = "MANYCHAT_BASE_URL";
/// Timeout of one ManyChat HTTP attempt, in seconds, integer or decimal (default 30).
pub const MANYCHAT_TIMEOUT: &str = "MANYCHAT_TIMEOUT";
/// Retries after the first ManyChat attempt, 0 to 10 (default 3).
pub const MANYCHAT_MAX_RETRIES: &str = "MANYCHAT_MAX_RETRIES";
/// Whether the ManyChat client has a circuit breaker (default true).
pub const MANYCHAT_CIRCUIT_BREAKER_ENABLED: &str = "MANYCHAT_CIRCUIT_BREAKER_ENABLED";
/// Whether the ManyChat client records metrics (default true).
pub const MANYCHAT_METRICS_ENABLED: &str = "MANYCHAT_METRICS_ENABLED";

/// Every variable above, in the order problems are reported (the order of the README table).
pub const ALL: [&str; 15] = [
    ENVIRONMENT,
    HUBSPOT_TOKEN,
    HUBSPOT_BASE_URL,
    HUBSPOT_TIMEOUT,
    HUBSPOT_MAX_RETRIES,
    HUBSPOT_CIRCUIT_BREAKER_ENABLED,
    HUBSPOT_CACHE_ENABLED,
    HUBSPOT_METRICS_ENABLED,
    MANYCHAT_API_KEY,
    MANYCHAT_PAGE_ID,
    MANYCHAT_BASE_URL,
    MANYCHAT_TIMEOUT,
    MANYCHAT_MAX_RETRIES,
    MANYCHAT_CIRCUIT_BREAKER_ENABLED,
    MANYCHAT_METRICS_ENABLED,
];
