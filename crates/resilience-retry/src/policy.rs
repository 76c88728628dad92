//! The retry policy: classify, check idempotency and attempts, pick a delay, fit it in the
//! deadline, spend the budget.

use crate::backoff::{Backoff, Jitter, RandomSource, SplitMix64, scale};
use crate::budget::RetryBudget;
use crate::error::{ConfigError, RetryAfterExceeded};
use crate::request::RetryableRequest;
use metrics::SharedString;
use resilience_core::{
    AsDynError, Classify, HttpClassifier, NotSent, Outcome, Rejected, find_in_chain,
};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tower::retry::Policy;

/// Default number of attempts, the first one included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default longest `Retry-After` the policy will honour.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Default largest request body kept in memory for replay (1 MiB).
pub const DEFAULT_MAX_REPLAY_BYTES: u64 = 1024 * 1024;

/// What the policy does with the result when it gives up because the server's `Retry-After`
/// is longer than it may wait.
pub trait GiveUpMode<Res, E> {
    /// Replaces (or keeps) `result` given the give-up error.
    fn give_up(result: &mut Result<Res, E>, error: RetryAfterExceeded);
}

/// Give-up mode (the default): replace the last result with `Err(RetryAfterExceeded.into())`,
/// so the caller sees the server's wait. Needs `E: From<RetryAfterExceeded>`, which `BoxError`
/// satisfies.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReturnError;

impl<Res, E: From<RetryAfterExceeded>> GiveUpMode<Res, E> for ReturnError {
    fn give_up(result: &mut Result<Res, E>, error: RetryAfterExceeded) {
        *result = Err(E::from(error));
    }
}

/// Give-up mode for error types that cannot hold a [`RetryAfterExceeded`]: return the last
/// (throttled) result unchanged, still without sleeping.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReturnLastResult;

impl<Res, E> GiveUpMode<Res, E> for ReturnLastResult {
    fn give_up(_result: &mut Result<Res, E>, _error: RetryAfterExceeded) {}
}

struct Shared {
    name: SharedString,
    max_attempts: u32,
    backoff: Backoff,
    max_retry_after: Duration,
    max_replay_bytes: u64,
    budget: Option<Arc<RetryBudget>>,
    random: Arc<dyn RandomSource>,
}

/// A [`tower::retry::Policy`] with capped exponential backoff, `Retry-After`, a shared budget,
/// deadline awareness and idempotency rules.
///
/// Clones share the configuration, the budget and the random source; each clone that tower
/// makes for a call keeps that call's attempt count.
///
/// It is a policy for any `Req: RetryableRequest`, any response, and any error type that
/// implements [`AsDynError`] (`BoxError`, `std::io::Error` and `Infallible` do; implement it for
/// your own), so the policy can look for [`NotSent`] and [`Rejected`] in the error's chain. With
/// the default [`ReturnError`] give-up mode the error type must also be
/// `From<RetryAfterExceeded>`; use [`RetryPolicyBuilder::keep_last_result`] otherwise.
///
/// Decision order for each finished attempt:
/// 1. classify it with `C` ([`HttpClassifier`] by default): success and neutral stop;
/// 2. an error whose chain holds [`Rejected`] (open breaker, rate limiter) stops;
/// 3. a non-idempotent request stops unless the error holds [`NotSent`] or the outcome is
///    throttled (give-up reason `not_idempotent`);
/// 4. out of attempts stops (`attempts`);
/// 5. the delay is the server's `Retry-After` (plus up to 10 % positive jitter, never less)
///    when it gave one, else the jittered backoff; a `Retry-After` above the maximum or past
///    the deadline gives up at once with [`RetryAfterExceeded`] (`deadline`), a backoff past
///    the deadline stops with the last result (`deadline`);
/// 6. the budget must allow the retry (`resilience_retry_budget_exhausted_total`).
pub struct RetryPolicy<C = HttpClassifier, G = ReturnError> {
    shared: Arc<Shared>,
    classifier: C,
    attempts: u32,
    previous_delay: Option<Duration>,
    _give_up: PhantomData<fn() -> G>,
}

