//! Every way a delivery is refused: each header missing in turn, malformed headers, single-bit
//! changes of every signed part, tolerance edges, future timestamps, bad encodings, rotation and
//! version selection.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use webhook_verify::hubspot::{self, HubSpotVersion, REQUEST_TIMESTAMP, SIGNATURE, SIGNATURE_V3};
use webhook_verify::standard::{self, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use webhook_verify::{
    HmacVerifier, HubSpotVerifier, Scheme, SignatureEncoding, StandardWebhooksVerifier, Verify,
    WebhookError, WebhookRequest, WebhookSecret,
};

const SECRET: &str = "client-secret-1";
const URI: &str = "https://hooks.example.com/hubspot?portal=1";
const BODY: &[u8] = br#"[{"eventId":1,"objectId":123}]"#;
const TS: u64 = 1_700_000_000_000;

fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn v3_headers(secret: &str) -> HeaderMap {
    hubspot::signed_headers(
        HubSpotVersion::V3,
        &WebhookSecret::new(secret),
        "POST",
        URI,
        BODY,
        at(TS),
    )
}

fn verify_v3(
    headers: &HeaderMap,
    method: &str,
    uri: &str,
    body: &[u8],
    now: u64,
) -> Result<(), WebhookError> {
    HubSpotVerifier::new(SECRET)
        .verify(&WebhookRequest::new(method, uri, headers, body), at(now))
        .map(|_| ())
}

fn flip_bit(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

#[test]
fn v3_round_trip_and_headers() {
    let headers = v3_headers(SECRET);
    assert_eq!(headers[&REQUEST_TIMESTAMP], TS.to_string().as_str());
    assert!(verify_v3(&headers, "POST", URI, BODY, TS).is_ok());
}

#[test]
fn v3_each_header_missing_in_turn() {
    for name in [SIGNATURE_V3, REQUEST_TIMESTAMP] {
        let mut headers = v3_headers(SECRET);
        headers.remove(&name);
        let result = HubSpotVerifier::new(SECRET)
            .pin_version(HubSpotVersion::V3)
            .verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS));
        match result {
            Err(WebhookError::MissingHeader(missing)) => assert_eq!(missing, name),
            other => panic!("expected MissingHeader({name}), got {other:?}"),
        }
    }
    // No signature header of any version.
    let result = HubSpotVerifier::new(SECRET).verify(
        &WebhookRequest::new("POST", URI, &HeaderMap::new(), BODY),
        at(TS),
    );
    assert!(matches!(result, Err(WebhookError::MissingHeader(name)) if name == SIGNATURE_V3));
}

