//! Generic HMAC-SHA256 of the raw body, sent in a named header (GitHub style).

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::HeaderName;
use sha2::Sha256;

use crate::error::WebhookError;
use crate::request::{Scheme, Verified, Verify, WebhookRequest};
use crate::secret::{Secrets, WebhookSecret};
use crate::util::{self, Candidate, TAG_LEN};

/// GitHub's header: `X-Hub-Signature-256: sha256=<hex>`.
pub const GITHUB_SIGNATURE: HeaderName = HeaderName::from_static("x-hub-signature-256");

/// How the signature is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureEncoding {
    /// Hexadecimal (either case accepted, lowercase produced).
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// Verifies `HMAC-SHA256(secret, body)` sent in one header, optionally after a prefix such as
/// `sha256=`.
///
/// This scheme signs no timestamp, so a captured request stays valid forever; the layer's replay
/// guard can only reject repeats within its window. Prefer a timestamped scheme when the sender
/// offers one.
#[derive(Debug, Clone)]
pub struct HmacVerifier {
    header: HeaderName,
    encoding: SignatureEncoding,
    prefix: Option<String>,
    secrets: Secrets,
}

impl HmacVerifier {
    /// A verifier reading `header`, written in `encoding`, with no prefix.
    pub fn new(
        header: HeaderName,
        encoding: SignatureEncoding,
        secret: impl Into<WebhookSecret>,
    ) -> Self {
        Self {
            header,
            encoding,
            prefix: None,
            secrets: Secrets::one(secret.into()),
        }
    }

    /// GitHub's scheme: `X-Hub-Signature-256: sha256=<hex>`.
    pub fn github(secret: impl Into<WebhookSecret>) -> Self {
        Self::new(GITHUB_SIGNATURE, SignatureEncoding::Hex, secret).prefix("sha256=")
    }

    /// Requires and strips `prefix` (compared ignoring ASCII case) before decoding.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Adds another secret (rotation): a request is valid if any secret verifies it.
    #[must_use]
    pub fn add_secret(mut self, secret: impl Into<WebhookSecret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// The header value this verifier accepts for `body` signed with `secret` (prefix
    /// included), for tests and senders.
    pub fn sign(&self, secret: &WebhookSecret, body: &[u8]) -> String {
        let signature = sign(secret.expose(), body, self.encoding);
        match &self.prefix {
            Some(prefix) => format!("{prefix}{signature}"),
            None => signature,
        }
    }

    /// The header this verifier reads.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }
}

impl Verify for HmacVerifier {
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        _now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        let candidate = match util::signature(request.headers, &self.header)? {
            None => Candidate::invalid(),
            Some(sent) => {
                let sent = match &self.prefix {
                    Some(prefix) => match sent.get(..prefix.len()) {
                        Some(head) if head.eq_ignore_ascii_case(prefix) => &sent[prefix.len()..],
                        _ => {
                            return Err(WebhookError::malformed(
                                &self.header,
                                "the expected prefix is missing",
                            ));
                        }
                    },
                    None => sent,
                };
                match self.encoding {
                    SignatureEncoding::Hex => Candidate::hex(sent),
                    SignatureEncoding::Base64 => Candidate::base64(sent),
                }
            }
        };
        for (index, secret) in self.secrets.iter() {
            let tag = mac(secret.expose(), request.body);
            if candidate.matches(&tag) {
                return Ok(Verified {
                    scheme: Scheme::Hmac,
                    secret_index: index,
                    timestamp: None,
                    replay_key: util::tag_replay_key(Scheme::Hmac, &tag),
                });
            }
        }
        Err(WebhookError::SignatureMismatch)
    }
}

fn mac(secret: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            mac.finalize().into_bytes().into()
        }
        // HMAC accepts keys of any length, so this arm is unreachable.
        Err(_) => [0u8; TAG_LEN],
    }
}

/// `HMAC-SHA256(secret, body)` in `encoding`, without any prefix.
pub fn sign(secret: &[u8], body: &[u8], encoding: SignatureEncoding) -> String {
    let tag = mac(secret, body);
    match encoding {
        SignatureEncoding::Hex => hex::encode(tag),
        SignatureEncoding::Base64 => STANDARD.encode(tag),
    }
}
