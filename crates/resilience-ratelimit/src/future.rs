//! `ResponseFuture`: acquire a permit, wait for it, call the inner service, learn from the result.

use crate::error::RateLimited;
use crate::key::RateKey;
use crate::quota::Quota;
use crate::service::Shared;
use crate::signals::{Observation, ResponseSignals};
use crate::store::{Decision, ObserveEffect, RateLimitStore, Reservation, StoreError};
use crate::telemetry;
use pin_project_lite::pin_project;
use resilience_core::{BoxError, Classify, Outcome};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tower_service::Service;

pin_project! {
    #[project = StateProj]
    enum State<AF, OF, F, R> {
        Acquiring { #[pin] fut: AF },
        Confirming { #[pin] fut: AF },
        Waiting { sleep: Pin<Box<Sleep>> },
        Readying,
        Calling { #[pin] fut: F },
        Observing { #[pin] fut: OF, result: Option<Result<R, BoxError>>, why: &'static str },
    }
}

/// The request's claim on the limiter: gives an unused reservation back when dropped.
struct Ticket<C, H, St: RateLimitStore> {
    shared: Arc<Shared<C, H, St>>,
    key: RateKey,
    quota: Quota,
    reservation: Option<Reservation>,
}

impl<C, H, St: RateLimitStore> Drop for Ticket<C, H, St> {
    fn drop(&mut self) {
        if let Some(reservation) = self.reservation.take() {
            tracing::debug!(
                service = %self.shared.config.name,
                key = %self.key,
                "rate limiter: request dropped before it was sent, giving its permit back"
            );
            self.shared.store.release(&self.key, reservation);
        }
    }
}

pin_project! {
    /// The response future of [`RateLimit`](crate::RateLimit).
    pub struct ResponseFuture<S, Req, C, H, St>
    where
        S: Service<Req>,
        St: RateLimitStore,
    {
        #[pin]
        state: State<St::AcquireFuture, St::ObserveFuture, S::Future, S::Response>,
        inner: S,
        request: Option<Req>,
        ticket: Ticket<C, H, St>,
        budget: WaitBudget,
    }
}

/// The longest a request may wait in all, and when it must give up: exact when the request has
/// a deadline, else counted from when its first wait began (so the permit-available path never
/// reads the clock for it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WaitBudget {
    pub(crate) max_wait: Duration,
    pub(crate) give_up_at: Option<Instant>,
}

impl<S, Req, C, H, St> fmt::Debug for ResponseFuture<S, Req, C, H, St>
where
    S: Service<Req>,
    St: RateLimitStore,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("key", &self.ticket.key)
            .field("reserved", &self.ticket.reservation.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, Req, C, H, St> ResponseFuture<S, Req, C, H, St>
where
    S: Service<Req>,
    St: RateLimitStore,
{
    pub(crate) fn new(
        acquire: St::AcquireFuture,
        inner: S,
        request: Req,
        key: RateKey,
        quota: Quota,
        shared: Arc<Shared<C, H, St>>,
        budget: WaitBudget,
    ) -> Self {
        Self {
            state: State::Acquiring { fut: acquire },
            inner,
            request: Some(request),
            ticket: Ticket {
                shared,
                key,
                quota,
                reservation: None,
            },
            budget,
        }
    }
}

/// The pause a finished attempt asks for, added to what its response said: a throttled
/// outcome's `Retry-After`, else `throttle_pause` when nothing else tells how long to stop; and
/// `throttle_pause` too for `remaining = 0` with no window to wait for. Pauses are capped.
fn with_throttle(
    mut observation: Observation,
    outcome: Outcome,
    throttle_pause: Duration,
    max_pause: Duration,
) -> Observation {
    if !outcome.is_throttled() && observation.is_empty() {
        return observation;
    }
    let exhausted = observation.remaining == Some(0);
    let known_window = exhausted && observation.window_end().is_some();
    let pause = match outcome {
        Outcome::Throttled {
            retry_after: Some(wait),
        } => Some(wait),
        _ if known_window || observation.pause.is_some() => None,
        Outcome::Throttled { retry_after: None } => Some(throttle_pause),
        _ if exhausted => Some(throttle_pause),
        _ => None,
    };
    observation.pause = observation.pause.max(pause);
    observation.pause = observation.pause.map(|p| p.min(max_pause));
    observation.reset = observation.reset.map(|r| r.min(max_pause));
    observation
}

impl<S, Req, C, H, St> Future for ResponseFuture<S, Req, C, H, St>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error>,
    H: ResponseSignals<S::Response>,
    St: RateLimitStore,
{
    type Output = Result<S::Response, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let ticket = &mut *this.ticket;
            let name = &ticket.shared.config.name;
            match this.state.as_mut().project() {
                StateProj::Acquiring { fut } | StateProj::Confirming { fut } => {
                    match ready!(fut.poll(cx)) {
                        Ok(Decision::Granted(grant)) => {
                            if let Some(quota) = grant.limit_changed {
                                telemetry::limit(name, &ticket.key, quota);
                            }
                            ticket.reservation = Some(grant.reservation);
                            if grant.wait.is_zero() {
                                this.state.set(State::Readying);
                            } else {
                                telemetry::waited(name, &ticket.key, grant.wait);
                                if this.budget.give_up_at.is_none() {
                                    let now = Instant::now();
                                    this.budget.give_up_at =
                                        Some(now.checked_add(this.budget.max_wait).unwrap_or(now));
                                }
                                this.state.set(State::Waiting {
                                    sleep: Box::pin(tokio::time::sleep(grant.wait)),
                                });
                            }
                        }
                        Ok(Decision::Denied { wait }) => {
                            telemetry::rejected(name, &ticket.key, wait);
                            return Poll::Ready(Err(RateLimited::new(wait).into()));
                        }
                        Err(error) => {
                            telemetry::store_error(name, &ticket.key, &error);
                            this.state.set(State::Readying);
                        }
                    }
                }
                StateProj::Waiting { sleep } => {
                    ready!(sleep.as_mut().poll(cx));
                    // A pause may have started while we slept: let the store confirm the slot.
                    match ticket.reservation.take() {
                        Some(reservation) => {
                            let max_wait = this.budget.give_up_at.map_or(Duration::ZERO, |at| {
                                at.saturating_duration_since(Instant::now())
                            });
                            let fut = ticket.shared.store.confirm(
                                &ticket.key,
                                ticket.quota,
                                reservation,
                                max_wait,
                            );
                            this.state.set(State::Confirming { fut });
                        }
                        None => this.state.set(State::Readying),
                    }
                }
                StateProj::Readying => match this.inner.poll_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(error)) => {
                        // Never sent: the permit goes back now rather than when we are dropped.
                        if let Some(reservation) = ticket.reservation.take() {
                            ticket.shared.store.release(&ticket.key, reservation);
                        }
                        return Poll::Ready(Err(error.into()));
                    }
                    Poll::Ready(Ok(())) => {
                        let request = this
                            .request
                            .take()
                            .expect("ResponseFuture polled after completion");
                        ticket.reservation = None;
                        let fut = this.inner.call(request);
                        this.state.set(State::Calling { fut });
                    }
                },
                StateProj::Calling { fut } => {
                    let result = ready!(fut.poll(cx));
                    let shared = &ticket.shared;
                    let outcome = shared.classifier.classify(&result);
                    let observed = match &result {
                        Ok(response) => shared.signals.observe(response),
                        Err(_) => Observation::default(),
                    };
                    let observation = with_throttle(
                        observed,
                        outcome,
                        shared.config.throttle_pause,
                        shared.config.max_pause,
                    );
                    let result = result.map_err(Into::into);
                    if observation.is_empty() {
                        return Poll::Ready(result);
                    }
                    tracing::trace!(service = %name, key = %ticket.key, ?observation, %outcome, "rate limiter: learning from a response");
                    let why = if outcome.is_throttled() {
                        "throttled"
                    } else if observation.remaining == Some(0) {
                        "remaining_exhausted"
                    } else {
                        "server_signal"
                    };
                    let fut = shared.store.observe(&ticket.key, ticket.quota, observation);
                    this.state.set(State::Observing {
                        fut,
                        result: Some(result),
                        why,
                    });
                }
                StateProj::Observing { fut, result, why } => {
                    let effect: Result<ObserveEffect, StoreError> = ready!(fut.poll(cx));
                    match effect {
                        Ok(effect) => {
                            if let Some(quota) = effect.limit_changed {
                                telemetry::limit(name, &ticket.key, quota);
                            }
                            if let Some(paused) = effect.paused_for {
                                telemetry::paused(name, &ticket.key, paused, why);
                            }
                        }
                        Err(error) => telemetry::store_error(name, &ticket.key, &error),
                    }
                    return Poll::Ready(
                        result
                            .take()
                            .expect("ResponseFuture polled after completion"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_without_hint_pauses_by_default() {
        let t = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        let throttled = Outcome::Throttled { retry_after: None };
        assert_eq!(
            with_throttle(Observation::default(), throttled, t, cap).pause,
            Some(t)
        );
        let hinted = Outcome::Throttled {
            retry_after: Some(Duration::from_secs(600)),
        };
        assert_eq!(
            with_throttle(Observation::default(), hinted, t, cap).pause,
            Some(cap)
        );
        let exhausted = Observation {
            remaining: Some(0),
            reset: Some(Duration::from_secs(3)),
            ..Observation::default()
        };
        assert_eq!(with_throttle(exhausted, throttled, t, cap).pause, None);
        assert!(with_throttle(Observation::default(), Outcome::Success, t, cap).is_empty());
        let no_window = Observation {
            remaining: Some(0),
            ..Observation::default()
        };
        assert_eq!(
            with_throttle(no_window, Outcome::Success, t, cap).pause,
            Some(t)
        );
        let some_left = Observation {
            remaining: Some(3),
            ..Observation::default()
        };
        assert_eq!(
            with_throttle(some_left, Outcome::Success, t, cap).pause,
            None
        );
    }
}