impl<C: Clone, G> Clone for RetryPolicy<C, G> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            classifier: self.classifier.clone(),
            attempts: self.attempts,
            previous_delay: self.previous_delay,
            _give_up: PhantomData,
        }
    }
}

impl<C, G> fmt::Debug for RetryPolicy<C, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("service", &self.shared.name)
            .field("max_attempts", &self.shared.max_attempts)
            .field("backoff", &self.shared.backoff)
            .field("max_retry_after", &self.shared.max_retry_after)
            .field("max_replay_bytes", &self.shared.max_replay_bytes)
            .field("budget", &self.shared.budget.is_some())
            .field("classifier", &std::any::type_name::<C>())
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl RetryPolicy {
    /// The default policy for HTTP, with `service` as the metrics label: 3 attempts, 250 ms ×2
    /// up to 20 s with full jitter, `Retry-After` up to 60 s, a 20 % / 10 s / 10 per second
    /// budget, bodies up to 1 MiB replayed.
    pub fn new(service: impl Into<Cow<'static, str>>) -> Self {
        Self::builder(service).finish()
    }

    /// A builder starting from the defaults of [`RetryPolicy::new`].
    pub fn builder(service: impl Into<Cow<'static, str>>) -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            name: SharedString::from(service.into()),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: Backoff::default(),
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            max_replay_bytes: DEFAULT_MAX_REPLAY_BYTES,
            budget: BudgetChoice::Default,
            random: None,
            classifier: HttpClassifier::new(),
            _give_up: PhantomData,
        }
    }
}

impl<C, G> RetryPolicy<C, G> {
    /// The service name used as the `service` metrics label.
    pub fn service(&self) -> &str {
        &self.shared.name
    }

    /// Attempts per call, the first one included.
    pub fn max_attempts(&self) -> u32 {
        self.shared.max_attempts
    }

    /// The backoff between attempts.
    pub fn backoff(&self) -> Backoff {
        self.shared.backoff
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.shared.max_retry_after
    }

    /// The largest body replayed.
    pub fn max_replay_bytes(&self) -> u64 {
        self.shared.max_replay_bytes
    }

    /// The shared retry budget, unless disabled.
    pub fn budget(&self) -> Option<&Arc<RetryBudget>> {
        self.shared.budget.as_ref()
    }

    /// The classifier.
    pub fn classifier(&self) -> &C {
        &self.classifier
    }

    /// Records one logical call in the budget.
    pub(crate) fn deposit(&self) {
        if let Some(budget) = &self.shared.budget {
            budget.deposit();
        }
    }

    /// Called when a request that could not be replayed finishes: counts a give-up if it would
    /// otherwise have been retried (`not_idempotent` if that rule alone forbids it).
    pub(crate) fn observe_unreplayable<Res, E>(&self, idempotent: bool, result: &Result<Res, E>)
    where
        C: Classify<Res, E>,
        E: AsDynError,
    {
        let outcome = self.classifier.classify(result);
        if !outcome.is_retryable() || holds::<Rejected, _, _>(result) {
            return;
        }
        let safe = idempotent || outcome.is_throttled() || holds::<NotSent, _, _>(result);
        let reason = if safe {
            "not_replayable"
        } else {
            "not_idempotent"
        };
        self.give_up(reason, 1, outcome);
    }

    fn give_up(&self, reason: &'static str, attempt: u32, outcome: Outcome) {
        metrics::counter!(
            "resilience_retry_give_ups_total",
            "service" => self.shared.name.clone(),
            "reason" => reason
        )
        .increment(1);
        tracing::debug!(
            service = %self.shared.name,
            attempt,
            outcome = outcome.as_str(),
            reason,
            "retry: giving up"
        );
    }