#[test]
fn v3_malformed_timestamps() {
    for bad in [
        "",
        "abc",
        "-1700000000000",
        "+1700000000000",
        "1.7e12",
        "17000000000000000000000",
        " 1",
    ] {
        let mut headers = v3_headers(SECRET);
        headers.insert(REQUEST_TIMESTAMP, HeaderValue::from_str(bad).unwrap());
        let err = verify_v3(&headers, "POST", URI, BODY, TS).unwrap_err();
        assert!(
            matches!(&err, WebhookError::MalformedHeader { name, .. } if *name == REQUEST_TIMESTAMP),
            "{bad:?}: {err:?}"
        );
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
    // A header value that is not visible ASCII.
    let mut headers = v3_headers(SECRET);
    headers.insert(
        REQUEST_TIMESTAMP,
        HeaderValue::from_bytes(b"17\xff").unwrap(),
    );
    assert!(matches!(
        verify_v3(&headers, "POST", URI, BODY, TS),
        Err(WebhookError::MalformedHeader { .. })
    ));
}

#[test]
fn v3_tolerance_edges() {
    let headers = v3_headers(SECRET);
    let tolerance = 300_000;
    // Exactly at the boundary, both ways: accepted.
    assert!(verify_v3(&headers, "POST", URI, BODY, TS + tolerance).is_ok());
    assert!(verify_v3(&headers, "POST", URI, BODY, TS - tolerance).is_ok());
    // One millisecond over: rejected, with the right variant.
    match verify_v3(&headers, "POST", URI, BODY, TS + tolerance + 1) {
        Err(WebhookError::TimestampTooOld { age, tolerance: t }) => {
            assert_eq!(age, Duration::from_millis(tolerance + 1));
            assert_eq!(t, Duration::from_secs(300));
        }
        other => panic!("{other:?}"),
    }
    match verify_v3(&headers, "POST", URI, BODY, TS - tolerance - 1) {
        Err(WebhookError::TimestampInFuture { ahead, .. }) => {
            assert_eq!(ahead, Duration::from_millis(tolerance + 1));
        }
        other => panic!("{other:?}"),
    }
    // A custom tolerance.
    let verifier = HubSpotVerifier::new(SECRET).tolerance(Duration::from_secs(10));
    let request = WebhookRequest::new("POST", URI, &headers, BODY);
    assert!(verifier.verify(&request, at(TS + 10_000)).is_ok());
    assert!(matches!(
        verifier.verify(&request, at(TS + 10_001)),
        Err(WebhookError::TimestampTooOld { .. })
    ));
}

#[test]
fn v3_future_timestamp_far_ahead() {
    let secret = WebhookSecret::new(SECRET);
    let headers = hubspot::signed_headers(
        HubSpotVersion::V3,
        &secret,
        "POST",
        URI,
        BODY,
        at(TS + 3_600_000),
    );
    let err = verify_v3(&headers, "POST", URI, BODY, TS).unwrap_err();
    assert!(matches!(err, WebhookError::TimestampInFuture { .. }));
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn v3_every_single_bit_change_fails() {
    let headers = v3_headers(SECRET);
    for bit in 0..BODY.len() * 8 {
        let body = flip_bit(BODY, bit);
        assert!(
            matches!(
                verify_v3(&headers, "POST", URI, &body, TS),
                Err(WebhookError::SignatureMismatch)
            ),
            "body bit {bit}"
        );
    }
    for bit in 0..URI.len() * 8 {
        let Ok(uri) = String::from_utf8(flip_bit(URI.as_bytes(), bit)) else {
            continue;
        };
        assert!(
            verify_v3(&headers, "POST", &uri, BODY, TS).is_err(),
            "uri bit {bit}"
        );
    }
    for bit in 0..4 * 8 {
        let Ok(method) = String::from_utf8(flip_bit(b"POST", bit)) else {
            continue;
        };
        assert!(
            verify_v3(&headers, &method, URI, BODY, TS).is_err(),
            "method bit {bit}"
        );
    }
    // The timestamp: any change of its text (that stays a valid, fresh number) fails.
    let text = TS.to_string();
    for bit in 0..text.len() * 8 {
        let changed = flip_bit(text.as_bytes(), bit);
        let Ok(value) = HeaderValue::from_bytes(&changed) else {
            continue;
        };
        let mut h = headers.clone();
        h.insert(REQUEST_TIMESTAMP, value);
        assert!(
            verify_v3(&h, "POST", URI, BODY, TS).is_err(),
            "timestamp bit {bit}"
        );
    }
    // The signature bytes.
    let signature = headers[&SIGNATURE_V3].as_bytes().to_vec();
    for bit in 0..signature.len() * 8 {
        let changed = flip_bit(&signature, bit);
        let Ok(value) = HeaderValue::from_bytes(&changed) else {
            continue;
        };
        let mut h = headers.clone();
        h.insert(SIGNATURE_V3, value);
        let result = verify_v3(&h, "POST", URI, BODY, TS);
        // Base64 has some non-canonical encodings of the last character's spare bits; the
        // decoder rejects them, so every change is a mismatch.
        assert!(
            matches!(result, Err(WebhookError::SignatureMismatch)),
            "signature bit {bit}: {result:?}"
        );
    }
}

#[test]
fn bad_encodings_and_lengths_are_signature_mismatches() {
    let valid = v3_headers(SECRET)[&SIGNATURE_V3]
        .to_str()
        .unwrap()
        .to_owned();
    let truncated = &valid[..valid.len() - 4];
    let extended = format!("{valid}AAAA");
    let short = base64_of(&[0u8; 31]);
    let long = base64_of(&[0u8; 33]);
    for bad in [
        "",
        "!!!!",
        "not base64 at all",
        truncated,
        &extended,
        &short,
        &long,
        "====",
        &valid.to_lowercase(),
    ] {
        let mut headers = v3_headers(SECRET);
        headers.insert(SIGNATURE_V3, HeaderValue::from_str(bad).unwrap());
        let err = verify_v3(&headers, "POST", URI, BODY, TS).unwrap_err();
        assert!(
            matches!(err, WebhookError::SignatureMismatch),
            "{bad:?}: {err:?}"
        );
    }
    // Same for hex (v1) and the generic scheme.
    for bad in [
        "zz",
        "00",
        &"0".repeat(63),
        &"0".repeat(66),
        "g".repeat(64).as_str(),
    ] {
        let headers = headers_of(&[
            ("x-hubspot-signature", bad),
            ("x-hubspot-signature-version", "v1"),
        ]);
        let result = HubSpotVerifier::new(SECRET)
            .verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS));
        assert!(
            matches!(result, Err(WebhookError::SignatureMismatch)),
            "{bad:?}"
        );
        let headers = headers_of(&[("x-hub-signature-256", &format!("sha256={bad}"))]);
        let result = HmacVerifier::github(SECRET)
            .verify(&WebhookRequest::new("POST", "", &headers, BODY), at(TS));
        assert!(
            matches!(result, Err(WebhookError::SignatureMismatch)),
            "{bad:?}"
        );
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn headers_of(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

#[test]
fn errors_never_reveal_the_secret_or_the_expected_signature() {
    let headers = v3_headers("another-secret");
    let expected = v3_headers(SECRET)[&SIGNATURE_V3]
        .to_str()
        .unwrap()
        .to_owned();
    let err = verify_v3(&headers, "POST", URI, BODY, TS).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&expected), "{text}");
    }
    let secret = WebhookSecret::new(SECRET);
    assert!(!format!("{secret:?}").contains(SECRET));
    let verifier = HubSpotVerifier::new(SECRET);
    assert!(!format!("{verifier:?}").contains(SECRET));
}

