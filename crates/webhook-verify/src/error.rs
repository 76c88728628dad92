//! The error every verification step returns.

use std::time::Duration;

use http::{HeaderName, StatusCode};

/// The boxed error type used for body read failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a webhook delivery was not accepted.
///
/// Each variant names the check that failed. None of them carries the secret or the signature
/// the verifier expected: a caller (or an attacker reading the rejection body) learns which check
/// failed, never what would have passed it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A header the scheme needs is absent (for example `X-HubSpot-Signature-v3`).
    #[error("missing header `{0}`")]
    MissingHeader(HeaderName),

    /// A header is present but cannot be parsed: not UTF-8, not a number, or not in the
    /// scheme's format (for example a timestamp with letters in it).
    #[error("malformed header `{name}`: {reason}")]
    MalformedHeader {
        /// The header that could not be parsed.
        name: HeaderName,
        /// What was wrong with it.
        reason: &'static str,
    },

    /// `X-HubSpot-Signature-Version` names a version this crate does not know (only `v1` and
    /// `v2` are sent in that header; v3 has its own header).
    #[error("unsupported signature version")]
    UnsupportedVersion,

    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp is {age:?} old, more than the {tolerance:?} tolerance")]
    TimestampTooOld {
        /// How far in the past the timestamp is.
        age: Duration,
        /// The configured tolerance.
        tolerance: Duration,
    },

    /// The signed timestamp lies further in the future than the tolerance allows.
    #[error("timestamp is {ahead:?} in the future, more than the {tolerance:?} tolerance")]
    TimestampInFuture {
        /// How far in the future the timestamp is.
        ahead: Duration,
        /// The configured tolerance.
        tolerance: Duration,
    },

    /// No configured secret produces any of the signatures sent.
    ///
    /// A signature that is not valid hex/base64, or decodes to the wrong length, ends here too:
    /// it goes through the same constant-time comparison as a wrong signature, so the error
    /// says nothing about how close a guess was.
    #[error("signature mismatch")]
    SignatureMismatch,

    /// The delivery verified, but the same delivery was already accepted within the replay
    /// window (same Standard Webhooks `webhook-id`, or the same HubSpot/HMAC signature).
    #[error("webhook delivery already seen")]
    Replayed,

    /// The request body is larger than the configured limit.
    #[error("body larger than the {limit} byte limit")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// The request body could not be read.
    #[error("failed to read the request body")]
    BodyRead(#[source] BoxError),

    /// The URI a v2/v3 signature covers cannot be reconstructed (no `Host` header and no
    /// configured public base URL).
    #[error("cannot reconstruct the signed uri: {reason}")]
    UriUnavailable {
        /// What was missing.
        reason: &'static str,
    },

    /// A secret given to a verifier is unusable (for example a `whsec_` secret that is not
    /// base64, or an empty secret).
    #[error("invalid secret: {reason}")]
    InvalidSecret {
        /// What was wrong with it (never the secret itself).
        reason: &'static str,
    },

    /// A public base URL given to the layer is not an absolute `http`/`https` URL.
    #[error("invalid public base url: {reason}")]
    InvalidBaseUrl {
        /// What was wrong with it.
        reason: &'static str,
    },
}

impl WebhookError {
    /// A short, stable, machine-readable code for the failed check (`"signature_mismatch"`,
    /// `"timestamp_too_old"`, ...), used in the layer's JSON rejection body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::UnsupportedVersion => "unsupported_version",
            Self::TimestampTooOld { .. } => "timestamp_too_old",
            Self::TimestampInFuture { .. } => "timestamp_in_future",
            Self::SignatureMismatch => "signature_mismatch",
            Self::Replayed => "replayed",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BodyRead(_) => "body_read",
            Self::UriUnavailable { .. } => "uri_unavailable",
            Self::InvalidSecret { .. } => "invalid_secret",
            Self::InvalidBaseUrl { .. } => "invalid_base_url",
        }
    }

    /// The HTTP status the server-side layer answers with for this error.
    ///
    /// | error | status |
    /// | --- | --- |
    /// | missing header, signature mismatch, timestamp too old / in the future | 401 |
    /// | malformed header, unsupported version, unreadable body, no URI | 400 |
    /// | replayed delivery | 409 |
    /// | body too large | 413 |
    /// | invalid secret or base URL (configuration) | 500 |
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingHeader(_)
            | Self::SignatureMismatch
            | Self::TimestampTooOld { .. }
            | Self::TimestampInFuture { .. } => StatusCode::UNAUTHORIZED,
            Self::MalformedHeader { .. }
            | Self::UnsupportedVersion
            | Self::BodyRead(_)
            | Self::UriUnavailable { .. } => StatusCode::BAD_REQUEST,
            Self::Replayed => StatusCode::CONFLICT,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidSecret { .. } | Self::InvalidBaseUrl { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    pub(crate) fn malformed(name: &HeaderName, reason: &'static str) -> Self {
        Self::MalformedHeader {
            name: name.clone(),
            reason,
        }
    }
}