    fn decide(&mut self, facts: Facts) -> Decision {
        let attempt = self.attempts;
        let outcome = facts.outcome;
        if !outcome.is_retryable() {
            return Decision::Stop;
        }
        if facts.rejected {
            tracing::debug!(
                service = %self.shared.name,
                attempt,
                "retry: not retrying a local rejection"
            );
            return Decision::Stop;
        }
        let throttled = outcome.is_throttled();
        if !(facts.idempotent || facts.not_sent || throttled) {
            self.give_up("not_idempotent", attempt, outcome);
            return Decision::Stop;
        }
        if attempt >= self.shared.max_attempts {
            self.give_up("attempts", attempt, outcome);
            return Decision::Stop;
        }
        let delay = match outcome.retry_after().filter(|hint| !hint.is_zero()) {
            Some(hint) => {
                if hint > self.shared.max_retry_after {
                    self.give_up("deadline", attempt, outcome);
                    return Decision::GiveUp(RetryAfterExceeded::new(
                        hint,
                        self.shared.max_retry_after,
                        false,
                    ));
                }
                if let Some(remaining) = facts.remaining.filter(|left| hint >= *left) {
                    self.give_up("deadline", attempt, outcome);
                    return Decision::GiveUp(RetryAfterExceeded::new(hint, remaining, true));
                }
                let extra = match self.shared.backoff.jitter() {
                    Jitter::None => Duration::ZERO,
                    _ => scale(hint / 10, self.shared.random.next_unit()),
                };
                let delay = hint.saturating_add(extra);
                // Never below the hint; the jitter is dropped if it would reach the deadline
                // (the hint itself is shorter than the time left here).
                match facts.remaining {
                    Some(left) if delay >= left => hint,
                    _ => delay,
                }
            }
            None => {
                let unit = self.shared.random.next_unit();
                let delay = self
                    .shared
                    .backoff
                    .delay(attempt, self.previous_delay, unit);
                if facts.remaining.is_some_and(|left| delay >= left) {
                    self.give_up("deadline", attempt, outcome);
                    return Decision::Stop;
                }
                delay
            }
        };
        if let Some(budget) = &self.shared.budget {
            if !budget.withdraw() {
                metrics::counter!(
                    "resilience_retry_budget_exhausted_total",
                    "service" => self.shared.name.clone()
                )
                .increment(1);
                tracing::debug!(
                    service = %self.shared.name,
                    attempt,
                    "retry: budget exhausted, not retrying"
                );
                return Decision::Stop;
            }
        }
        self.previous_delay = Some(delay);
        let reason = if throttled { "throttled" } else { "failure" };
        metrics::counter!(
            "resilience_retry_attempts_total",
            "service" => self.shared.name.clone(),
            "reason" => reason
        )
        .increment(1);
        tracing::debug!(
            service = %self.shared.name,
            attempt = attempt + 1,
            reason,
            delay_ms = delay.as_millis() as u64,
            "retry: scheduling another attempt"
        );
        Decision::Retry(delay)
    }
}

/// What the policy knows about one finished attempt.
struct Facts {
    outcome: Outcome,
    idempotent: bool,
    not_sent: bool,
    rejected: bool,
    remaining: Option<Duration>,
}

enum Decision {
    Stop,
    Retry(Duration),
    GiveUp(RetryAfterExceeded),
}

fn holds<T: std::error::Error + 'static, Res, E: AsDynError>(result: &Result<Res, E>) -> bool {
    match result {
        Ok(_) => false,
        Err(error) => find_in_chain::<T>(error.as_dyn_error()).is_some(),
    }
}

