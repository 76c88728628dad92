//! The GCRA Lua script and a typed way to call it.
//!
//! One script serves every store operation (`acquire`, `confirm`, `release`, `observe`), so each
//! one is a single atomic round trip. It keeps one Redis hash per [`RateKey`](resilience_ratelimit::RateKey):
//!
//! | field | meaning |
//! | --- | --- |
//! | `ep` | epoch the other fields count from (Unix seconds, a multiple of 30 days) |
//! | `tat` | theoretical arrival time (ns since `ep`) |
//! | `pu` | paused until (ns since `ep`, 0 = never paused) |
//! | `le`, `lb`, `lu` | learned quota: emission interval (ns), burst, valid until (0 = none) |
//!
//! and computes exactly what [`resilience_ratelimit::gcra`] and `InMemoryStore` compute, on the
//! Redis server's `TIME`. Lua numbers are doubles, so the arithmetic is exact for every value
//! below 2⁵³ ns (104 days): time counts from an epoch that moves every 30 days (fields written
//! under an older epoch are shifted when read), and waits, pauses and windows are clamped to
//! [`MAX_SPAN`]. Quotas whose tolerance (`interval × (burst − 1)`) exceeds 2⁵³ ns lose
//! precision (no real API has one). A key expires one second after it is idle again, since an
//! idle key's state equals a fresh key's.

use resilience_ratelimit::{Decision, Grant, Observation, Quota, Reservation};
use std::num::NonZeroU32;
use std::time::Duration;

/// The Lua source of the script.
pub const GCRA_LUA: &str = include_str!("gcra.lua");

/// The longest wait, pause or learned window sent to the script (30 days); longer ones are
/// clamped.
pub const MAX_SPAN: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Which clock the script reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptClock {
    /// The Redis server's `TIME` (what the store always uses).
    #[default]
    Server,
    /// A given instant: `now_ns` nanoseconds after `epoch_secs` (for tests and simulations).
    At {
        /// The epoch, in Unix seconds.
        epoch_secs: u64,
        /// Nanoseconds since the epoch.
        now_ns: u64,
    },
}

/// What `confirm` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The key was not paused since the reservation: it stands, send now.
    Kept,
    /// The key was paused meanwhile: the reservation was given back and a new one asked for.
    Requeued(Decision, Quota),
}

/// What `observe` changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// The quota in force after the observation.
    pub effective: Quota,
    /// How long the key is now paused for, when the observation started or extended a pause.
    pub paused_for: Option<Duration>,
}

/// An [`Observation`] turned into the script's arguments (the same rules as `InMemoryStore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserveArgs {
    /// Pause the key for this long (`remaining == 0` for the window, or an explicit pause).
    pub pause: Option<Duration>,
    /// The learned quota to store, if the response announced one.
    pub learn: Learn,
    /// Permits the server says are left (1 or more; 0 is the pause above).
    pub remaining: Option<u64>,
}

/// What to do with the key's learned quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learn {
    /// The response announced no quota: keep what is stored.
    Keep,
    /// The announced quota is stricter than the configured one: store it for `window`.
    Set {
        /// The learned quota.
        quota: Quota,
        /// How long it holds (from the end of any pause).
        window: Duration,
    },
    /// The announced quota is not stricter than the configured one: forget any learned one.
    Clear,
}

impl ObserveArgs {
    /// The arguments for `observation` under the configured `quota`.
    pub fn new(quota: Quota, observation: &Observation) -> Self {
        let window_pause = match observation.remaining {
            Some(0) => observation.window_end(),
            _ => None,
        };
        let pause = match (window_pause, observation.pause) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let learn = match observation.quota {
            None => Learn::Keep,
            Some(server) => {
                let emission = u64::try_from(
                    server
                        .window
                        .as_nanos()
                        .div_ceil(u128::from(server.max.max(1))),
                )
                .unwrap_or(u64::MAX);
                let burst = NonZeroU32::new(u32::try_from(server.max).unwrap_or(u32::MAX))
                    .unwrap_or(NonZeroU32::MIN);
                let learned = Quota::from_raw(emission, burst);
                if quota.strictest(learned) == quota {
                    Learn::Clear
                } else {
                    Learn::Set {
                        quota: learned,
                        window: server.window,
                    }
                }
            }
        };
        ObserveArgs {
            pause,
            learn,
            remaining: observation.remaining.filter(|r| *r > 0),
        }
    }
}

/// Nanoseconds of `d`, clamped to [`MAX_SPAN`].
pub(crate) fn span_ns(d: Duration) -> u64 {
    nanos(d.min(MAX_SPAN))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Largest integer sent to the script (2⁵³ − 1: exact in a Lua double).
const MAX_EXACT: u64 = (1 << 53) - 1;

/// The script, with a typed call for each operation.
#[derive(Debug, Clone)]
pub struct GcraScript {
    script: redis::Script,
}

impl Default for GcraScript {
    fn default() -> Self {
        Self::new()
    }
}

fn parse_err(what: &'static str) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Parse,
        "unexpected reply from the rate-limit script",
        what.to_owned(),
    ))
}

fn quota_of(emission: i64, burst: i64) -> Quota {
    Quota::from_raw(
        u64::try_from(emission).unwrap_or(1),
        NonZeroU32::new(u32::try_from(burst).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN),
    )
}

