//! [`ManyChatClient`] as an `obs-health` check.

use obs_health::{CheckFuture, HealthCheck, Observation};

use crate::client::ManyChatClient;

/// The client is a health check named `manychat`: [`ManyChatClient::health_check`] passing
/// means ManyChat answers and accepts the token. Throttling (ManyChat's or the local limiter's)
/// is a warning, not a failure: the API is up, the budget is spent.
impl HealthCheck for ManyChatClient {
    fn name(&self) -> &str {
        "manychat"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match self.health_check().await {
                Ok(page) => Ok(Observation::pass().with_output(format!("page {}", page.id))),
                Err(error) if error.is_rate_limited() => {
                    Ok(Observation::warn(format!("rate limited: {error}")))
                }
                Err(error) => Err(error.into()),
            }
        })
    }
}