#[test]
fn rotation_any_secret_verifies_and_reports_its_index() {
    let verifier = HubSpotVerifier::new("old-secret")
        .add_secret(SECRET)
        .add_secret("next-secret");
    for (index, secret) in ["old-secret", SECRET, "next-secret"]
        .into_iter()
        .enumerate()
    {
        let headers = v3_headers(secret);
        let verified = verifier
            .verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS))
            .unwrap();
        assert_eq!(verified.secret_index, index);
    }
    let headers = v3_headers("unknown-secret");
    assert!(matches!(
        verifier.verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS)),
        Err(WebhookError::SignatureMismatch)
    ));
}

#[test]
fn version_selection_prefers_v3_and_pinning_refuses_others() {
    let secret = WebhookSecret::new(SECRET);
    // A request carrying both v1 and v3 headers is verified as v3.
    let mut both = v3_headers(SECRET);
    both.extend(hubspot::signed_headers(
        HubSpotVersion::V1,
        &secret,
        "POST",
        URI,
        BODY,
        at(TS),
    ));
    let verified = HubSpotVerifier::new(SECRET)
        .verify(&WebhookRequest::new("POST", URI, &both, BODY), at(TS))
        .unwrap();
    assert_eq!(verified.scheme, Scheme::HubSpotV3);

    // v1 and v2 from their version header.
    for (version, scheme) in [
        (HubSpotVersion::V1, Scheme::HubSpotV1),
        (HubSpotVersion::V2, Scheme::HubSpotV2),
    ] {
        let headers = hubspot::signed_headers(version, &secret, "POST", URI, BODY, at(TS));
        let verified = HubSpotVerifier::new(SECRET)
            .verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS))
            .unwrap();
        assert_eq!(verified.scheme, scheme);
        // Pinned to v3, a v1/v2 request is refused (no downgrade).
        let pinned = HubSpotVerifier::new(SECRET).pin_version(HubSpotVersion::V3);
        assert!(matches!(
            pinned.verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS)),
            Err(WebhookError::MissingHeader(name)) if name == SIGNATURE_V3
        ));
    }

    // A v1 signature presented as v2 fails.
    let mut headers =
        hubspot::signed_headers(HubSpotVersion::V1, &secret, "POST", URI, BODY, at(TS));
    headers.insert(
        "x-hubspot-signature-version",
        HeaderValue::from_static("v2"),
    );
    assert!(matches!(
        HubSpotVerifier::new(SECRET)
            .verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS)),
        Err(WebhookError::SignatureMismatch)
    ));

    // An unknown version is an error, as is a missing version header.
    headers.insert(
        "x-hubspot-signature-version",
        HeaderValue::from_static("v9"),
    );
    let err = HubSpotVerifier::new(SECRET)
        .verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS))
        .unwrap_err();
    assert!(matches!(err, WebhookError::UnsupportedVersion));
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    headers.remove("x-hubspot-signature-version");
    assert!(matches!(
        HubSpotVerifier::new(SECRET).verify(&WebhookRequest::new("POST", URI, &headers, BODY), at(TS)),
        Err(WebhookError::MissingHeader(name)) if name.as_str() == "x-hubspot-signature-version"
    ));
    // v1 pinned: a missing signature header is named.
    let result = HubSpotVerifier::new(SECRET)
        .pin_version(HubSpotVersion::V1)
        .verify(
            &WebhookRequest::new("POST", URI, &HeaderMap::new(), BODY),
            at(TS),
        );
    assert!(matches!(result, Err(WebhookError::MissingHeader(name)) if name == SIGNATURE));
}

