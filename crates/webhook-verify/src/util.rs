//! Internal helpers shared by the schemes: header access, timestamp windows, fixed-size
//! signature decoding and constant-time comparison.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::WebhookError;
use crate::request::{ReplayKey, Scheme};

/// Length of a SHA-256 digest / HMAC-SHA256 tag.
pub(crate) const TAG_LEN: usize = 32;

/// A required header as text.
pub(crate) fn required<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<&'h str, WebhookError> {
    let value = headers
        .get(name)
        .ok_or_else(|| WebhookError::MissingHeader(name.clone()))?;
    value
        .to_str()
        .map_err(|_| WebhookError::malformed(name, "not visible ASCII"))
}

/// A required signature header as text; `None` when it is not visible ASCII, which callers
/// treat like any other undecodable signature (the same path as a wrong one).
pub(crate) fn signature<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, WebhookError> {
    let value = headers
        .get(name)
        .ok_or_else(|| WebhookError::MissingHeader(name.clone()))?;
    Ok(value.to_str().ok().map(str::trim))
}

/// Parses a timestamp made of ASCII digits only (no sign, no spaces): milliseconds when
/// `millis`, else seconds, since the Unix epoch.
pub(crate) fn parse_timestamp(
    text: &str,
    name: &HeaderName,
    millis: bool,
) -> Result<SystemTime, WebhookError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::malformed(
            name,
            "timestamp is not a decimal integer",
        ));
    }
    let value: u64 = text
        .parse()
        .map_err(|_| WebhookError::malformed(name, "timestamp is out of range"))?;
    let offset = if millis {
        Duration::from_millis(value)
    } else {
        Duration::from_secs(value)
    };
    UNIX_EPOCH
        .checked_add(offset)
        .ok_or_else(|| WebhookError::malformed(name, "timestamp is out of range"))
}

/// Accepts `signed` when it is at most `tolerance` before or after `now` (the boundary itself
/// is accepted).
pub(crate) fn check_window(
    signed: SystemTime,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    match now.duration_since(signed) {
        Ok(age) if age > tolerance => Err(WebhookError::TimestampTooOld { age, tolerance }),
        Ok(_) => Ok(()),
        Err(future) => {
            let ahead = future.duration();
            if ahead > tolerance {
                Err(WebhookError::TimestampInFuture { ahead, tolerance })
            } else {
                Ok(())
            }
        }
    }
}

/// A signature sent by the caller, decoded into a fixed buffer. `valid` is false when the text
/// was not valid hex/base64 or had the wrong length; the comparison still runs, so a bad
/// encoding takes the same path as a wrong signature.
pub(crate) struct Candidate {
    bytes: [u8; TAG_LEN],
    valid: Choice,
}

impl Candidate {
    /// A candidate that matches nothing (undecodable header).
    pub(crate) fn invalid() -> Self {
        Self {
            bytes: [0u8; TAG_LEN],
            valid: Choice::from(0),
        }
    }

    pub(crate) fn hex(text: &str) -> Self {
        let mut bytes = [0u8; TAG_LEN];
        let valid = hex::decode_to_slice(text, &mut bytes).is_ok();
        Self {
            bytes,
            valid: Choice::from(u8::from(valid)),
        }
    }

    pub(crate) fn base64(text: &str) -> Self {
        let mut bytes = [0u8; TAG_LEN];
        let valid = matches!(STANDARD.decode_slice(text, &mut bytes), Ok(TAG_LEN));
        Self {
            bytes,
            valid: Choice::from(u8::from(valid)),
        }
    }

    /// Constant-time: true only when the text decoded correctly and equals `tag`.
    pub(crate) fn matches(&self, tag: &[u8; TAG_LEN]) -> bool {
        bool::from(self.bytes.ct_eq(tag) & self.valid)
    }
}

/// A replay key from an identifier of any length: the first 16 bytes of its SHA-256.
pub(crate) fn id_replay_key(scheme: Scheme, id: &[u8]) -> ReplayKey {
    let digest: [u8; TAG_LEN] = Sha256::digest(id).into();
    tag_replay_key(scheme, &digest)
}

/// A replay key from a computed tag: its first 16 bytes. The tag is already a uniformly
/// distributed MAC/digest over the whole signed content; 128 bits keep collisions out of reach.
pub(crate) fn tag_replay_key(scheme: Scheme, tag: &[u8; TAG_LEN]) -> ReplayKey {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&tag[..16]);
    ReplayKey::new(scheme, bytes)
}
