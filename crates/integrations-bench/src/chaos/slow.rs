//! Slow server: every response of the sandbox is slower than the clients' attempt timeout.
//! Invariant: every call ends within its total deadline (plus scheduling slack) with a typed
//! timeout or fast-fail error, and none waits for the slow answer.

use super::{Size, Verdict};
use api_sandbox::{Fault, Route, Sandbox};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a call ended with, as the scenario sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// An answer arrived (it should not, the server is too slow).
    Answered,
    /// A typed timeout (attempt or total deadline).
    TimedOut,
    /// A typed local fast-fail (open breaker, rate limiter), which also ends within the deadline.
    Rejected,
    /// Any other error, with its text.
    Other(String),
}

/// One client under test: its name and a call.
pub(crate) type Call = Arc<dyn Fn() -> BoxFuture<'static, Ending> + Send + Sync>;

/// Timeouts drawn from the seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) attempt: Duration,
    pub(crate) total: Duration,
    pub(crate) latency: Duration,
}

impl Timeouts {
    pub(crate) fn from_seed(seed: u64) -> Self {
        let mut rng = super::SplitMix(seed);
        let attempt = Duration::from_millis(50 + rng.below(100));
        let total = attempt * (2 + rng.below(3) as u32) + Duration::from_millis(rng.below(100));
        let latency = Duration::from_millis(2_000 + rng.below(1_000));
        Self {
            attempt,
            total,
            latency,
        }
    }
}

fn manychat(sandbox: &Sandbox, t: Timeouts) -> Result<(String, Call), String> {
    let client = client_manychat::ManyChatClient::builder()
        .token(sandbox.manychat_token())
        .base_url(sandbox.manychat_url())
        .timeout(t.attempt)
        .total_timeout(t.total)
        .rate_limit(None)
        .metrics(None)
        .build()
        .map_err(|e| format!("manychat client: {e}"))?;
    let call: Call = Arc::new(move || {
        let client = client.clone();
        Box::pin(async move {
            match client.health_check().await {
                Ok(_) => Ending::Answered,
                Err(e) if e.is_timeout() => Ending::TimedOut,
                Err(e) if e.is_rejected() => Ending::Rejected,
                Err(e) => Ending::Other(super::chain(&e)),
            }
        })
    });
    Ok(("manychat page.info".to_string(), call))
}

fn hubspot(sandbox: &Sandbox, t: Timeouts) -> Result<(String, Call), String> {
    let id = sandbox
        .control()
        .contact_ids()
        .first()
        .map(u64::to_string)
        .ok_or("the sandbox has no contacts")?;
    let client = client_hubspot::HubSpotClient::builder()
        .token(sandbox.hubspot_token())
        .base_url(sandbox.hubspot_url())
        .timeout(t.attempt)
        .total_timeout(t.total)
        .cache(None)
        .rate_limit(None)
        .metrics(None)
        .build()
        .map_err(|e| format!("hubspot client: {e}"))?;
    let call: Call = Arc::new(move || {
        let (client, id) = (client.clone(), id.clone());
        Box::pin(async move {
            match client
                .contacts()
                .get(&id, &client_hubspot::GetOptions::new())
                .await
            {
                Ok(_) => Ending::Answered,
                Err(e) if e.is_timeout() => Ending::TimedOut,
                Err(e) if e.is_rejected() => Ending::Rejected,
                Err(e) => Ending::Other(super::chain(&e)),
            }
        })
    });
    Ok(("hubspot contacts.get".to_string(), call))
}

/// Runs `calls` concurrent calls of each client and checks every ending.
pub fn run(seed: u64, size: Size) -> Verdict {
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => return Verdict::failed(e, "no runtime"),
    };
    runtime.block_on(scenario(seed, size))
}

async fn scenario(seed: u64, size: Size) -> Verdict {
    let t = Timeouts::from_seed(seed);
    let (calls, slack) = match size {
        // In the test suite the bound is the server's latency: a call must not wait for it.
        Size::Quick => (40, t.latency.saturating_sub(t.total)),
        Size::Full => (500, Duration::from_millis(150)),
    };
    let sandbox = match Sandbox::start(crate::loopback::fast_sandbox_config().with_seed(seed)).await
    {
        Ok(s) => s,
        Err(e) => return Verdict::failed(format!("sandbox: {e}"), ""),
    };
    sandbox
        .control()
        .fail_always(Route::any(), Fault::latency(t.latency));
    let mut clients = Vec::new();
    for make in [hubspot, manychat] {
        match make(&sandbox, t) {
            Ok(c) => clients.push(c),
            Err(e) => return Verdict::failed(e, ""),
        }
    }
    let bound = t.total + slack;
    let mut details = Vec::new();
    for (name, call) in clients {
        let started = Instant::now();
        let handles: Vec<_> = (0..calls)
            .map(|_| {
                let call = call.clone();
                tokio::spawn(async move {
                    let t0 = Instant::now();
                    let ending = call().await;
                    (ending, t0.elapsed())
                })
            })
            .collect();
        let mut worst = Duration::ZERO;
        let (mut timed_out, mut rejected) = (0, 0);
        for handle in handles {
            let (ending, took) = match handle.await {
                Ok(r) => r,
                Err(e) => return Verdict::failed(format!("{name}: a call panicked: {e}"), ""),
            };
            worst = worst.max(took);
            match ending {
                Ending::TimedOut => timed_out += 1,
                Ending::Rejected => rejected += 1,
                Ending::Answered => {
                    return Verdict::failed(
                        format!("{name}: a call waited for the slow answer ({took:?})"),
                        format!("{t:?}"),
                    );
                }
                Ending::Other(e) => {
                    return Verdict::failed(
                        format!("{name}: a call ended with neither a timeout nor a fast-fail: {e}"),
                        format!("{t:?}"),
                    );
                }
            }
            if took > bound {
                return Verdict::failed(
                    format!(
                        "{name}: a call took {took:?}, past its total deadline {:?} + slack {slack:?}",
                        t.total
                    ),
                    format!("{t:?}"),
                );
            }
        }
        details.push(format!(
            "{name}: {calls} calls in {:.2}s, slowest {worst:.0?} (deadline {:?}), {timed_out} timed out, {rejected} fast-failed",
            started.elapsed().as_secs_f64(),
            t.total
        ));
    }
    Verdict::passed(format!(
        "attempt timeout {:?}, server latency {:?}; {}",
        t.attempt,
        t.latency,
        details.join("; ")
    ))
}
