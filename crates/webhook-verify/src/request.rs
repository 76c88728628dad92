//! What a verifier looks at, what it returns, and the trait every scheme implements.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use crate::error::WebhookError;

/// One inbound delivery as a verifier sees it: borrowed, so verifying copies nothing.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The HTTP method (`"POST"`), as sent.
    pub method: &'a str,
    /// The full URI the sender signed (`https://host/path?query`); only HubSpot v2/v3 use it.
    pub uri: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body bytes exactly as received (never a re-serialised JSON value).
    pub body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    /// A request from its parts.
    pub fn new(method: &'a str, uri: &'a str, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Self {
            method,
            uri,
            headers,
            body,
        }
    }
}

/// The signature scheme that accepted a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// HubSpot v1: SHA-256 of secret + body.
    HubSpotV1,
    /// HubSpot v2: SHA-256 of secret + method + URI + body.
    HubSpotV2,
    /// HubSpot v3: HMAC-SHA256 of method + URI + body + timestamp.
    HubSpotV3,
    /// A generic HMAC-SHA256 of the body in a named header (GitHub style).
    Hmac,
    /// Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`.
    StandardWebhooks,
    /// Stripe: HMAC-SHA256 of `t.body`, in `Stripe-Signature`.
    Stripe,
    /// A scheme implemented outside this crate, by name.
    Custom(&'static str),
}

impl Scheme {
    /// A short name for logs (`"hubspot-v3"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HubSpotV1 => "hubspot-v1",
            Self::HubSpotV2 => "hubspot-v2",
            Self::HubSpotV3 => "hubspot-v3",
            Self::Hmac => "hmac",
            Self::StandardWebhooks => "standard-webhooks",
            Self::Stripe => "stripe",
            Self::Custom(name) => name,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Proof that a delivery verified, with what the replay guard needs.
///
/// The layer inserts it into the request's extensions, so the inner service can see which
/// scheme and which secret (by index, in rotation order) accepted the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The scheme that accepted the delivery.
    pub scheme: Scheme,
    /// The index of the secret that verified it (0 = the first one configured).
    pub secret_index: usize,
    /// The signed timestamp, for schemes that have one (HubSpot v3, Standard Webhooks).
    pub timestamp: Option<SystemTime>,
    /// The delivery identifier the replay guard records.
    pub replay_key: ReplayKey,
}

/// A fixed-size delivery identifier for replay protection: for Standard Webhooks a digest of
/// `webhook-id`, otherwise the first 16 bytes of the signature this crate computed (which covers
/// the timestamp where the scheme has one).
///
/// It is derived from verified content, so an attacker cannot mint a fresh key by re-encoding
/// the signature header (hex case, extra entries) of a captured delivery. `Display` gives
/// `scheme:hex`, for stores that need a string key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    scheme: Scheme,
    bytes: [u8; 16],
}

impl ReplayKey {
    /// A key from its parts (for custom guards and tests; verifiers make their own).
    pub fn new(scheme: Scheme, bytes: [u8; 16]) -> Self {
        Self { scheme, bytes }
    }

    /// The scheme the key belongs to.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The 16 identifying bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.bytes
    }
}

impl fmt::Display for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        self.bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Verified {
    /// A verification record, for [`Verify`] implementations outside this crate.
    pub fn new(
        scheme: Scheme,
        secret_index: usize,
        timestamp: Option<SystemTime>,
        replay_key: ReplayKey,
    ) -> Self {
        Self {
            scheme,
            secret_index,
            timestamp,
            replay_key,
        }
    }
}

/// A signature scheme: checks one delivery at an explicit `now`.
pub trait Verify: fmt::Debug + Send + Sync {
    /// Verifies `request` as of `now`.
    ///
    /// # Errors
    ///
    /// A [`WebhookError`] naming the failed check: a missing or malformed header, a timestamp
    /// outside the tolerance, or a signature no configured secret produces.
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, WebhookError>;

    /// Whether this scheme signs the URI (the layer only reconstructs it when needed).
    fn needs_uri(&self) -> bool {
        false
    }

    /// The timestamp tolerance, for schemes that sign a timestamp (the replay window is twice
    /// this).
    fn tolerance(&self) -> Option<Duration> {
        None
    }
}

impl<V: Verify + ?Sized> Verify for std::sync::Arc<V> {
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        (**self).verify(request, now)
    }

    fn needs_uri(&self) -> bool {
        (**self).needs_uri()
    }

    fn tolerance(&self) -> Option<Duration> {
        (**self).tolerance()
    }
}

impl<V: Verify + ?Sized> Verify for Box<V> {
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        (**self).verify(request, now)
    }

    fn needs_uri(&self) -> bool {
        (**self).needs_uri()
    }

    fn tolerance(&self) -> Option<Duration> {
        (**self).tolerance()
    }
}
