//! HubSpot request signatures: v1, v2 and v3.
//!
//! | version | headers | signed string | algorithm | encoding |
//! | --- | --- | --- | --- | --- |
//! | v1 | `X-HubSpot-Signature`, `X-HubSpot-Signature-Version: v1` | `secret + body` | SHA-256 | hex |
//! | v2 | `X-HubSpot-Signature`, `X-HubSpot-Signature-Version: v2` | `secret + method + uri + body` | SHA-256 | hex |
//! | v3 | `X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp` (ms) | `method + uri + body + timestamp` | HMAC-SHA256 keyed by the secret | base64 |
//!
//! For v3 the URI is the full URL (scheme, host, path, query) after the documented decoding of
//! twelve percent-escapes ([`decode_v3_uri`]). HubSpot's own SDKs do not decode; the default
//! [`UriDecoding::Either`] accepts a signature over either form.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use crate::error::WebhookError;
use crate::request::{Scheme, Verified, Verify, WebhookRequest};
use crate::secret::{Secrets, WebhookSecret};
use crate::util::{self, Candidate, TAG_LEN};

type HmacSha256 = Hmac<Sha256>;

/// `X-HubSpot-Signature`: the v1/v2 signature (lowercase hex).
pub const SIGNATURE: HeaderName = HeaderName::from_static("x-hubspot-signature");
/// `X-HubSpot-Signature-Version`: `v1` or `v2`.
pub const SIGNATURE_VERSION: HeaderName = HeaderName::from_static("x-hubspot-signature-version");
/// `X-HubSpot-Signature-v3`: the v3 signature (base64).
pub const SIGNATURE_V3: HeaderName = HeaderName::from_static("x-hubspot-signature-v3");
/// `X-HubSpot-Request-Timestamp`: milliseconds since the Unix epoch, signed by v3.
pub const REQUEST_TIMESTAMP: HeaderName = HeaderName::from_static("x-hubspot-request-timestamp");
/// HubSpot's documented v3 window: requests older than 5 minutes are rejected.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A HubSpot signature version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HubSpotVersion {
    /// `hex(SHA-256(secret + body))`.
    V1,
    /// `hex(SHA-256(secret + method + uri + body))`.
    V2,
    /// `base64(HMAC-SHA256(secret, method + uri + body + timestamp))`.
    V3,
}

/// Which form of the URI a v3 signature is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriDecoding {
    /// Only the documented form: the twelve escapes of [`decode_v3_uri`] decoded.
    Documented,
    /// Only the URI exactly as received (what HubSpot's SDKs hash).
    Verbatim,
    /// Either form (the default): the documented form first, then the verbatim one when it
    /// differs. Both are keyed by the secret, so this widens nothing an attacker can use.
    #[default]
    Either,
}

/// Verifies HubSpot signatures (v1, v2, v3).
///
/// By default the version is chosen from the headers present, v3 first; [`pin_version`]
/// (recommended once your app receives v3) refuses every other version, so a captured v1
/// request cannot be used to downgrade.
///
/// [`pin_version`]: HubSpotVerifier::pin_version
#[derive(Debug, Clone)]
pub struct HubSpotVerifier {
    secrets: Secrets,
    pinned: Option<HubSpotVersion>,
    tolerance: Duration,
    uri_decoding: UriDecoding,
}

impl HubSpotVerifier {
    /// A verifier for the app whose client secret is `secret`.
    pub fn new(secret: impl Into<WebhookSecret>) -> Self {
        Self {
            secrets: Secrets::one(secret.into()),
            pinned: None,
            tolerance: DEFAULT_TOLERANCE,
            uri_decoding: UriDecoding::default(),
        }
    }