impl<Req, Res, E, C, G> Policy<Req, Res, E> for RetryPolicy<C, G>
where
    Req: RetryableRequest,
    C: Classify<Res, E>,
    E: AsDynError,
    G: GiveUpMode<Res, E>,
{
    /// Boxed so that the call's future stays small when no retry happens.
    type Future = Pin<Box<Sleep>>;

    fn retry(&mut self, req: &mut Req, result: &mut Result<Res, E>) -> Option<Self::Future> {
        self.attempts = self.attempts.saturating_add(1);
        let outcome = self.classifier.classify(result);
        if !outcome.is_retryable() {
            // The common case: nothing more to look at, not even the clock.
            return None;
        }
        let now = Instant::now();
        let facts = Facts {
            outcome,
            idempotent: req.is_idempotent(),
            not_sent: holds::<NotSent, _, _>(result),
            rejected: holds::<Rejected, _, _>(result),
            remaining: req
                .deadline()
                .map(|at| Instant::from_std(at.0).saturating_duration_since(now)),
        };
        match self.decide(facts) {
            Decision::Stop => None,
            Decision::Retry(delay) => Some(Box::pin(tokio::time::sleep(delay))),
            Decision::GiveUp(error) => {
                G::give_up(result, error);
                None
            }
        }
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        // tower calls this on the service's own policy (attempt 0) once per call, then on the
        // call's copy before each retry: deposit once per logical call.
        if self.attempts == 0 {
            self.deposit();
        }
        req.try_clone(self.shared.max_replay_bytes)
    }
}

enum BudgetChoice {
    Default,
    Shared(Arc<RetryBudget>),
    Disabled,
}

/// Builds a [`RetryPolicy`]; every setter has a documented default.
pub struct RetryPolicyBuilder<C = HttpClassifier, G = ReturnError> {
    name: SharedString,
    max_attempts: u32,
    backoff: Backoff,
    max_retry_after: Duration,
    max_replay_bytes: u64,
    budget: BudgetChoice,
    random: Option<Arc<dyn RandomSource>>,
    classifier: C,
    _give_up: PhantomData<fn() -> G>,
}

impl<C, G> fmt::Debug for RetryPolicyBuilder<C, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicyBuilder")
            .field("service", &self.name)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("max_replay_bytes", &self.max_replay_bytes)
            .field("classifier", &std::any::type_name::<C>())
            .finish_non_exhaustive()
    }
}

