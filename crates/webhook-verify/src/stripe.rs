//! Stripe's scheme: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...]`.
//!
//! The signed content is `{t}.{body}`, HMAC-SHA256 keyed by the endpoint's signing secret used
//! as-is (the whole `whsec_...` text is the key, unlike Standard Webhooks). Every `v1` entry is
//! tried, so deliveries keep verifying while Stripe sends two signatures during a secret roll
//! (async-stripe checks only one).

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use http::HeaderName;
use sha2::Sha256;

use crate::error::WebhookError;
use crate::request::{Scheme, Verified, Verify, WebhookRequest};
use crate::secret::{Secrets, WebhookSecret};
use crate::util::{self, Candidate, TAG_LEN};

/// `Stripe-Signature`.
pub const STRIPE_SIGNATURE: HeaderName = HeaderName::from_static("stripe-signature");
/// Stripe's default tolerance: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Verifies Stripe webhook signatures.
#[derive(Debug, Clone)]
pub struct StripeVerifier {
    secrets: Secrets,
    tolerance: Duration,
}

impl StripeVerifier {
    /// A verifier for the endpoint signing secret `secret` (`whsec_...`, used as-is).
    pub fn new(secret: impl Into<WebhookSecret>) -> Self {
        Self {
            secrets: Secrets::one(secret.into()),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Adds another secret (rotation on the receiving side).
    #[must_use]
    pub fn add_secret(mut self, secret: impl Into<WebhookSecret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Sets the timestamp tolerance (default 5 minutes), applied to the past and the future.
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

impl Verify for StripeVerifier {
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        let header = util::required(request.headers, &STRIPE_SIGNATURE)?;
        let fields = || {
            header
                .split(',')
                .filter_map(|item| item.trim().split_once('='))
        };
        let timestamp_text = fields()
            .find(|(key, _)| *key == "t")
            .map(|(_, value)| value)
            .ok_or_else(|| WebhookError::malformed(&STRIPE_SIGNATURE, "no `t=` timestamp"))?;
        let timestamp = util::parse_timestamp(timestamp_text, &STRIPE_SIGNATURE, false)?;
        util::check_window(timestamp, now, self.tolerance)?;

        for (index, secret) in self.secrets.iter() {
            let tag = mac(secret.expose(), timestamp_text, request.body);
            let matched = fields()
                .filter(|(key, _)| *key == "v1")
                .any(|(_, signature)| Candidate::hex(signature).matches(&tag));
            if matched {
                return Ok(Verified {
                    scheme: Scheme::Stripe,
                    secret_index: index,
                    timestamp: Some(timestamp),
                    replay_key: util::tag_replay_key(Scheme::Stripe, &tag),
                });
            }
        }
        Err(WebhookError::SignatureMismatch)
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> [u8; TAG_LEN] {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.finalize().into_bytes().into()
        }
        // HMAC accepts keys of any length, so this arm is unreachable.
        Err(_) => [0u8; TAG_LEN],
    }
}

/// The `Stripe-Signature` value for `body` at `timestamp_secs`, one `v1` entry per secret (for
/// tests, the sandbox and the demo).
pub fn sign(secrets: &[WebhookSecret], timestamp_secs: u64, body: &[u8]) -> String {
    let timestamp = timestamp_secs.to_string();
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&hex::encode(mac(secret.expose(), &timestamp, body)));
    }
    value
}
