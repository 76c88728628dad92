//! Known-answer vectors.
//!
//! HubSpot: `shared/reference/hubspot-api.md` §5.3 (HubSpot's docs, the Node/PHP SDK tests and
//! the Python/Ruby SDK tests). Standard Webhooks: the specification's published vector. GitHub:
//! the example in GitHub's "Validating webhook deliveries" page. The percent-escape, UTF-8 and
//! empty-body v3 vectors are ours, computed independently with Python's `hmac` module.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use webhook_verify::generic::{self, SignatureEncoding};
use webhook_verify::hubspot::{self, HubSpotVersion, UriDecoding};
use webhook_verify::standard;
use webhook_verify::{
    HmacVerifier, HubSpotVerifier, Scheme, StandardWebhooksVerifier, Verify, WebhookError,
    WebhookRequest, WebhookSecret,
};

const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const URI: &str = "https://www.example.com/webhook_uri";
const DOCS_V1_BODY: &str = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
const PY_BODY: &str = "{'example_field':'example_value'}";

fn ms(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn v1_v2(version: &str, signature: &str) -> HeaderMap {
    headers(&[
        ("x-hubspot-signature", signature),
        ("x-hubspot-signature-version", version),
    ])
}

fn v3(signature: &str, timestamp: u64) -> HeaderMap {
    headers(&[
        ("x-hubspot-signature-v3", signature),
        ("x-hubspot-request-timestamp", &timestamp.to_string()),
    ])
}

#[test]
fn hubspot_docs_v1() {
    let expected = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de";
    assert_eq!(
        hubspot::sign_v1(SECRET.as_bytes(), DOCS_V1_BODY.as_bytes()),
        expected
    );
    let h = v1_v2("v1", expected);
    let req = WebhookRequest::new("POST", URI, &h, DOCS_V1_BODY.as_bytes());
    let verified = HubSpotVerifier::new(SECRET).verify(&req, ms(0)).unwrap();
    assert_eq!(verified.scheme, Scheme::HubSpotV1);
}

#[test]
fn hubspot_docs_v2_get_empty_body() {
    let expected = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e";
    assert_eq!(
        hubspot::sign_v2(SECRET.as_bytes(), "GET", URI, b""),
        expected
    );
    let h = v1_v2("v2", expected);
    let req = WebhookRequest::new("GET", URI, &h, b"");
    let verified = HubSpotVerifier::new(SECRET).verify(&req, ms(0)).unwrap();
    assert_eq!(verified.scheme, Scheme::HubSpotV2);
}

#[test]
fn hubspot_docs_v2_post() {
    let body = r#"{"example_field":"example_value"}"#;
    let expected = "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900";
    assert_eq!(
        hubspot::sign_v2(SECRET.as_bytes(), "POST", URI, body.as_bytes()),
        expected
    );
    let h = v1_v2("v2", expected);
    let req = WebhookRequest::new("POST", URI, &h, body.as_bytes());
    assert!(HubSpotVerifier::new(SECRET).verify(&req, ms(0)).is_ok());
}

#[test]
fn hubspot_python_ruby_v1() {
    let expected = "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750";
    assert_eq!(
        hubspot::sign_v1(SECRET.as_bytes(), PY_BODY.as_bytes()),
        expected
    );
    let h = v1_v2("v1", expected);
    let req = WebhookRequest::new("POST", URI, &h, PY_BODY.as_bytes());
    assert!(HubSpotVerifier::new(SECRET).verify(&req, ms(0)).is_ok());
}

#[test]
fn hubspot_python_ruby_v2() {
    let expected = "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383";
    assert_eq!(
        hubspot::sign_v2(SECRET.as_bytes(), "POST", URI, PY_BODY.as_bytes()),
        expected
    );
    let h = v1_v2("v2", expected);
    let req = WebhookRequest::new("POST", URI, &h, PY_BODY.as_bytes());
    assert!(HubSpotVerifier::new(SECRET).verify(&req, ms(0)).is_ok());
}

#[test]
fn hubspot_python_ruby_v3() {
    for (timestamp, expected) in [
        (
            1_693_657_560_000,
            "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
        ),
        (
            1_700_000_300_000,
            "RnbPH7+UMKVkbV32P8bz450N4M56aPmcru1+D3kSDtw=",
        ),
    ] {
        assert_eq!(
            hubspot::sign_v3(
                SECRET.as_bytes(),
                "POST",
                URI,
                PY_BODY.as_bytes(),
                timestamp
            ),
            expected
        );
        let h = v3(expected, timestamp);
        let req = WebhookRequest::new("POST", URI, &h, PY_BODY.as_bytes());
        for decoding in [
            UriDecoding::Documented,
            UriDecoding::Verbatim,
            UriDecoding::Either,
        ] {
            let verifier = HubSpotVerifier::new(SECRET)
                .uri_decoding(decoding)
                .pin_version(HubSpotVersion::V3);
            let verified = verifier.verify(&req, ms(timestamp + 1_000)).unwrap();
            assert_eq!(verified.scheme, Scheme::HubSpotV3);
            assert_eq!(verified.timestamp, Some(ms(timestamp)));
        }
    }
}

/// v3 with percent-escapes in the URI. The signature is over the documented (decoded) form:
/// `https://www.example.com/webhook_uri?name=a:b/c@d!e$f'g(h)i*j,k;l&x=%20%26`.
#[test]
fn hubspot_v3_percent_escapes() {
    let sent_uri = "https://www.example.com/webhook_uri?name=a%3Ab%2Fc%40d%21e%24f%27g%28h%29i%2Aj%2Ck%3Bl&x=%20%26";
    let decoded = "https://www.example.com/webhook_uri?name=a:b/c@d!e$f'g(h)i*j,k;l&x=%20%26";
    assert_eq!(hubspot::decode_v3_uri(sent_uri), decoded);
    let expected = "P9Q834d6Mj+T9YrfUUxR4x+VRT0Zene1XSDTab5bp4I=";
    assert_eq!(
        hubspot::sign_v3(SECRET.as_bytes(), "POST", decoded, b"[]", 1_700_000_000_000),
        expected
    );
    let h = v3(expected, 1_700_000_000_000);
    let req = WebhookRequest::new("POST", sent_uri, &h, b"[]");
    let now = ms(1_700_000_000_000);
    assert!(HubSpotVerifier::new(SECRET).verify(&req, now).is_ok());
    assert!(
        HubSpotVerifier::new(SECRET)
            .uri_decoding(UriDecoding::Documented)
            .verify(&req, now)
            .is_ok()
    );
    // Hashing the URI verbatim (what HubSpot's SDKs do) does not match this signature.
    assert!(matches!(
        HubSpotVerifier::new(SECRET)
            .uri_decoding(UriDecoding::Verbatim)
            .verify(&req, now),
        Err(WebhookError::SignatureMismatch)
    ));
}

/// A signature over the verbatim URI (as HubSpot's SDKs compute it) passes in `Either` mode.
#[test]
fn hubspot_v3_verbatim_escapes_accepted_in_either_mode() {
    let sent_uri = "https://www.example.com/hook%3Fa%2Cb";
    let signature = hubspot::sign_v3(
        SECRET.as_bytes(),
        "POST",
        sent_uri,
        b"{}",
        1_700_000_000_000,
    );
    let h = v3(&signature, 1_700_000_000_000);
    let req = WebhookRequest::new("POST", sent_uri, &h, b"{}");
    let now = ms(1_700_000_000_000);
    assert!(HubSpotVerifier::new(SECRET).verify(&req, now).is_ok());
    assert!(
        HubSpotVerifier::new(SECRET)
            .uri_decoding(UriDecoding::Verbatim)
            .verify(&req, now)
            .is_ok()
    );
    assert!(
        HubSpotVerifier::new(SECRET)
            .uri_decoding(UriDecoding::Documented)
            .verify(&req, now)
            .is_err()
    );
}

/// v3 over a UTF-8 body: the raw bytes are hashed (`ä` stays two bytes, never `\u00e4`).
#[test]
fn hubspot_v3_utf8_body() {
    let body = r#"[{"propertyValue":"Jürgen Ä ✓"}]"#;
    let expected = "QKVCb7JneeK+8ZnxxDSXsgQbhrtDl3jJsOFRyM7f18g=";
    assert_eq!(
        hubspot::sign_v3(
            SECRET.as_bytes(),
            "POST",
            URI,
            body.as_bytes(),
            1_700_000_000_000
        ),
        expected
    );
    let h = v3(expected, 1_700_000_000_000);
    let req = WebhookRequest::new("POST", URI, &h, body.as_bytes());
    assert!(
        HubSpotVerifier::new(SECRET)
            .verify(&req, ms(1_700_000_000_000))
            .is_ok()
    );
    let escaped = r#"[{"propertyValue":"J\u00fcrgen \u00c4 \u2713"}]"#;
    let req = WebhookRequest::new("POST", URI, &h, escaped.as_bytes());
    assert!(
        HubSpotVerifier::new(SECRET)
            .verify(&req, ms(1_700_000_000_000))
            .is_err()
    );
}

#[test]
fn hubspot_v3_empty_body() {
    let expected = "r3KKZGKCAis7hc/eM/k4wr0D0ZRQhbee2UGU0SAPfxM=";
    assert_eq!(
        hubspot::sign_v3(SECRET.as_bytes(), "GET", URI, b"", 1_700_000_000_000),
        expected
    );
    let h = v3(expected, 1_700_000_000_000);
    let req = WebhookRequest::new("GET", URI, &h, b"");
    assert!(
        HubSpotVerifier::new(SECRET)
            .verify(&req, ms(1_700_000_000_000))
            .is_ok()
    );
}

/// The Standard Webhooks specification's published vector.
#[test]
fn standard_webhooks_spec_vector() {
    let secret = WebhookSecret::from_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body = br#"{"test": 2432232314}"#;
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert_eq!(standard::sign(&secret, id, 1_614_265_330, body), expected);
    let h = headers(&[
        ("webhook-id", id),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", expected),
    ]);
    let req = WebhookRequest::new("POST", "", &h, body);
    let verified = StandardWebhooksVerifier::new(secret)
        .verify(&req, UNIX_EPOCH + Duration::from_secs(1_614_265_330))
        .unwrap();
    assert_eq!(verified.scheme, Scheme::StandardWebhooks);
    // The same secret without the prefix is accepted too.
    let bare = WebhookSecret::from_standard("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(standard::sign(&bare, id, 1_614_265_330, body), expected);
}

/// GitHub's documented example: `X-Hub-Signature-256: sha256=757107ea...`.
#[test]
fn github_docs_vector() {
    let secret = "It's a Secret to Everybody";
    let expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(
        generic::sign(secret.as_bytes(), b"Hello, World!", SignatureEncoding::Hex),
        expected
    );
    let verifier = HmacVerifier::github(secret);
    assert_eq!(
        verifier.sign(&WebhookSecret::new(secret), b"Hello, World!"),
        format!("sha256={expected}")
    );
    let h = headers(&[("x-hub-signature-256", &format!("sha256={expected}"))]);
    let req = WebhookRequest::new("POST", "", &h, b"Hello, World!");
    let verified = verifier.verify(&req, UNIX_EPOCH).unwrap();
    assert_eq!(verified.scheme, Scheme::Hmac);
}

/// The same GitHub vector in base64, in a custom header without prefix.
#[test]
fn generic_base64_vector() {
    let expected = "dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc=";
    let secret = "It's a Secret to Everybody";
    assert_eq!(
        generic::sign(
            secret.as_bytes(),
            b"Hello, World!",
            SignatureEncoding::Base64
        ),
        expected
    );
    let verifier = HmacVerifier::new(
        http::HeaderName::from_static("x-signature"),
        SignatureEncoding::Base64,
        secret,
    );
    let h = headers(&[("x-signature", expected)]);
    let req = WebhookRequest::new("POST", "", &h, b"Hello, World!");
    assert!(verifier.verify(&req, UNIX_EPOCH).is_ok());
}

/// Stripe: our own vector (HMAC-SHA256 of `t.body` keyed by the whole `whsec_` text), computed
/// with Python's `hmac` module.
#[test]
fn stripe_vector() {
    use webhook_verify::{StripeVerifier, stripe};
    let secret = WebhookSecret::new("whsec_test_secret");
    let body = br#"{"id":"evt_1","object":"event"}"#;
    let expected =
        "t=1700000000,v1=0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd";
    assert_eq!(
        stripe::sign(std::slice::from_ref(&secret), 1_700_000_000, body),
        expected
    );
    let h = headers(&[("stripe-signature", expected)]);
    let req = WebhookRequest::new("POST", "", &h, body);
    let verified = StripeVerifier::new(secret)
        .verify(&req, UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .unwrap();
    assert_eq!(verified.scheme, Scheme::Stripe);
}
