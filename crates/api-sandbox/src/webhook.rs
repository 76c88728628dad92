//! A HubSpot-style webhook sender: JSON arrays of events, signed with v1, v2 or v3, with
//! options to corrupt the signature, age the timestamp or alter the body, for testing receivers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Which HubSpot signature scheme to sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `X-HubSpot-Signature` = hex(SHA-256(secret + body)).
    V1,
    /// `X-HubSpot-Signature` = hex(SHA-256(secret + method + uri + body)).
    V2,
    /// `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(secret, method + uri + body + timestamp)).
    V3,
}

/// One event of a webhook batch, with HubSpot's field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// Event id (not guaranteed unique by HubSpot).
    pub event_id: u64,
    /// Subscription id.
    pub subscription_id: u64,
    /// Portal (account) id.
    pub portal_id: u64,
    /// App id.
    pub app_id: u64,
    /// Epoch milliseconds.
    pub occurred_at: i64,
    /// e.g. `contact.creation`, `contact.propertyChange`.
    pub subscription_type: String,
    /// Delivery attempt, from 0.
    pub attempt_number: u32,
    /// The object the event is about.
    pub object_id: u64,
    /// Changed property (property-change events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_name: Option<String>,
    /// New value (property-change events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_value: Option<String>,
    /// Source of the change, e.g. `CRM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_source: Option<String>,
}

impl WebhookEvent {
    /// A `contact.creation` event.
    pub fn contact_creation(event_id: u64, object_id: u64, occurred_at: i64) -> Self {
        Self {
            event_id,
            subscription_id: 12_345,
            portal_id: 62_515,
            app_id: 54_321,
            occurred_at,
            subscription_type: "contact.creation".to_owned(),
            attempt_number: 0,
            object_id,
            property_name: None,
            property_value: None,
            change_source: Some("CRM".to_owned()),
        }
    }

    /// A `contact.propertyChange` event.
    pub fn contact_property_change(
        event_id: u64,
        object_id: u64,
        occurred_at: i64,
        property: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            subscription_type: "contact.propertyChange".to_owned(),
            property_name: Some(property.into()),
            property_value: Some(value.into()),
            ..Self::contact_creation(event_id, object_id, occurred_at)
        }
    }
}

/// How to sign (and deliberately break) a delivery.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Signature scheme (default v3).
    pub version: SignatureVersion,
    /// Flip the signature so verification must fail.
    pub corrupt_signature: bool,
    /// Sign and send a timestamp this much in the past (v3 receivers reject > 5 minutes).
    pub timestamp_age: Duration,
    /// Use this timestamp (epoch ms) instead of the system clock.
    pub timestamp_ms: Option<i64>,
    /// Change the body after signing (one event's `objectId` is altered).
    pub alter_body: bool,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            version: SignatureVersion::V3,
            corrupt_signature: false,
            timestamp_age: Duration::ZERO,
            timestamp_ms: None,
            alter_body: false,
        }
    }
}

impl WebhookOptions {
    /// Options for one signature version, nothing broken.
    pub fn version(version: SignatureVersion) -> Self {
        Self {
            version,
            ..Self::default()
        }
    }
}

/// Why a webhook could not be built or delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The target URL is not a valid absolute `http://` URI.
    #[error("invalid webhook url {url:?}")]
    InvalidUrl {
        /// The URL given.
        url: String,
    },
    /// The events could not be serialized.
    #[error("cannot serialize webhook events")]
    Serialize(#[source] serde_json::Error),
    /// The HTTP request failed.
    #[error("webhook delivery failed")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Computes a HubSpot signature (v1/v2: lowercase hex; v3: standard base64). The `uri` is hashed
/// verbatim, like HubSpot's SDKs do.
pub fn signature(
    version: SignatureVersion,
    secret: &str,
    method: &str,
    uri: &str,
    body: &[u8],
    timestamp_ms: i64,
) -> String {
    match version {
        SignatureVersion::V1 => {
            let mut h = Sha256::new();
            h.update(secret.as_bytes());
            h.update(body);
            hex::encode(h.finalize())
        }
        SignatureVersion::V2 => {
            let mut h = Sha256::new();
            h.update(secret.as_bytes());
            h.update(method.as_bytes());
            h.update(uri.as_bytes());
            h.update(body);
            hex::encode(h.finalize())
        }
        SignatureVersion::V3 => {
            // HMAC accepts keys of any length, so this cannot fail
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
                .unwrap_or_else(|_| unreachable!("hmac takes any key length"));
            mac.update(method.as_bytes());
            mac.update(uri.as_bytes());
            mac.update(body);
            mac.update(timestamp_ms.to_string().as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
    }
}

/// Builds a signed `POST` of `events` to `url`, as HubSpot would send it.
///
/// # Errors
/// [`WebhookError::InvalidUrl`] for a URL that is not an absolute URI,
/// [`WebhookError::Serialize`] if the events cannot be serialized.
pub fn build_request(
    secret: &str,
    url: &str,
    events: &[WebhookEvent],
    options: &WebhookOptions,
) -> Result<Request<Full<Bytes>>, WebhookError> {
    let uri: http::Uri = url.parse().map_err(|_| WebhookError::InvalidUrl {
        url: url.to_owned(),
    })?;
    if uri.scheme().is_none() || uri.authority().is_none() {
        return Err(WebhookError::InvalidUrl {
            url: url.to_owned(),
        });
    }
    let mut body = serde_json::to_vec(events).map_err(WebhookError::Serialize)?;
    let now_ms = options.timestamp_ms.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    });
    let ts = now_ms - options.timestamp_age.as_millis() as i64;
    let mut sig = signature(options.version, secret, "POST", url, &body, ts);
    if options.corrupt_signature {
        sig = corrupt(&sig);
    }
    if options.alter_body {
        let mut altered = events.to_vec();
        if let Some(first) = altered.first_mut() {
            first.object_id = first.object_id.wrapping_add(1);
        }
        body = serde_json::to_vec(&altered).map_err(WebhookError::Serialize)?;
        if events.is_empty() {
            body = b"[{}]".to_vec();
        }
    }
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            "HubSpot Connect 2.0 (http://dev.hubspot.com/) (api-sandbox)",
        );
    builder = match options.version {
        SignatureVersion::V1 | SignatureVersion::V2 => {
            builder.header("x-hubspot-signature", sig).header(
                "x-hubspot-signature-version",
                if options.version == SignatureVersion::V1 {
                    "v1"
                } else {
                    "v2"
                },
            )
        }
        SignatureVersion::V3 => builder.header("x-hubspot-signature-v3", sig),
    };
    builder = builder.header("x-hubspot-request-timestamp", ts.to_string());
    builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| WebhookError::InvalidUrl {
            url: url.to_owned(),
        })
}

