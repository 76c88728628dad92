//! [`HubSpotClient`] as an `obs-health` check.

use obs_health::{CheckFuture, HealthCheck, Observation};

use crate::client::HubSpotClient;

/// The client is a health check named `hubspot`: [`HubSpotClient::health_check`] passing means
/// HubSpot answers and accepts the token. Throttling (HubSpot's or the local limiter's) is a
/// warning, not a failure: the API is up, the budget is spent.
impl HealthCheck for HubSpotClient {
    fn name(&self) -> &str {
        "hubspot"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match self.health_check().await {
                Ok(account) => {
                    Ok(Observation::pass().with_output(format!("portal {}", account.portal_id)))
                }
                Err(error) if error.is_rate_limited() => {
                    Ok(Observation::warn(format!("rate limited: {error}")))
                }
                Err(error) => Err(error.into()),
            }
        })
    }
}