#[test]
fn v2_binds_method_and_uri_v1_does_not() {
    let secret = WebhookSecret::new(SECRET);
    let v2 = hubspot::signed_headers(HubSpotVersion::V2, &secret, "POST", URI, BODY, at(TS));
    let verifier = HubSpotVerifier::new(SECRET);
    assert!(
        verifier
            .verify(&WebhookRequest::new("PUT", URI, &v2, BODY), at(TS))
            .is_err()
    );
    assert!(
        verifier
            .verify(
                &WebhookRequest::new("POST", "https://evil.example/x", &v2, BODY),
                at(TS)
            )
            .is_err()
    );
    let v1 = hubspot::signed_headers(HubSpotVersion::V1, &secret, "POST", URI, BODY, at(TS));
    assert!(
        verifier
            .verify(
                &WebhookRequest::new("PUT", "https://other/", &v1, BODY),
                at(TS)
            )
            .is_ok()
    );
    assert!(
        verifier
            .verify(&WebhookRequest::new("POST", URI, &v1, b"[]"), at(TS))
            .is_err()
    );
}

#[test]
fn percent_decoding_rules() {
    use std::borrow::Cow;
    use webhook_verify::hubspot::decode_v3_uri;
    // Nothing to decode: borrowed, unchanged.
    assert!(matches!(
        decode_v3_uri("https://a.example/p?q=1"),
        Cow::Borrowed(_)
    ));
    // Each of the twelve escapes, in both cases of hex digits.
    let pairs = [
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ];
    for (encoded, decoded) in pairs {
        assert_eq!(
            decode_v3_uri(&format!("/p{encoded}x")),
            format!("/p{decoded}x")
        );
        assert_eq!(
            decode_v3_uri(&format!("/p{}x", encoded.to_lowercase())),
            format!("/p{decoded}x")
        );
    }
    // Other escapes stay encoded; no double decoding; truncated escapes are left alone.
    assert_eq!(decode_v3_uri("/a%20b%26c%3Dd%25e"), "/a%20b%26c%3Dd%25e");
    assert_eq!(decode_v3_uri("/a%253A"), "/a%253A");
    assert_eq!(decode_v3_uri("/a%3"), "/a%3");
    assert_eq!(decode_v3_uri("/a%"), "/a%");
    assert_eq!(decode_v3_uri("%3A%3a%2f"), "::/");
    // Non-ASCII text around escapes survives.
    assert_eq!(decode_v3_uri("/ä%3Aö"), "/ä:ö");
}