    /// Adds another secret (rotation): a request is valid if any secret verifies it.
    #[must_use]
    pub fn add_secret(mut self, secret: impl Into<WebhookSecret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Accepts only `version`, whatever headers the request carries.
    #[must_use]
    pub fn pin_version(mut self, version: HubSpotVersion) -> Self {
        self.pinned = Some(version);
        self
    }

    /// Sets the v3 timestamp tolerance (default 5 minutes), applied to the past and the future.
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets which form of the URI v3 signatures are checked against (default
    /// [`UriDecoding::Either`]).
    #[must_use]
    pub fn uri_decoding(mut self, decoding: UriDecoding) -> Self {
        self.uri_decoding = decoding;
        self
    }

    /// The version a request will be verified as: the pinned one, else v3 when
    /// `X-HubSpot-Signature-v3` is present, else the one `X-HubSpot-Signature-Version` names.
    ///
    /// # Errors
    ///
    /// [`WebhookError::MissingHeader`] when no signature header (or no version header next to
    /// `X-HubSpot-Signature`) is present; [`WebhookError::UnsupportedVersion`] for a version
    /// other than `v1`/`v2`.
    pub fn select_version(&self, headers: &HeaderMap) -> Result<HubSpotVersion, WebhookError> {
        if let Some(version) = self.pinned {
            return Ok(version);
        }
        if headers.contains_key(SIGNATURE_V3) {
            return Ok(HubSpotVersion::V3);
        }
        if headers.contains_key(SIGNATURE) {
            let version = headers
                .get(SIGNATURE_VERSION)
                .ok_or(WebhookError::MissingHeader(SIGNATURE_VERSION))?
                .as_bytes();
            return if version.eq_ignore_ascii_case(b"v1") {
                Ok(HubSpotVersion::V1)
            } else if version.eq_ignore_ascii_case(b"v2") {
                Ok(HubSpotVersion::V2)
            } else {
                Err(WebhookError::UnsupportedVersion)
            };
        }
        Err(WebhookError::MissingHeader(SIGNATURE_V3))
    }

    fn verify_digest(
        &self,
        request: &WebhookRequest<'_>,
        version: HubSpotVersion,
    ) -> Result<Verified, WebhookError> {
        let sent = util::signature(request.headers, &SIGNATURE)?;
        let candidate = sent.map_or_else(Candidate::invalid, Candidate::hex);
        for (index, secret) in self.secrets.iter() {
            let tag = match version {
                HubSpotVersion::V1 => digest_v1(secret.expose(), request.body),
                _ => digest_v2(secret.expose(), request.method, request.uri, request.body),
            };
            if candidate.matches(&tag) {
                let scheme = match version {
                    HubSpotVersion::V1 => Scheme::HubSpotV1,
                    _ => Scheme::HubSpotV2,
                };
                return Ok(Verified {
                    scheme,
                    secret_index: index,
                    timestamp: None,
                    replay_key: util::tag_replay_key(scheme, &tag),
                });
            }
        }
        Err(WebhookError::SignatureMismatch)
    }

    fn verify_v3(
        &self,
        request: &WebhookRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        let sent = util::signature(request.headers, &SIGNATURE_V3)?;
        let timestamp_text = util::required(request.headers, &REQUEST_TIMESTAMP)?;
        let timestamp = util::parse_timestamp(timestamp_text, &REQUEST_TIMESTAMP, true)?;
        util::check_window(timestamp, now, self.tolerance)?;

        let candidate = sent.map_or_else(Candidate::invalid, Candidate::base64);
        let decoded = decode_v3_uri(request.uri);
        let differs = matches!(decoded, Cow::Owned(_));
        let uris: [Option<&str>; 2] = match self.uri_decoding {
            UriDecoding::Documented => [Some(&decoded), None],
            UriDecoding::Verbatim => [Some(request.uri), None],
            UriDecoding::Either => [Some(&decoded), differs.then_some(request.uri)],
        };
        for (index, secret) in self.secrets.iter() {
            for uri in uris.iter().flatten() {
                let tag = mac_v3(
                    secret.expose(),
                    request.method,
                    uri,
                    request.body,
                    timestamp_text,
                );
                if candidate.matches(&tag) {
                    return Ok(Verified {
                        scheme: Scheme::HubSpotV3,
                        secret_index: index,
                        timestamp: Some(timestamp),
                        replay_key: util::tag_replay_key(Scheme::HubSpotV3, &tag),
                    });
                }
            }
        }
        Err(WebhookError::SignatureMismatch)
    }
}

impl Verify for HubSpotVerifier {
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        match self.select_version(request.headers)? {
            HubSpotVersion::V3 => self.verify_v3(request, now),
            version => self.verify_digest(request, version),
        }
    }

    fn needs_uri(&self) -> bool {
        self.pinned != Some(HubSpotVersion::V1)
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }
}

/// The twelve escapes HubSpot's v3 documentation says to decode, keyed by their two hex digits
/// (upper case).
const V3_ESCAPES: [(&[u8; 2], u8); 12] = [
    (b"3A", b':'),
    (b"2F", b'/'),
    (b"3F", b'?'),
    (b"40", b'@'),
    (b"21", b'!'),
    (b"24", b'$'),
    (b"27", b'\''),
    (b"28", b'('),
    (b"29", b')'),
    (b"2A", b'*'),
    (b"2C", b','),
    (b"3B", b';'),
];

fn v3_escape(hi: u8, lo: u8) -> Option<u8> {
    let pair = [hi.to_ascii_uppercase(), lo.to_ascii_uppercase()];
    V3_ESCAPES
        .iter()
        .find(|(code, _)| **code == pair)
        .map(|(_, ch)| *ch)
}

/// Applies the v3 URI decoding of HubSpot's "Validating requests" page: decodes exactly the
/// twelve escapes `%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B` (hex digits in either case)
/// and leaves every other byte, including other escapes such as `%20`, as it is.
///
/// Borrows when there is nothing to decode.
pub fn decode_v3_uri(uri: &str) -> Cow<'_, str> {
    let bytes = uri.as_bytes();
    let first = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .map(|(i, _)| i)
        .find(|&i| escape_at(bytes, i).is_some());
    let Some(first) = first else {
        return Cow::Borrowed(uri);
    };
    let mut out = String::with_capacity(uri.len());
    out.push_str(&uri[..first]);
    let mut i = first;
    let mut copied = first;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
        } else if let Some(ch) = escape_at(bytes, i) {
            out.push_str(&uri[copied..i]);
            out.push(char::from(ch));
            i += 3;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&uri[copied..]);
    Cow::Owned(out)
}

fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    match bytes.get(i..i + 3) {
        Some([b'%', hi, lo]) => v3_escape(*hi, *lo),
        _ => None,
    }
}

fn digest_v1(secret: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
    Sha256::new()
        .chain_update(secret)
        .chain_update(body)
        .finalize()
        .into()
}

fn digest_v2(secret: &[u8], method: &str, uri: &str, body: &[u8]) -> [u8; TAG_LEN] {
    Sha256::new()
        .chain_update(secret)
        .chain_update(method)
        .chain_update(uri)
        .chain_update(body)
        .finalize()
        .into()
}

fn mac_v3(secret: &[u8], method: &str, uri: &str, body: &[u8], timestamp: &str) -> [u8; TAG_LEN] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for HMAC.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return [0u8; TAG_LEN],
    };
    mac.update(method.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Signs like HubSpot v1: `hex(SHA-256(secret + body))`, lowercase.
pub fn sign_v1(secret: &[u8], body: &[u8]) -> String {
    hex::encode(digest_v1(secret, body))
}

/// Signs like HubSpot v2: `hex(SHA-256(secret + method + uri + body))`, lowercase.
pub fn sign_v2(secret: &[u8], method: &str, uri: &str, body: &[u8]) -> String {
    hex::encode(digest_v2(secret, method, uri, body))
}

/// Signs like HubSpot v3: `base64(HMAC-SHA256(secret, method + uri + body + timestamp))`, over
/// `uri` exactly as given (apply [`decode_v3_uri`] first for the documented form).
pub fn sign_v3(secret: &[u8], method: &str, uri: &str, body: &[u8], timestamp_ms: u64) -> String {
    STANDARD.encode(mac_v3(secret, method, uri, body, &timestamp_ms.to_string()))
}

/// The headers HubSpot would send for this request, signed with `version` at `now` (for tests,
/// the sandbox and the demo). v3 signs the documented (decoded) form of `uri`.
pub fn signed_headers(
    version: HubSpotVersion,
    secret: &WebhookSecret,
    method: &str,
    uri: &str,
    body: &[u8],
    now: SystemTime,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let header_value = |signature: String| {
        HeaderValue::from_str(&signature).unwrap_or_else(|_| HeaderValue::from_static(""))
    };
    match version {
        HubSpotVersion::V1 => {
            headers.insert(SIGNATURE, header_value(sign_v1(secret.expose(), body)));
            headers.insert(SIGNATURE_VERSION, HeaderValue::from_static("v1"));
        }
        HubSpotVersion::V2 => {
            let signature = sign_v2(secret.expose(), method, uri, body);
            headers.insert(SIGNATURE, header_value(signature));
            headers.insert(SIGNATURE_VERSION, HeaderValue::from_static("v2"));
        }
        HubSpotVersion::V3 => {
            let millis = now
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let signature = sign_v3(secret.expose(), method, &decode_v3_uri(uri), body, millis);
            headers.insert(SIGNATURE_V3, header_value(signature));
            headers.insert(REQUEST_TIMESTAMP, HeaderValue::from(millis));
        }
    }
    headers
}
