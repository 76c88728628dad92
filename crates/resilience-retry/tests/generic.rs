//! The layers over services that are not HTTP, and the deadline layer on its own.

use resilience_core::extensions::Deadline as DeadlineAt;
use resilience_core::{BoxError, NotSent, Outcome};
use resilience_retry::{
    Deadline, DeadlineExceeded, HasDeadline, Jitter, Replayable, RetryLayer, RetryPolicy,
    RetryableRequest,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

type Job = Replayable<u32>;

fn classify(result: &Result<u32, BoxError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

/// A job runner that fails its first `failures` attempts with `error()`.
fn runner(
    calls: Arc<AtomicUsize>,
    failures: usize,
    error: fn() -> BoxError,
) -> impl tower::Service<Job, Response = u32, Error = BoxError, Future: Send> + Clone {
    tower::service_fn(move |job: Job| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                Err(error())
            } else {
                Ok(job.into_inner() * 2)
            }
        }
    })
}

type Classifier = fn(&Result<u32, BoxError>) -> Outcome;

fn policy() -> RetryPolicy<Classifier> {
    RetryPolicy::builder("jobs")
        .classifier(classify as Classifier)
        .jitter(Jitter::None)
        .no_budget()
        .build()
        .unwrap()
}

fn reset() -> BoxError {
    "connection reset".into()
}

fn not_sent() -> BoxError {
    Box::new(NotSent::new())
}

#[tokio::test(start_paused = true)]
async fn idempotent_jobs_are_retried_with_a_closure_classifier() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = RetryLayer::new(policy()).layer(runner(calls.clone(), 2, reset));
    assert_eq!(svc.oneshot(Replayable::new(21)).await.unwrap(), 42);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_jobs_are_retried_only_when_not_sent() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = RetryLayer::new(policy()).layer(runner(calls.clone(), 1, reset));
    assert!(svc.oneshot(Replayable::non_idempotent(1)).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let calls = Arc::new(AtomicUsize::new(0));
    let svc = RetryLayer::new(policy()).layer(runner(calls.clone(), 1, not_sent));
    assert_eq!(
        svc.oneshot(Replayable::non_idempotent(5)).await.unwrap(),
        10
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A request type written by a user: replayable when small, idempotent when read-only.
#[derive(Clone)]
struct Query {
    sql: String,
    read_only: bool,
}

impl HasDeadline for Query {}

impl RetryableRequest for Query {
    fn try_clone(&self, max_replay_bytes: u64) -> Option<Self> {
        (self.sql.len() as u64 <= max_replay_bytes).then(|| self.clone())
    }

    fn is_idempotent(&self) -> bool {
        self.read_only
    }
}

#[tokio::test(start_paused = true)]
async fn a_user_request_type_follows_its_own_rules() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let db = tower::service_fn(move |_q: Query| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<u32, BoxError>("deadlock".into()) }
    });
    let policy = RetryPolicy::builder("db")
        .classifier(classify)
        .jitter(Jitter::None)
        .max_replay_bytes(16)
        .no_budget()
        .build()
        .unwrap();
    let svc = RetryLayer::new(policy).layer(db);
    let read = Query {
        sql: "SELECT 1".into(),
        read_only: true,
    };
    assert!(svc.clone().oneshot(read).await.is_err());
    assert_eq!(calls.swap(0, Ordering::SeqCst), 3, "read-only: retried");
    let write = Query {
        sql: "UPDATE t".into(),
        read_only: false,
    };
    assert!(svc.clone().oneshot(write).await.is_err());
    assert_eq!(calls.swap(0, Ordering::SeqCst), 1, "write: sent once");
    let long = Query {
        sql: "SELECT * FROM a_long_table".into(),
        read_only: true,
    };
    assert!(svc.oneshot(long).await.is_err());
    assert_eq!(
        calls.swap(0, Ordering::SeqCst),
        1,
        "too large to replay: sent once"
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_is_set_and_an_earlier_one_kept() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let inner = tower::service_fn(move |job: Job| {
        record.lock().unwrap().push(job.deadline());
        async { Ok::<u32, BoxError>(0) }
    });
    let svc = Deadline::new(inner, Duration::from_secs(5));
    let start = Instant::now();
    svc.clone().oneshot(Replayable::new(1)).await.unwrap();

    let mut early = Replayable::new(2);
    early.set_deadline(DeadlineAt(start.into_std() + Duration::from_secs(2)));
    svc.clone().oneshot(early).await.unwrap();

    let mut late = Replayable::new(3);
    late.set_deadline(DeadlineAt(start.into_std() + Duration::from_secs(50)));
    svc.oneshot(late).await.unwrap();

    let at = |secs| Some(DeadlineAt(start.into_std() + Duration::from_secs(secs)));
    assert_eq!(*seen.lock().unwrap(), vec![at(5), at(2), at(5)]);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_fails_a_slow_call_at_the_right_time() {
    let slow = tower::service_fn(|_: Job| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<u32, BoxError>(0)
    });
    let svc = Deadline::new(slow, Duration::from_secs(5));
    let start = Instant::now();
    let err = svc.oneshot(Replayable::new(1)).await.unwrap_err();
    assert_eq!(Instant::now() - start, Duration::from_secs(5));
    assert!(err.is::<DeadlineExceeded>());
    assert_eq!(err.to_string(), "deadline exceeded");

    // A caller's earlier deadline wins over the layer's timeout.
    let slow = tower::service_fn(|_: Job| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<u32, BoxError>(0)
    });
    let svc = Deadline::new(slow, Duration::from_secs(5));
    let start = Instant::now();
    let mut job = Replayable::new(1);
    job.set_deadline(DeadlineAt(start.into_std() + Duration::from_secs(1)));
    assert!(svc.oneshot(job).await.unwrap_err().is::<DeadlineExceeded>());
    assert_eq!(Instant::now() - start, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_passes_results_and_errors_through() {
    let ok = tower::service_fn(|j: Job| async move { Ok::<u32, std::io::Error>(j.into_inner()) });
    let svc = Deadline::new(ok, Duration::from_secs(5));
    assert_eq!(svc.oneshot(Replayable::new(9)).await.unwrap(), 9);
    let failing = tower::service_fn(|_: Job| async {
        Err::<u32, std::io::Error>(std::io::Error::other("boom"))
    });
    let err = Deadline::new(failing, Duration::from_secs(5))
        .oneshot(Replayable::new(9))
        .await
        .unwrap_err();
    assert!(err.is::<std::io::Error>());
    // A huge timeout does not overflow the clock.
    let ok = tower::service_fn(|j: Job| async move { Ok::<u32, BoxError>(j.into_inner()) });
    assert_eq!(
        Deadline::new(ok, Duration::MAX)
            .oneshot(Replayable::new(3))
            .await
            .unwrap(),
        3
    );
}
