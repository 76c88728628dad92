//! Property tests: sign-then-verify holds for random inputs, any mutation fails, and arbitrary
//! header values and bodies never panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use webhook_verify::hubspot::{self, HubSpotVersion};
use webhook_verify::standard;
use webhook_verify::{
    HmacVerifier, HubSpotVerifier, SignatureEncoding, StandardWebhooksVerifier, StripeVerifier,
    Verify, WebhookRequest, WebhookSecret,
};

fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("POST".to_owned()),
        Just("GET".to_owned()),
        "[A-Z]{1,8}",
    ]
}

fn uri() -> impl Strategy<Value = String> {
    "https://[a-z]{1,12}\\.example(:[0-9]{2,5})?/[a-zA-Z0-9/_.~-]{0,20}(\\?[a-zA-Z0-9=&_%:@!$'()*,;/?-]{0,40})?"
}

fn secret() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..64)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

/// Either arbitrary bytes, or text built from the characters the parsers look for (so the
/// parsers' inner branches are reached, not only the first rejection).
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        "[tv0123456789=,; :a-fA-F+/%sha]{0,80}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn hubspot_sign_then_verify(
        secret in secret(),
        method in method(),
        uri in uri(),
        body in body(),
        ts in 1_000_000_000_000u64..4_000_000_000_000,
        version in prop_oneof![Just(HubSpotVersion::V1), Just(HubSpotVersion::V2), Just(HubSpotVersion::V3)],
        skew in 0u64..=300_000,
    ) {
        let key = WebhookSecret::new(&secret);
        let headers = hubspot::signed_headers(version, &key, &method, &uri, &body, at(ts));
        let verifier = HubSpotVerifier::new(key).pin_version(version);
        let request = WebhookRequest::new(&method, &uri, &headers, &body);
        prop_assert!(verifier.verify(&request, at(ts + skew)).is_ok());
        prop_assert!(verifier.verify(&request, at(ts - skew)).is_ok());
    }

    #[test]
    fn hubspot_any_mutation_fails(
        secret in secret(),
        method in method(),
        uri in uri(),
        body in prop::collection::vec(any::<u8>(), 1..256),
        ts in 1_000_000_000_000u64..4_000_000_000_000,
        bit in any::<prop::sample::Index>(),
        version in prop_oneof![Just(HubSpotVersion::V1), Just(HubSpotVersion::V2), Just(HubSpotVersion::V3)],
        other_secret in secret(),
    ) {
        let key = WebhookSecret::new(&secret);
        let headers = hubspot::signed_headers(version, &key, &method, &uri, &body, at(ts));
        let verifier = HubSpotVerifier::new(key).pin_version(version);
        let index = bit.index(body.len() * 8);
        let mut changed = body.clone();
        changed[index / 8] ^= 1 << (index % 8);
        let request = WebhookRequest::new(&method, &uri, &headers, &changed);
        prop_assert!(verifier.verify(&request, at(ts)).is_err());
        if version != HubSpotVersion::V1 {
            let other_method = format!("{method}X");
            let request = WebhookRequest::new(&other_method, &uri, &headers, &body);
            prop_assert!(verifier.verify(&request, at(ts)).is_err());
            let other_uri = format!("{uri}x");
            let request = WebhookRequest::new(&method, &other_uri, &headers, &body);
            prop_assert!(verifier.verify(&request, at(ts)).is_err());
        }
        if other_secret != secret {
            let request = WebhookRequest::new(&method, &uri, &headers, &body);
            prop_assert!(HubSpotVerifier::new(other_secret).verify(&request, at(ts)).is_err());
        }
    }

    #[test]
    fn generic_and_standard_sign_then_verify_and_mutations_fail(
        secret in secret(),
        body in prop::collection::vec(any::<u8>(), 1..512),
        id in "[a-zA-Z0-9_]{1,40}",
        secs in 1_000_000_000u64..4_000_000_000,
        base64 in any::<bool>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let key = WebhookSecret::new(&secret);
        let index = bit.index(body.len() * 8);
        let mut changed = body.clone();
        changed[index / 8] ^= 1 << (index % 8);

        let encoding = if base64 { SignatureEncoding::Base64 } else { SignatureEncoding::Hex };
        let verifier = HmacVerifier::new(HeaderName::from_static("x-signature"), encoding, key.clone()).prefix("sha256=");
        let mut headers = HeaderMap::new();
        headers.insert("x-signature", HeaderValue::from_str(&verifier.sign(&key, &body)).unwrap());
        prop_assert!(verifier.verify(&WebhookRequest::new("POST", "", &headers, &body), at(0)).is_ok());
        prop_assert!(verifier.verify(&WebhookRequest::new("POST", "", &headers, &changed), at(0)).is_err());

        let now = UNIX_EPOCH + Duration::from_secs(secs);
        let headers = standard::signed_headers(std::slice::from_ref(&key), &id, now, &body).unwrap();
        let verifier = StandardWebhooksVerifier::new(key);
        prop_assert!(verifier.verify(&WebhookRequest::new("POST", "", &headers, &body), now).is_ok());
        prop_assert!(verifier.verify(&WebhookRequest::new("POST", "", &headers, &changed), now).is_err());
    }

    /// Fuzz-style: arbitrary bytes in every header any scheme reads, arbitrary bodies, URIs and
    /// clocks. The only requirement is that nothing panics and nothing verifies by accident.
    #[test]
    fn arbitrary_input_never_panics(
        values in prop::collection::vec(header_value(), 10),
        body in body(),
        uri in ".{0,80}",
        method in ".{0,10}",
        now in any::<u64>(),
    ) {
        let names = [
            "x-hubspot-signature", "x-hubspot-signature-version", "x-hubspot-signature-v3",
            "x-hubspot-request-timestamp", "x-hub-signature-256", "x-signature",
            "webhook-id", "webhook-timestamp", "webhook-signature", "stripe-signature",
        ];
        let mut headers = HeaderMap::new();
        for (name, value) in names.iter().zip(&values) {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                headers.insert(*name, value);
            }
        }
        let now = UNIX_EPOCH.checked_add(Duration::from_millis(now)).unwrap_or(UNIX_EPOCH);
        let request = WebhookRequest::new(&method, &uri, &headers, &body);
        let verifiers: Vec<Box<dyn Verify>> = vec![
            Box::new(HubSpotVerifier::new("s")),
            Box::new(HubSpotVerifier::new("s").pin_version(HubSpotVersion::V1)),
            Box::new(HubSpotVerifier::new("s").pin_version(HubSpotVersion::V2)),
            Box::new(HubSpotVerifier::new("s").pin_version(HubSpotVersion::V3)),
            Box::new(HmacVerifier::github("s")),
            Box::new(HmacVerifier::new(HeaderName::from_static("x-signature"), SignatureEncoding::Base64, "s")),
            Box::new(StandardWebhooksVerifier::new(WebhookSecret::new("s"))),
            Box::new(StripeVerifier::new("s")),
        ];
        for verifier in &verifiers {
            prop_assert!(verifier.verify(&request, now).is_err());
        }
        let decoded = hubspot::decode_v3_uri(&uri);
        prop_assert!(decoded.len() <= uri.len());
    }
}