impl<C, G> RetryPolicyBuilder<C, G> {
    /// Attempts per call, the first included (default 3; 1 disables retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The backoff between attempts (default 250 ms ×2 up to 20 s, full jitter).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Changes only the jitter of the backoff (default [`Jitter::Full`]; [`Jitter::None`] also
    /// removes the positive jitter added to `Retry-After`).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.backoff = self.backoff.with_jitter(jitter);
        self
    }

    /// The longest `Retry-After` honoured (default 60 s); a longer one gives up at once.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The largest body kept for replay (default 1 MiB); larger requests are sent once.
    pub fn max_replay_bytes(mut self, bytes: u64) -> Self {
        self.max_replay_bytes = bytes;
        self
    }

    /// Shares `budget` (for example between the clients of one host) instead of creating a
    /// default one (20 % of calls over 10 s, at least 10 per second).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = BudgetChoice::Shared(budget);
        self
    }

    /// Disables the retry budget (only max attempts and the deadline bound retries).
    pub fn no_budget(mut self) -> Self {
        self.budget = BudgetChoice::Disabled;
        self
    }

    /// The source of jitter (default [`SplitMix64::from_entropy`]); inject a seeded one for
    /// reproducible delays.
    pub fn random_source(mut self, random: impl RandomSource) -> Self {
        self.random = Some(Arc::new(random));
        self
    }

    /// Uses another classifier (any `Fn(&Result<Res, E>) -> Outcome` works), for services that
    /// are not HTTP or need other rules.
    pub fn classifier<C2>(self, classifier: C2) -> RetryPolicyBuilder<C2, G> {
        RetryPolicyBuilder {
            name: self.name,
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            max_retry_after: self.max_retry_after,
            max_replay_bytes: self.max_replay_bytes,
            budget: self.budget,
            random: self.random,
            classifier,
            _give_up: PhantomData,
        }
    }

    /// On a `Retry-After` too long to wait for, return the throttled result unchanged instead
    /// of a [`RetryAfterExceeded`] error; for error types that cannot hold one.
    pub fn keep_last_result(self) -> RetryPolicyBuilder<C, ReturnLastResult> {
        RetryPolicyBuilder {
            name: self.name,
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            max_retry_after: self.max_retry_after,
            max_replay_bytes: self.max_replay_bytes,
            budget: self.budget,
            random: self.random,
            classifier: self.classifier,
            _give_up: PhantomData,
        }
    }

    /// Builds the policy.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MaxAttempts`] when `max_attempts` is 0.
    pub fn build(self) -> Result<RetryPolicy<C, G>, ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::MaxAttempts);
        }
        Ok(self.finish())
    }

    fn finish(self) -> RetryPolicy<C, G> {
        let budget = match self.budget {
            BudgetChoice::Default => Some(Arc::new(RetryBudget::default())),
            BudgetChoice::Shared(budget) => Some(budget),
            BudgetChoice::Disabled => None,
        };
        RetryPolicy {
            shared: Arc::new(Shared {
                name: self.name,
                max_attempts: self.max_attempts.max(1),
                backoff: self.backoff,
                max_retry_after: self.max_retry_after,
                max_replay_bytes: self.max_replay_bytes,
                budget,
                random: self
                    .random
                    .unwrap_or_else(|| Arc::new(SplitMix64::from_entropy())),
            }),
            classifier: self.classifier,
            attempts: 0,
            previous_delay: None,
            _give_up: PhantomData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::FixedRandom;

    fn policy(random: f64) -> RetryPolicy {
        RetryPolicy::builder("unit")
            .random_source(FixedRandom(random))
            .no_budget()
            .build()
            .unwrap()
    }

    fn facts(outcome: Outcome, remaining: Option<Duration>) -> Facts {
        Facts {
            outcome,
            idempotent: true,
            not_sent: false,
            rejected: false,
            remaining,
        }
    }

    fn throttled(secs: u64) -> Outcome {
        Outcome::Throttled {
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    fn delay(decision: Decision) -> Option<Duration> {
        match decision {
            Decision::Retry(d) => Some(d),
            _ => None,
        }
    }

    #[test]
    fn retry_after_jitter_never_reaches_the_deadline_nor_goes_below_the_hint() {
        let mut p = policy(0.999);
        p.attempts = 1;
        let d = delay(p.decide(facts(throttled(10), Some(Duration::from_millis(10_500)))));
        assert_eq!(d, Some(Duration::from_secs(10)));
        p.attempts = 1;
        let d = delay(p.decide(facts(throttled(10), None))).unwrap();
        assert!(
            d > Duration::from_millis(10_990) && d <= Duration::from_secs(11),
            "{d:?}"
        );
        p.attempts = 1;
        assert!(matches!(
            p.decide(facts(throttled(10), Some(Duration::from_secs(10)))),
            Decision::GiveUp(e) if e.is_deadline() && e.available() == Duration::from_secs(10)
        ));
    }

    #[test]
    fn a_zero_retry_after_falls_back_to_the_backoff() {
        let mut p = policy(0.5);
        p.attempts = 1;
        assert_eq!(
            delay(p.decide(facts(throttled(0), None))),
            Some(Duration::from_millis(125))
        );
    }

    #[test]
    fn stops() {
        let mut p = policy(0.5);
        p.attempts = 1;
        for outcome in [Outcome::Success, Outcome::Neutral] {
            assert!(matches!(p.decide(facts(outcome, None)), Decision::Stop));
        }
        let mut rejected = facts(Outcome::Failure, None);
        rejected.rejected = true;
        assert!(matches!(p.decide(rejected), Decision::Stop));
        let mut post = facts(Outcome::Failure, None);
        post.idempotent = false;
        assert!(matches!(p.decide(post), Decision::Stop));
        let mut post_not_sent = facts(Outcome::Failure, None);
        post_not_sent.idempotent = false;
        post_not_sent.not_sent = true;
        assert!(matches!(p.decide(post_not_sent), Decision::Retry(_)));
        p.attempts = 3;
        assert!(matches!(
            p.decide(facts(Outcome::Failure, None)),
            Decision::Stop
        ));
    }

    #[test]
    fn zero_attempts_is_a_config_error() {
        assert_eq!(
            RetryPolicy::builder("x")
                .max_attempts(0)
                .build()
                .unwrap_err(),
            ConfigError::MaxAttempts
        );
    }
}
