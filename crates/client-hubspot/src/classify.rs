//! [`HubSpotClassifier`]: the workspace's HTTP rules plus HubSpot's daily limit.

use bytes::Bytes;
use http::Response;
use resilience_core::{AsDynError, Classify, HttpClassifier, Outcome};

use crate::error::is_daily_limit_response;

/// The workspace's [`HttpClassifier`] with one HubSpot rule on top: a `429` for the account's
/// **daily** limit is [`Outcome::Neutral`], so retry never repeats it (nothing changes before the
/// reset, at midnight in the account's time zone) and the breaker does not count it.
#[derive(Debug, Clone, Copy, Default)]
pub struct HubSpotClassifier {
    http: HttpClassifier,
}

impl HubSpotClassifier {
    /// The default rules plus the daily-limit rule.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<E: AsDynError> Classify<Response<Bytes>, E> for HubSpotClassifier {
    fn classify(&self, result: &Result<Response<Bytes>, E>) -> Outcome {
        if let Ok(response) = result {
            if is_daily_limit_response(response.status(), response.headers(), response.body()) {
                return Outcome::Neutral;
            }
        }
        self.http.classify(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilience_core::BoxError;

    fn classify(status: u16, body: &'static str) -> Outcome {
        let response = Response::builder()
            .status(status)
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap();
        HubSpotClassifier::new().classify(&Ok::<_, BoxError>(response))
    }

    #[test]
    fn daily_limit_is_neutral_other_throttling_is_not() {
        assert_eq!(
            classify(
                429,
                r#"{"policyName":"DAILY","message":"You have reached your daily limit."}"#
            ),
            Outcome::Neutral
        );
        assert!(classify(429, r#"{"policyName":"TEN_SECONDLY_ROLLING"}"#).is_throttled());
        assert!(classify(503, "").is_failure());
        assert!(classify(200, "{}").is_success());
        assert!(classify(400, "{}").is_neutral());
    }
}