fn dur(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

fn decision(reply: &[i64]) -> Result<(Decision, Quota), redis::RedisError> {
    let [granted, wait, tat_after, emission, burst] = reply else {
        return Err(parse_err("acquire"));
    };
    let effective = quota_of(*emission, *burst);
    let decision = if *granted == 1 {
        Decision::Granted(Grant {
            wait: dur(*wait),
            reservation: Reservation::new(
                u64::try_from(*tat_after).unwrap_or(0),
                effective.emission_ns(),
            ),
            limit_changed: None,
        })
    } else {
        Decision::Denied { wait: dur(*wait) }
    };
    Ok((decision, effective))
}

impl GcraScript {
    /// The script (its SHA-1 is computed once; Redis loads it on first use).
    pub fn new() -> Self {
        Self {
            script: redis::Script::new(GCRA_LUA),
        }
    }

    fn invocation(
        &self,
        key: &str,
        op: &str,
        quota: Quota,
        clock: ScriptClock,
    ) -> redis::ScriptInvocation<'_> {
        let mut inv = self.script.key(key);
        inv.arg(op)
            .arg(quota.emission_ns().min(MAX_EXACT))
            .arg(quota.burst());
        match clock {
            ScriptClock::Server => inv.arg("").arg(""),
            ScriptClock::At { epoch_secs, now_ns } => inv.arg(epoch_secs).arg(now_ns),
        };
        inv
    }

    /// Reserves one permit of `key` within `max_wait` (see `RateLimitStore::acquire`); also
    /// returns the quota in force.
    ///
    /// A non-zero `floor` makes this permit wait at least that long, as if the key were paused
    /// for it (the store uses it after a fallback, so that the permits this process still has
    /// queued from its local limiter are not sent on top of new shared ones).
    ///
    /// # Errors
    ///
    /// The connection's error, or a parse error when the reply has an unexpected shape.
    pub async fn acquire<C: redis::aio::ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &str,
        quota: Quota,
        max_wait: Duration,
        floor: Duration,
        clock: ScriptClock,
    ) -> Result<(Decision, Quota), redis::RedisError> {
        let mut inv = self.invocation(key, "acquire", quota, clock);
        inv.arg(span_ns(max_wait)).arg(span_ns(floor));
        let reply: Vec<i64> = inv.invoke_async(conn).await?;
        decision(&reply)
    }

    /// Confirms `reservation` when a waiter wakes up (see `RateLimitStore::confirm`).
    ///
    /// # Errors
    ///
    /// The connection's error, or a parse error when the reply has an unexpected shape.
    pub async fn confirm<C: redis::aio::ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &str,
        quota: Quota,
        reservation: Reservation,
        max_wait: Duration,
        clock: ScriptClock,
    ) -> Result<Confirmed, redis::RedisError> {
        let mut inv = self.invocation(key, "confirm", quota, clock);
        inv.arg(reservation.tat_after().min(MAX_EXACT))
            .arg(reservation.emission_ns().min(MAX_EXACT))
            .arg(span_ns(max_wait));
        let reply: Vec<i64> = inv.invoke_async(conn).await?;
        if reply.first() == Some(&2) {
            return Ok(Confirmed::Kept);
        }
        let (decision, quota) = decision(&reply)?;
        Ok(Confirmed::Requeued(decision, quota))
    }

    /// Gives back an unused reservation; returns whether it was refunded (only the key's latest
    /// reservation is).
    ///
    /// # Errors
    ///
    /// The connection's error, or a parse error when the reply has an unexpected shape.
    pub async fn release<C: redis::aio::ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &str,
        reservation: Reservation,
        clock: ScriptClock,
    ) -> Result<bool, redis::RedisError> {
        // The quota is not used by a release; any valid one will do.
        let mut inv = self.invocation(key, "release", Quota::from_raw(1, NonZeroU32::MIN), clock);
        inv.arg(reservation.tat_after().min(MAX_EXACT))
            .arg(reservation.emission_ns().min(MAX_EXACT));
        let reply: Vec<i64> = inv.invoke_async(conn).await?;
        match reply.as_slice() {
            [refunded] => Ok(*refunded == 1),
            _ => Err(parse_err("release")),
        }
    }

    /// Applies what a response said (see `RateLimitStore::observe`).
    ///
    /// # Errors
    ///
    /// The connection's error, or a parse error when the reply has an unexpected shape.
    pub async fn observe<C: redis::aio::ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &str,
        quota: Quota,
        args: ObserveArgs,
        clock: ScriptClock,
    ) -> Result<Observed, redis::RedisError> {
        let mut inv = self.invocation(key, "observe", quota, clock);
        match args.pause {
            Some(p) => inv.arg(span_ns(p)),
            None => inv.arg(-1),
        };
        match args.learn {
            Learn::Keep => inv.arg("keep").arg(0).arg(0).arg(0),
            Learn::Set { quota, window } => inv
                .arg("set")
                .arg(quota.emission_ns().min(MAX_EXACT))
                .arg(quota.burst())
                .arg(span_ns(window)),
            Learn::Clear => inv.arg("clear").arg(0).arg(0).arg(0),
        };
        match args.remaining {
            Some(r) => inv.arg(r.min(MAX_EXACT)),
            None => inv.arg(-1),
        };
        let reply: Vec<i64> = inv.invoke_async(conn).await?;
        match reply.as_slice() {
            [emission, burst, paused_for] => Ok(Observed {
                effective: quota_of(*emission, *burst),
                paused_for: (*paused_for >= 0).then(|| dur(*paused_for)),
            }),
            _ => Err(parse_err("observe")),
        }
    }
}
