//! [`ManyChatClassifier`]: the workspace's HTTP classification, plus ManyChat's body `status`.

use http::Response;
use resilience_core::{AsDynError, Classify, HttpClassifier, Outcome};
use serde::Deserialize;

/// What a response body's `status` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyStatus {
    /// `"status": "success"`.
    Success,
    /// A JSON object whose `status` is anything else (`"error"`).
    Error,
    /// A JSON object with no `status` field.
    Absent,
    /// Not a JSON object at all.
    Unreadable,
}

/// Reads only the `status` field of a JSON body.
pub(crate) fn body_status(body: &[u8]) -> BodyStatus {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow, default)]
        status: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_slice::<Envelope<'_>>(body) {
        Ok(Envelope { status: None }) => BodyStatus::Absent,
        Ok(Envelope {
            status: Some(status),
        }) if status == "success" => BodyStatus::Success,
        Ok(_) => BodyStatus::Error,
        Err(_) => BodyStatus::Unreadable,
    }
}

/// Classifies ManyChat answers for every layer of the stack (retry, breaker, rate limiter,
/// cache).
///
/// The workspace's [`HttpClassifier`] decides from the status code, with one refinement for
/// 2xx answers, because ManyChat sometimes refuses a request with HTTP 200:
///
/// | 2xx body | outcome |
/// | --- | --- |
/// | `{"status":"success", ...}` (or an object without `status`) | success |
/// | `{"status":"error", ...}` | neutral: a refusal of this request ("subscriber has blocked the page"), not a sign of an unhealthy API; never cached, never retried, never opens the breaker |
/// | not a JSON object (a proxy page, a truncated body) | failure |
///
/// Throttling is only a 429, or a 503 with `Retry-After` (the answers that mean ManyChat
/// refused the request before processing it, so even a send may be repeated). The shared
/// rules' other throttling codes (423 Locked, 477) are failures here: ManyChat documents
/// neither, and a failure never repeats a send.
///
/// ```
/// use bytes::Bytes;
/// use client_manychat::ManyChatClassifier;
/// use http::Response;
/// use resilience_core::{BoxError, Classify, Outcome};
///
/// let refused: Result<Response<Bytes>, BoxError> = Ok(Response::new(Bytes::from_static(
///     br#"{"status":"error","message":"Subscriber has blocked the page"}"#,
/// )));
/// assert_eq!(ManyChatClassifier::new().classify(&refused), Outcome::Neutral);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ManyChatClassifier {
    http: HttpClassifier,
}

impl ManyChatClassifier {
    /// The rules above, over the default [`HttpClassifier`].
    pub fn new() -> Self {
        Self::default()
    }
}

impl<B: AsRef<[u8]>, E: AsDynError> Classify<Response<B>, E> for ManyChatClassifier {
    fn classify(&self, result: &Result<Response<B>, E>) -> Outcome {
        match result {
            Ok(response) if response.status().is_success() => {
                match body_status(response.body().as_ref()) {
                    BodyStatus::Success | BodyStatus::Absent => Outcome::Success,
                    BodyStatus::Error => Outcome::Neutral,
                    BodyStatus::Unreadable => Outcome::Failure,
                }
            }
            Ok(response) if !matches!(response.status().as_u16(), 429 | 503) => {
                // Only 429 and 503 (with `Retry-After`) mean "refused before processing" at
                // ManyChat; the shared rules' other throttling codes (423, 477) are not
                // ManyChat's, and throttling would let a send be repeated.
                match self.http.classify(result) {
                    Outcome::Throttled { .. } => Outcome::Failure,
                    outcome => outcome,
                }
            }
            other => self.http.classify(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use resilience_core::BoxError;

    fn classify(status: u16, body: &'static str) -> Outcome {
        let response = Response::builder()
            .status(status)
            .body(Bytes::from_static(body.as_bytes()))
            .expect("response");
        ManyChatClassifier::new().classify(&Ok::<_, BoxError>(response))
    }

    #[test]
    fn body_status_decides_2xx() {
        assert_eq!(
            classify(200, r#"{"status":"success","data":{}}"#),
            Outcome::Success
        );
        assert_eq!(classify(200, r#"{"data":[]}"#), Outcome::Success);
        assert_eq!(
            classify(200, r#"{"status":"error","message":"x"}"#),
            Outcome::Neutral
        );
        assert_eq!(classify(200, "<html>oops</html>"), Outcome::Failure);
        assert_eq!(classify(200, r#"{"status":"succ"#), Outcome::Failure);
    }

    #[test]
    fn only_429_and_503_are_throttling() {
        // The shared rules call 423 and 477 (with `Retry-After`) throttling, which would let the
        // retry policy repeat a send; ManyChat documents neither.
        for status in [423, 477] {
            let response = Response::builder()
                .status(status)
                .header("retry-after", "1")
                .body(Bytes::new())
                .expect("response");
            let outcome = ManyChatClassifier::new().classify(&Ok::<_, BoxError>(response));
            assert_eq!(outcome, Outcome::Failure, "{status}");
        }
    }

    #[test]
    fn other_statuses_follow_the_shared_rules() {
        assert!(classify(429, r#"{"status":"error"}"#).is_throttled());
        assert_eq!(classify(400, r#"{"status":"error"}"#), Outcome::Neutral);
        assert_eq!(classify(503, r#"{"status":"error"}"#), Outcome::Failure);
        let response = Response::builder()
            .status(503)
            .header("retry-after", "2")
            .body(Bytes::new())
            .expect("response");
        assert!(
            ManyChatClassifier::new()
                .classify(&Ok::<_, BoxError>(response))
                .is_throttled()
        );
        let err: Result<Response<Bytes>, BoxError> = Err("reset".into());
        assert_eq!(ManyChatClassifier::new().classify(&err), Outcome::Failure);
    }
}