#[test]
fn generic_hmac_rejections() {
    let verifier = HmacVerifier::github(SECRET);
    let secret = WebhookSecret::new(SECRET);
    let good = verifier.sign(&secret, BODY);
    // Missing header.
    let result = verifier.verify(
        &WebhookRequest::new("POST", "", &HeaderMap::new(), BODY),
        at(TS),
    );
    assert!(
        matches!(result, Err(WebhookError::MissingHeader(name)) if name.as_str() == "x-hub-signature-256")
    );
    // Missing prefix.
    let bare = good.trim_start_matches("sha256=");
    let headers = headers_of(&[("x-hub-signature-256", bare)]);
    let err = verifier
        .verify(&WebhookRequest::new("POST", "", &headers, BODY), at(TS))
        .unwrap_err();
    assert!(matches!(err, WebhookError::MalformedHeader { .. }));
    // Upper-case hex and prefix are accepted.
    let upper = format!("SHA256={}", bare.to_uppercase());
    let headers = headers_of(&[("x-hub-signature-256", &upper)]);
    assert!(
        verifier
            .verify(&WebhookRequest::new("POST", "", &headers, BODY), at(TS))
            .is_ok()
    );
    // Body bit flips fail.
    let headers = headers_of(&[("x-hub-signature-256", &good)]);
    for bit in 0..BODY.len() * 8 {
        let body = flip_bit(BODY, bit);
        assert!(
            verifier
                .verify(&WebhookRequest::new("POST", "", &headers, &body), at(TS))
                .is_err()
        );
    }
    // Rotation.
    let rotated = HmacVerifier::new(
        HeaderName::from_static("x-sig"),
        SignatureEncoding::Base64,
        "old",
    )
    .add_secret(SECRET);
    let headers = headers_of(&[("x-sig", &rotated.sign(&secret, BODY))]);
    let verified = rotated
        .verify(&WebhookRequest::new("POST", "", &headers, BODY), at(TS))
        .unwrap();
    assert_eq!(verified.secret_index, 1);
}

fn standard_secret() -> WebhookSecret {
    WebhookSecret::from_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
}