fn corrupt(sig: &str) -> String {
    let mut chars: Vec<char> = sig.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' || *c == '0' { 'B' } else { '0' };
    }
    chars.into_iter().collect()
}

/// Builds and delivers a webhook batch over plain HTTP, returning the receiver's response.
///
/// # Errors
/// Everything [`build_request`] returns, and [`WebhookError::Transport`] when the request or
/// the response body fails.
pub async fn deliver(
    secret: &str,
    url: &str,
    events: &[WebhookEvent],
    options: &WebhookOptions,
) -> Result<Response<Bytes>, WebhookError> {
    let req = build_request(secret, url, events, options)?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let resp = client
        .request(req)
        .await
        .map_err(|e| WebhookError::Transport(Box::new(e)))?;
    let (parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| WebhookError::Transport(Box::new(e)))?
        .to_bytes();
    Ok(Response::from_parts(parts, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const URI: &str = "https://www.example.com/webhook_uri";

    #[test]
    fn known_answers_from_hubspot_docs_and_sdks() {
        let v1_body = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
        assert_eq!(
            signature(SignatureVersion::V1, SECRET, "", "", v1_body.as_bytes(), 0),
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
        );
        assert_eq!(
            signature(SignatureVersion::V2, SECRET, "GET", URI, b"", 0),
            "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
        );
        assert_eq!(
            signature(
                SignatureVersion::V2,
                SECRET,
                "POST",
                URI,
                br#"{"example_field":"example_value"}"#,
                0
            ),
            "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"
        );
        let py_body = b"{'example_field':'example_value'}";
        assert_eq!(
            signature(
                SignatureVersion::V3,
                SECRET,
                "POST",
                URI,
                py_body,
                1_693_657_560_000
            ),
            "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="
        );
        assert_eq!(
            signature(
                SignatureVersion::V3,
                SECRET,
                "POST",
                URI,
                py_body,
                1_700_000_300_000
            ),
            "RnbPH7+UMKVkbV32P8bz450N4M56aPmcru1+D3kSDtw="
        );
    }

    #[test]
    fn options_break_what_they_say() {
        let events = [WebhookEvent::contact_creation(1, 7, 1_700_000_000_000)];
        let opts = WebhookOptions {
            timestamp_ms: Some(1_700_000_300_000),
            ..WebhookOptions::default()
        };
        let good = build_request(SECRET, URI, &events, &opts).expect("builds");
        let sig = good.headers()["x-hubspot-signature-v3"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let bad = build_request(
            SECRET,
            URI,
            &events,
            &WebhookOptions {
                corrupt_signature: true,
                ..opts.clone()
            },
        )
        .expect("builds");
        assert_ne!(bad.headers()["x-hubspot-signature-v3"], sig.as_str());
        let aged = build_request(
            SECRET,
            URI,
            &events,
            &WebhookOptions {
                timestamp_age: Duration::from_secs(600),
                ..opts
            },
        )
        .expect("builds");
        assert_eq!(
            aged.headers()["x-hubspot-request-timestamp"],
            "1699999700000"
        );
        assert!(build_request(SECRET, "not a url", &events, &WebhookOptions::default()).is_err());
    }
}
