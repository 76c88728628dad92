//! Standard Webhooks (<https://www.standardwebhooks.com>): `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 keyed by the
//! base64-decoded `whsec_` secret, sent as `v1,<base64>`; the signature header may hold several
//! space-separated entries (the sender's key rotation), and any one that matches is enough.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;

use crate::error::WebhookError;
use crate::request::{Scheme, Verified, Verify, WebhookRequest};
use crate::secret::{Secrets, WebhookSecret};
use crate::util::{self, Candidate, TAG_LEN};

/// `webhook-id`: the delivery's unique identifier (the same across retries).
pub const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
/// `webhook-timestamp`: seconds since the Unix epoch.
pub const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
/// `webhook-signature`: space-separated `v1,<base64>` entries.
pub const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");
/// The specification's recommended tolerance: 5 minutes either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Verifies Standard Webhooks deliveries.
#[derive(Debug, Clone)]
pub struct StandardWebhooksVerifier {
    secrets: Secrets,
    tolerance: Duration,
}

impl StandardWebhooksVerifier {
    /// A verifier with one secret (see [`WebhookSecret::from_standard`] for `whsec_` text).
    pub fn new(secret: WebhookSecret) -> Self {
        Self {
            secrets: Secrets::one(secret),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// A verifier from a `whsec_...` secret.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] when the text is not a valid Standard Webhooks secret.
    pub fn from_secret_str(secret: &str) -> Result<Self, WebhookError> {
        WebhookSecret::from_standard(secret).map(Self::new)
    }

    /// Adds another secret (rotation on the receiving side).
    #[must_use]
    pub fn add_secret(mut self, secret: WebhookSecret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sets the timestamp tolerance (default 5 minutes), applied to the past and the future.
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

impl Verify for StandardWebhooksVerifier {
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        let id = util::required(request.headers, &WEBHOOK_ID)?;
        let timestamp_text = util::required(request.headers, &WEBHOOK_TIMESTAMP)?;
        let signatures = util::signature(request.headers, &WEBHOOK_SIGNATURE)?.unwrap_or("");
        if id.is_empty() {
            return Err(WebhookError::malformed(&WEBHOOK_ID, "empty identifier"));
        }
        let timestamp = util::parse_timestamp(timestamp_text, &WEBHOOK_TIMESTAMP, false)?;
        util::check_window(timestamp, now, self.tolerance)?;

        for (index, secret) in self.secrets.iter() {
            let tag = mac(secret.expose(), id, timestamp_text, request.body);
            // Every `v1` entry is tried (entries of other versions are skipped), so a receiver
            // keeps working while the sender rotates and sends two signatures.
            let matched = signatures
                .split_ascii_whitespace()
                .filter_map(|entry| entry.split_once(','))
                .filter(|(version, _)| *version == "v1")
                .any(|(_, signature)| Candidate::base64(signature).matches(&tag));
            if matched {
                return Ok(Verified {
                    scheme: Scheme::StandardWebhooks,
                    secret_index: index,
                    timestamp: Some(timestamp),
                    replay_key: util::id_replay_key(Scheme::StandardWebhooks, id.as_bytes()),
                });
            }
        }
        Err(WebhookError::SignatureMismatch)
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }
}

fn mac(secret: &[u8], id: &str, timestamp: &str, body: &[u8]) -> [u8; TAG_LEN] {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.finalize().into_bytes().into()
        }
        // HMAC accepts keys of any length, so this arm is unreachable.
        Err(_) => [0u8; TAG_LEN],
    }
}

/// One signature entry, `v1,<base64>`, for `body` with `id` at `timestamp_secs`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp_secs: u64, body: &[u8]) -> String {
    let tag = mac(secret.expose(), id, &timestamp_secs.to_string(), body);
    format!("v1,{}", STANDARD.encode(tag))
}

/// The three headers a sender attaches, with one `v1` entry per secret (space-separated), at
/// `now` (for tests, the sandbox and the demo).
///
/// # Errors
///
/// [`WebhookError::MalformedHeader`] when `id` is not a valid header value.
pub fn signed_headers(
    secrets: &[WebhookSecret],
    id: &str,
    now: SystemTime,
    body: &[u8],
) -> Result<HeaderMap, WebhookError> {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, id, secs, body))
        .collect::<Vec<_>>()
        .join(" ");
    let mut headers = HeaderMap::new();
    let id_value = HeaderValue::from_str(id)
        .map_err(|_| WebhookError::malformed(&WEBHOOK_ID, "not a valid header value"))?;
    headers.insert(WEBHOOK_ID, id_value);
    headers.insert(WEBHOOK_TIMESTAMP, HeaderValue::from(secs));
    let signature_value = HeaderValue::from_str(&signatures)
        .map_err(|_| WebhookError::malformed(&WEBHOOK_SIGNATURE, "not a valid header value"))?;
    headers.insert(WEBHOOK_SIGNATURE, signature_value);
    Ok(headers)
}