#[test]
fn standard_webhooks_rejections() {
    let secret = standard_secret();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let verifier = StandardWebhooksVerifier::new(secret.clone());
    let good = standard::signed_headers(std::slice::from_ref(&secret), "msg_1", now, BODY).unwrap();
    assert!(
        verifier
            .verify(&WebhookRequest::new("POST", "", &good, BODY), now)
            .is_ok()
    );

    for name in [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE] {
        let mut headers = good.clone();
        headers.remove(&name);
        let result = verifier.verify(&WebhookRequest::new("POST", "", &headers, BODY), now);
        assert!(
            matches!(result, Err(WebhookError::MissingHeader(n)) if n == name),
            "{name}"
        );
    }
    // Tolerance edges in seconds.
    let request = WebhookRequest::new("POST", "", &good, BODY);
    assert!(
        verifier
            .verify(&request, now + Duration::from_secs(300))
            .is_ok()
    );
    assert!(
        verifier
            .verify(&request, now - Duration::from_secs(300))
            .is_ok()
    );
    assert!(matches!(
        verifier.verify(&request, now + Duration::from_millis(300_001)),
        Err(WebhookError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        verifier.verify(&request, now - Duration::from_millis(300_001)),
        Err(WebhookError::TimestampInFuture { .. })
    ));
    // A changed id or timestamp breaks the signature.
    let mut headers = good.clone();
    headers.insert(WEBHOOK_ID, HeaderValue::from_static("msg_2"));
    assert!(matches!(
        verifier.verify(&WebhookRequest::new("POST", "", &headers, BODY), now),
        Err(WebhookError::SignatureMismatch)
    ));
    let mut headers = good.clone();
    headers.insert(WEBHOOK_TIMESTAMP, HeaderValue::from(1_700_000_001u64));
    assert!(matches!(
        verifier.verify(&WebhookRequest::new("POST", "", &headers, BODY), now),
        Err(WebhookError::SignatureMismatch)
    ));
    // Malformed timestamp; empty id.
    let mut headers = good.clone();
    headers.insert(WEBHOOK_TIMESTAMP, HeaderValue::from_static("soon"));
    assert!(matches!(
        verifier.verify(&WebhookRequest::new("POST", "", &headers, BODY), now),
        Err(WebhookError::MalformedHeader { .. })
    ));
    let mut headers = good.clone();
    headers.insert(WEBHOOK_ID, HeaderValue::from_static(""));
    assert!(matches!(
        verifier.verify(&WebhookRequest::new("POST", "", &headers, BODY), now),
        Err(WebhookError::MalformedHeader { .. })
    ));
    // Only other-version entries, or garbage: mismatch.
    let v1 = good[&WEBHOOK_SIGNATURE].to_str().unwrap().to_owned();
    for value in [
        v1.replacen("v1,", "v1a,", 1),
        v1.replacen("v1,", "v2,", 1),
        "garbage".into(),
        "v1,".into(),
        " ".into(),
    ] {
        let mut headers = good.clone();
        headers.insert(WEBHOOK_SIGNATURE, HeaderValue::from_str(&value).unwrap());
        assert!(
            matches!(
                verifier.verify(&WebhookRequest::new("POST", "", &headers, BODY), now),
                Err(WebhookError::SignatureMismatch)
            ),
            "{value:?}"
        );
    }
}

#[test]
fn standard_webhooks_several_signatures_any_position() {
    let old = WebhookSecret::new(b"old key bytes".as_slice());
    let new = standard_secret();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let verifier_new = StandardWebhooksVerifier::new(new.clone());
    let verifier_old = StandardWebhooksVerifier::new(old.clone());
    // The sender rotates: both signatures are sent; whichever position ours is in, it passes.
    for secrets in [
        vec![old.clone(), new.clone()],
        vec![new.clone(), old.clone()],
    ] {
        let headers = standard::signed_headers(&secrets, "msg_rot", now, BODY).unwrap();
        let value = headers[&WEBHOOK_SIGNATURE].to_str().unwrap();
        assert_eq!(value.split(' ').count(), 2);
        assert!(
            verifier_new
                .verify(&WebhookRequest::new("POST", "", &headers, BODY), now)
                .is_ok()
        );
        assert!(
            verifier_old
                .verify(&WebhookRequest::new("POST", "", &headers, BODY), now)
                .is_ok()
        );
    }
    // The receiver rotates: several secrets configured.
    let headers =
        standard::signed_headers(std::slice::from_ref(&new), "msg_rot", now, BODY).unwrap();
    let verified = StandardWebhooksVerifier::new(old)
        .add_secret(new)
        .verify(&WebhookRequest::new("POST", "", &headers, BODY), now)
        .unwrap();
    assert_eq!(verified.secret_index, 1);
}

#[test]
fn standard_webhook_secret_parsing() {
    assert!(matches!(
        WebhookSecret::from_standard("whsec_!!!"),
        Err(WebhookError::InvalidSecret { .. })
    ));
    assert!(matches!(
        WebhookSecret::from_standard("whsec_"),
        Err(WebhookError::InvalidSecret { .. })
    ));
    let secret = standard_secret();
    assert_eq!(
        secret.to_standard(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    );
    assert!(
        StandardWebhooksVerifier::from_secret_str("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok()
    );
    // The error says what is wrong without echoing the text.
    let err = WebhookSecret::from_standard("whsec_sup3r s3cret!").unwrap_err();
    assert!(!err.to_string().contains("sup3r"));
}

#[test]
fn replay_keys_are_canonical() {
    // Re-encoding the signature header (hex case) or appending another entry does not make a
    // new replay key.
    let verifier = HmacVerifier::github(SECRET);
    let good = verifier.sign(&WebhookSecret::new(SECRET), BODY);
    let a = verifier
        .verify(
            &WebhookRequest::new(
                "POST",
                "",
                &headers_of(&[("x-hub-signature-256", &good)]),
                BODY,
            ),
            at(TS),
        )
        .unwrap();
    let upper = format!(
        "sha256={}",
        good.trim_start_matches("sha256=").to_uppercase()
    );
    let b = verifier
        .verify(
            &WebhookRequest::new(
                "POST",
                "",
                &headers_of(&[("x-hub-signature-256", &upper)]),
                BODY,
            ),
            at(TS),
        )
        .unwrap();
    assert_eq!(a.replay_key, b.replay_key);

    let secret = standard_secret();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let headers =
        standard::signed_headers(std::slice::from_ref(&secret), "msg_1", now, BODY).unwrap();
    let mut padded = headers.clone();
    let extra = format!("{} v1,AAAA", headers[&WEBHOOK_SIGNATURE].to_str().unwrap());
    padded.insert(WEBHOOK_SIGNATURE, HeaderValue::from_str(&extra).unwrap());
    let verifier = StandardWebhooksVerifier::new(secret);
    let a = verifier
        .verify(&WebhookRequest::new("POST", "", &headers, BODY), now)
        .unwrap();
    let b = verifier
        .verify(&WebhookRequest::new("POST", "", &padded, BODY), now)
        .unwrap();
    assert_eq!(a.replay_key, b.replay_key);
}

#[test]
fn error_codes_and_statuses() {
    let cases: Vec<(WebhookError, &str, StatusCode)> = vec![
        (
            WebhookError::MissingHeader(SIGNATURE_V3),
            "missing_header",
            StatusCode::UNAUTHORIZED,
        ),
        (
            WebhookError::SignatureMismatch,
            "signature_mismatch",
            StatusCode::UNAUTHORIZED,
        ),
        (
            WebhookError::TimestampTooOld {
                age: Duration::ZERO,
                tolerance: Duration::ZERO,
            },
            "timestamp_too_old",
            StatusCode::UNAUTHORIZED,
        ),
        (
            WebhookError::UnsupportedVersion,
            "unsupported_version",
            StatusCode::BAD_REQUEST,
        ),
        (WebhookError::Replayed, "replayed", StatusCode::CONFLICT),
        (
            WebhookError::BodyTooLarge { limit: 1 },
            "body_too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (error, code, status) in cases {
        assert_eq!(error.code(), code);
        assert_eq!(error.status(), status);
    }
}

#[test]
fn stripe_rejections_and_rolling_secrets() {
    use webhook_verify::{StripeVerifier, stripe};
    let old = WebhookSecret::new("whsec_old");
    let new = WebhookSecret::new("whsec_new");
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let verify = |value: &str, body: &[u8], at: SystemTime| {
        let headers = headers_of(&[("stripe-signature", value)]);
        StripeVerifier::new(new.clone())
            .verify(&WebhookRequest::new("POST", "", &headers, body), at)
    };
    // During a roll Stripe sends two v1 entries; ours may be either one.
    for pair in [[old.clone(), new.clone()], [new.clone(), old.clone()]] {
        let value = stripe::sign(&pair, 1_700_000_000, BODY);
        assert!(verify(&value, BODY, now).is_ok(), "{value}");
    }
    let value = stripe::sign(std::slice::from_ref(&new), 1_700_000_000, BODY);
    // Tolerance edges.
    assert!(verify(&value, BODY, now + Duration::from_secs(300)).is_ok());
    assert!(matches!(
        verify(&value, BODY, now + Duration::from_millis(300_001)),
        Err(WebhookError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        verify(&value, BODY, now - Duration::from_millis(300_001)),
        Err(WebhookError::TimestampInFuture { .. })
    ));
    // Body change, changed t, missing t, missing header, only v0 entries.
    assert!(matches!(
        verify(&value, b"[]", now),
        Err(WebhookError::SignatureMismatch)
    ));
    let changed_t = value.replace("t=1700000000", "t=1700000001");
    assert!(matches!(
        verify(&changed_t, BODY, now),
        Err(WebhookError::SignatureMismatch)
    ));
    let no_t = value.replace("t=1700000000,", "");
    assert!(matches!(
        verify(&no_t, BODY, now),
        Err(WebhookError::MalformedHeader { .. })
    ));
    let v0 = value.replace("v1=", "v0=");
    assert!(matches!(
        verify(&v0, BODY, now),
        Err(WebhookError::SignatureMismatch)
    ));
    let result = StripeVerifier::new(new.clone()).verify(
        &WebhookRequest::new("POST", "", &HeaderMap::new(), BODY),
        now,
    );
    assert!(
        matches!(result, Err(WebhookError::MissingHeader(name)) if name.as_str() == "stripe-signature")
    );
    // Receiver-side rotation.
    let verified = StripeVerifier::new(old.clone())
        .add_secret(new.clone())
        .verify(
            &WebhookRequest::new(
                "POST",
                "",
                &headers_of(&[("stripe-signature", &value)]),
                BODY,
            ),
            now,
        )
        .unwrap();
    assert_eq!(verified.secret_index, 1);
}
