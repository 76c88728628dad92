//! Signature verification for inbound webhooks, as plain functions and as a tower layer.
//!
//! A workflow started by a webhook must not trust an unsigned, forged or replayed request. This
//! crate checks:
//!
//! - **HubSpot** v1, v2 and v3 ([`HubSpotVerifier`]): the version is chosen from the headers
//!   present (v3 first) or pinned; v3 checks the millisecond timestamp against a 5-minute
//!   tolerance (past and future) and applies the documented percent-decoding of the URI.
//! - **Generic HMAC-SHA256** of the body in a named header, hex or base64, with an optional
//!   prefix such as GitHub's `sha256=` ([`HmacVerifier`]).
//! - **Standard Webhooks** (`webhook-id`, `webhook-timestamp`, `webhook-signature` with several
//!   `v1,<base64>` entries, `whsec_` secrets) ([`StandardWebhooksVerifier`]).
//! - **Stripe** (`Stripe-Signature: t=..,v1=..`, every `v1` entry tried) ([`StripeVerifier`]).
//!
//! Every verifier accepts several secrets (rotation), compares in constant time (`subtle`), and
//! sends malformed encodings and wrong lengths down the same path as a wrong signature. `now` is
//! a parameter of [`Verify::verify`]; the layer takes it from an injectable [`Clock`]. Errors
//! ([`WebhookError`]) say which check failed and never carry a secret or an expected signature.
//!
//! [`VerifyWebhookLayer`] buffers the body up to a limit (1 MiB by default; 413 beyond), verifies,
//! optionally refuses replays through a [`ReplayGuard`], and passes the request on with the exact
//! body bytes (`Request<Full<Bytes>>`) and a [`Verified`] record in its extensions; rejections are
//! a small JSON body with status 400, 401, 409 or 413. Signing helpers for every scheme
//! ([`hubspot::sign_v3`], [`hubspot::signed_headers`], [`generic::sign`], [`standard::sign`],
//! [`standard::signed_headers`], [`stripe::sign`]) serve tests, the sandbox and the demo.
//!
//! # Example: verify a HubSpot v3 signature at an explicit `now`
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use http::HeaderMap;
//! use webhook_verify::{HubSpotVerifier, Scheme, Verify, WebhookError, WebhookRequest};
//!
//! let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
//! let body = b"{'example_field':'example_value'}";
//! let uri = "https://www.example.com/webhook_uri";
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-hubspot-signature-v3", "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=".parse()?);
//! headers.insert("x-hubspot-request-timestamp", "1693657560000".parse()?);
//!
//! let verifier = HubSpotVerifier::new(secret);
//! let request = WebhookRequest::new("POST", uri, &headers, body);
//!
//! // One minute after it was signed: accepted.
//! let now = UNIX_EPOCH + Duration::from_millis(1_693_657_560_000 + 60_000);
//! let verified = verifier.verify(&request, now)?;
//! assert_eq!(verified.scheme, Scheme::HubSpotV3);
//!
//! // Ten minutes after: too old.
//! let later = UNIX_EPOCH + Duration::from_millis(1_693_657_560_000 + 600_000);
//! assert!(matches!(
//!     verifier.verify(&request, later),
//!     Err(WebhookError::TimestampTooOld { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod clock;
mod error;
pub mod generic;
pub mod hubspot;
mod middleware;
pub mod replay;
mod request;
mod secret;
pub mod standard;
pub mod stripe;
mod util;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{BoxError, WebhookError};
pub use generic::{HmacVerifier, SignatureEncoding};
pub use hubspot::{HubSpotVerifier, HubSpotVersion, UriDecoding};
pub use middleware::{
    DEFAULT_BODY_LIMIT, DEFAULT_REPLAY_TTL, ResponseBody, ResponseFuture, VerifyWebhook,
    VerifyWebhookLayer,
};
pub use replay::{MemoryReplayGuard, ReplayGuard};
pub use request::{ReplayKey, Scheme, Verified, Verify, WebhookRequest};
pub use secret::WebhookSecret;
pub use standard::StandardWebhooksVerifier;
pub use stripe::StripeVerifier;
