//! Secrets that never print.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::WebhookError;

/// A webhook signing secret: raw key bytes that never appear in `Debug` output.
///
/// HubSpot uses the app's client secret as UTF-8 text ([`WebhookSecret::new`]); Standard
/// Webhooks secrets are `whsec_` followed by base64 ([`WebhookSecret::from_standard`]). Cloning
/// is cheap (the bytes are shared).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Arc<[u8]>);

impl WebhookSecret {
    /// A secret whose key is the given bytes as they are (HubSpot client secrets, GitHub
    /// webhook secrets).
    pub fn new(key: impl AsRef<[u8]>) -> Self {
        Self(Arc::from(key.as_ref()))
    }

    /// A Standard Webhooks secret: `whsec_` followed by the base64 of the key (the prefix is
    /// optional, as in the reference libraries).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] when the text is not standard base64 or decodes to an
    /// empty key.
    pub fn from_standard(text: &str) -> Result<Self, WebhookError> {
        let encoded = text.trim().strip_prefix("whsec_").unwrap_or(text.trim());
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::InvalidSecret {
                reason: "a Standard Webhooks secret must be base64 after `whsec_`",
            })?;
        if key.is_empty() {
            return Err(WebhookError::InvalidSecret {
                reason: "the secret is empty",
            });
        }
        Ok(Self(Arc::from(key)))
    }

    /// The Standard Webhooks text form of this secret (`whsec_` + base64).
    pub fn to_standard(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }

    /// The key bytes. Handle with care: this is the secret.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl From<&str> for WebhookSecret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for WebhookSecret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&[u8]> for WebhookSecret {
    fn from(value: &[u8]) -> Self {
        Self::new(value)
    }
}

impl From<Vec<u8>> for WebhookSecret {
    fn from(value: Vec<u8>) -> Self {
        Self(Arc::from(value))
    }
}

/// One or more secrets tried in order (rotation): a delivery is valid if any of them verifies it.
#[derive(Clone, Debug)]
pub(crate) struct Secrets(Vec<WebhookSecret>);

impl Secrets {
    pub(crate) fn one(secret: WebhookSecret) -> Self {
        Self(vec![secret])
    }

    pub(crate) fn push(&mut self, secret: WebhookSecret) {
        self.0.push(secret);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &WebhookSecret)> {
        self.0.iter().enumerate()
    }
}
