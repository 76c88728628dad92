//! HubSpot v3 verification of a 4 KiB body against a bare HMAC-SHA256 of the same bytes.
//!
//! Run with `cargo bench -p webhook-verify`. Each measurement is the median of several runs of
//! many iterations, timed with `std::time::Instant`; the target is a ratio (bare time / verify
//! time) of at least 0.9, i.e. verification adds at most ~10% over the HMAC it cannot avoid.

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;
use webhook_verify::hubspot;
use webhook_verify::{HubSpotVerifier, HubSpotVersion, Verify, WebhookRequest};

const ITERATIONS: u32 = 20_000;
const RUNS: usize = 9;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times `a` and `b` in alternating batches (so a load change on the machine hits both alike)
/// and returns the median time per iteration of each.
fn measure_pair(mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    // Warm-up.
    for _ in 0..ITERATIONS / 10 {
        a();
        b();
    }
    let batch = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            f();
        }
        start.elapsed() / ITERATIONS
    };
    let mut samples_a = Vec::with_capacity(RUNS);
    let mut samples_b = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        samples_a.push(batch(&mut a));
        samples_b.push(batch(&mut b));
    }
    (median(samples_a), median(samples_b))
}

fn main() {
    let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    let uri = "https://hooks.example.com/hubspot/webhook?portal=62515";
    let body: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 26) as u8).collect();
    let timestamp: u64 = 1_700_000_000_000;
    let signature = hubspot::sign_v3(secret.as_bytes(), "POST", uri, &body, timestamp);

    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hubspot-signature-v3",
        HeaderValue::from_str(&signature).expect("base64 is a valid header value"),
    );
    headers.insert("x-hubspot-request-timestamp", HeaderValue::from(timestamp));
    let verifier = HubSpotVerifier::new(secret).pin_version(HubSpotVersion::V3);
    let now = UNIX_EPOCH + Duration::from_millis(timestamp + 1_000);
    let timestamp_text = timestamp.to_string();

    let (verify, bare) = measure_pair(
        || {
            let request = WebhookRequest::new("POST", black_box(uri), &headers, black_box(&body));
            let verified = verifier.verify(&request, black_box(now));
            assert!(verified.is_ok());
            black_box(verified.ok());
        },
        || {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(secret.as_bytes()))
                .expect("any key length");
            mac.update(b"POST");
            mac.update(black_box(uri).as_bytes());
            mac.update(black_box(&body));
            mac.update(timestamp_text.as_bytes());
            black_box(mac.finalize().into_bytes());
        },
    );

    let ratio = bare.as_secs_f64() / verify.as_secs_f64();
    let throughput = |d: Duration| body.len() as f64 / d.as_secs_f64() / (1024.0 * 1024.0);
    println!(
        "body: {} bytes, median of {RUNS} runs x {ITERATIONS} iterations",
        body.len()
    );
    println!(
        "v3 verify:        {:>9.2} us/op  {:>8.1} MiB/s",
        verify.as_secs_f64() * 1e6,
        throughput(verify)
    );
    println!(
        "bare HMAC-SHA256: {:>9.2} us/op  {:>8.1} MiB/s",
        bare.as_secs_f64() * 1e6,
        throughput(bare)
    );
    println!("ratio (bare time / verify time): {ratio:.3} (target >= 0.9)");
}
