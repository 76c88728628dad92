//! What a response says about the server's limit, and the HTTP header parsers.
//!
//! | header | read as |
//! | --- | --- |
//! | `X-HubSpot-RateLimit-Max` + `-Interval-Milliseconds` | learned quota: `max` per interval |
//! | `X-HubSpot-RateLimit-Remaining` | permits left in the current window (0 = pause for the interval) |
//! | `X-HubSpot-RateLimit-Daily-Remaining` | 0 = pause for [`HttpSignals::daily_exhausted_pause`] |
//! | `RateLimit-Policy: 100;w=10` or `"name";q=100;w=10` | learned quota (the policy with the shortest window) |
//! | `RateLimit: limit=100, remaining=5, reset=3` or `"name";r=5;t=3` | remaining and reset (the most constrained entry) |
//!
//! The IETF `RateLimit` headers are still a draft (**UNCONFIRMED** shapes): both the draft-7
//! dictionary form and the later structured-field form are read, and anything unreadable is
//! ignored (never an error). `Retry-After` is not read here: it arrives through the
//! classifier's [`Outcome::Throttled`](resilience_core::Outcome::Throttled).

use std::time::Duration;

/// The longest window or reset accepted from a header (one day); larger values are ignored.
pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// A limit the server announced: `max` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerQuota {
    /// Requests allowed per window (at least 1).
    pub max: u64,
    /// The window's length (non-zero, at most [`MAX_WINDOW`]).
    pub window: Duration,
}

/// Facts one response gave about the server's limit for its key. Every field is optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observation {
    /// The limit the server says applies.
    pub quota: Option<ServerQuota>,
    /// Requests still allowed in the current window.
    pub remaining: Option<u64>,
    /// Time until the current window resets.
    pub reset: Option<Duration>,
    /// Send nothing on this key for this long (a `Retry-After`, an exhausted daily limit).
    pub pause: Option<Duration>,
}

impl Observation {
    /// `true` when the response said nothing about the limit.
    pub fn is_empty(&self) -> bool {
        *self == Observation::default()
    }

    /// An observation that only pauses the key for `wait`.
    pub fn pause(wait: Duration) -> Self {
        Observation {
            pause: Some(wait),
            ..Observation::default()
        }
    }

    /// How long a pause caused by `remaining == 0` lasts: the reset, else the quota's window.
    pub fn window_end(&self) -> Option<Duration> {
        self.reset.or(self.quota.map(|q| q.window))
    }

    /// Combines two observations, keeping the more restrictive value of each field.
    pub fn merge(self, other: Observation) -> Observation {
        fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }
        let quota = match (self.quota, other.quota) {
            // The one with the longer interval per request is stricter.
            (Some(a), Some(b)) => {
                // Saturating: the fields are public, so a custom signal may send any window.
                let per_a = a.window.as_nanos().saturating_mul(u128::from(b.max));
                let per_b = b.window.as_nanos().saturating_mul(u128::from(a.max));
                Some(if per_a >= per_b { a } else { b })
            }
            (a, b) => a.or(b),
        };
        Observation {
            quota,
            remaining: min_opt(self.remaining, other.remaining),
            reset: max_opt(self.reset, other.reset),
            pause: max_opt(self.pause, other.pause),
        }
    }
}

/// Reads what a response says about the server's limit.
///
/// [`HttpSignals`] reads HTTP headers; [`NoSignals`] is for services whose responses say
/// nothing; any closure `Fn(&Res) -> Observation` works too.
pub trait ResponseSignals<Res> {
    /// The facts this response gives.
    fn observe(&self, response: &Res) -> Observation;
}

impl<Res, F> ResponseSignals<Res> for F
where
    F: Fn(&Res) -> Observation,
{
    fn observe(&self, response: &Res) -> Observation {
        self(response)
    }
}

/// Responses carry no limit information (non-HTTP services). Throttled outcomes from the
/// classifier still pause the key.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSignals;

impl<Res> ResponseSignals<Res> for NoSignals {
    fn observe(&self, _response: &Res) -> Observation {
        Observation::default()
    }
}

/// Reads HubSpot's `X-HubSpot-RateLimit-*` and the IETF `RateLimit`/`RateLimit-Policy` headers
/// (see the [module docs](self) for the table).
#[derive(Debug, Clone, Copy)]
pub struct HttpSignals {
    daily_exhausted_pause: Duration,
}

impl Default for HttpSignals {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpSignals {
    /// The default parser: an exhausted daily limit pauses the key for 60 s (the daily reset is
    /// at midnight in the account's time zone, which the headers do not give, so the key is
    /// re-probed once a minute).
    pub fn new() -> Self {
        Self {
            daily_exhausted_pause: Duration::from_secs(60),
        }
    }

    /// How long `X-HubSpot-RateLimit-Daily-Remaining: 0` pauses the key.
    pub fn daily_exhausted_pause(mut self, pause: Duration) -> Self {
        self.daily_exhausted_pause = pause;
        self
    }

    /// Reads the facts from a header map.
    pub fn observe_headers(&self, headers: &http::HeaderMap) -> Observation {
        if headers.is_empty() {
            return Observation::default();
        }
        hubspot(headers, self.daily_exhausted_pause).merge(ietf(headers))
    }
}

impl<B> ResponseSignals<http::Response<B>> for HttpSignals {
    fn observe(&self, response: &http::Response<B>) -> Observation {
        self.observe_headers(response.headers())
    }
}

use http::HeaderName;

const HS_MAX: HeaderName = HeaderName::from_static("x-hubspot-ratelimit-max");
const HS_INTERVAL: HeaderName =
    HeaderName::from_static("x-hubspot-ratelimit-interval-milliseconds");
const HS_REMAINING: HeaderName = HeaderName::from_static("x-hubspot-ratelimit-remaining");
const HS_DAILY_REMAINING: HeaderName =
    HeaderName::from_static("x-hubspot-ratelimit-daily-remaining");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

fn header_u64(headers: &http::HeaderMap, name: &HeaderName) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn window(d: Duration) -> Option<Duration> {
    (!d.is_zero() && d <= MAX_WINDOW).then_some(d)
}

fn hubspot(headers: &http::HeaderMap, daily_pause: Duration) -> Observation {
    let max = header_u64(headers, &HS_MAX);
    let interval =
        header_u64(headers, &HS_INTERVAL).and_then(|ms| window(Duration::from_millis(ms)));
    let quota = match (max, interval) {
        (Some(max), Some(window)) if max > 0 => Some(ServerQuota { max, window }),
        _ => None,
    };
    let mut remaining = header_u64(headers, &HS_REMAINING);
    // A window of max 0 allows nothing: treat as nothing remaining.
    if max == Some(0) {
        remaining = Some(0);
    }
    let pause = match header_u64(headers, &HS_DAILY_REMAINING) {
        Some(0) => Some(daily_pause),
        _ => None,
    };
    Observation {
        quota,
        remaining,
        // HubSpot's window is rolling: the reset is not given, so a pause lasts one interval.
        reset: None,
        pause,
    }
}

/// One parsed list item: an optional leading bare integer (draft-7 policy) and its parameters.
struct Item<'a> {
    lead_number: Option<u64>,
    params: Vec<(&'a str, &'a str)>,
}

impl Item<'_> {
    fn param(&self, name: &str) -> Option<u64> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.trim_matches('"').parse().ok())
    }
}

fn items(value: &str) -> Vec<Item<'_>> {
    value
        .split(',')
        .map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let head = parts.next().unwrap_or("");
            let (lead_number, mut params) = match head.split_once('=') {
                // draft-7 `RateLimit: limit=100, remaining=5, reset=3` (a dictionary entry)
                Some((k, v)) => (None, vec![(k.trim(), v.trim())]),
                None => (head.parse().ok(), Vec::new()),
            };
            params
                .extend(parts.filter_map(|p| p.split_once('=').map(|(k, v)| (k.trim(), v.trim()))));
            Item {
                lead_number,
                params,
            }
        })
        .collect()
}

fn joined(headers: &http::HeaderMap, name: &HeaderName) -> Option<String> {
    let mut out: Option<String> = None;
    for value in headers.get_all(name) {
        let Ok(text) = value.to_str() else { continue };
        match &mut out {
            Some(s) => {
                s.push(',');
                s.push_str(text);
            }
            None => out = Some(text.to_owned()),
        }
    }
    out
}

fn ietf(headers: &http::HeaderMap) -> Observation {
    let mut obs = Observation::default();
    if let Some(policy) = joined(headers, &RATELIMIT_POLICY) {
        // The policy with the shortest window is the one that paces requests.
        obs.quota = items(&policy)
            .iter()
            .filter_map(|item| {
                let max = item.param("q").or(item.lead_number)?;
                let window = window(Duration::from_secs(item.param("w")?))?;
                (max > 0).then_some(ServerQuota { max, window })
            })
            .min_by_key(|q| q.window);
    }
    if let Some(limit) = joined(headers, &RATELIMIT) {
        let parsed = items(&limit);
        let dictionary = parsed
            .iter()
            .any(|i| i.param("remaining").is_some() || i.param("limit").is_some());
        if dictionary {
            let find = |name: &str| parsed.iter().find_map(|i| i.param(name));
            obs.remaining = find("remaining");
            obs.reset = find("reset").and_then(|s| window(Duration::from_secs(s)));
        } else {
            // Structured form: the most constrained entry wins.
            if let Some(item) = parsed
                .iter()
                .filter(|i| i.param("r").is_some())
                .min_by_key(|i| i.param("r"))
            {
                obs.remaining = item.param("r");
                obs.reset = item.param("t").and_then(|s| window(Duration::from_secs(s)));
            }
        }
    }
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn observe(pairs: &[(&str, &str)]) -> Observation {
        HttpSignals::new().observe_headers(&headers(pairs))
    }

    #[test]
    fn hubspot_headers() {
        let o = observe(&[
            ("X-HubSpot-RateLimit-Max", "100"),
            ("X-HubSpot-RateLimit-Remaining", "42"),
            ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
            ("X-HubSpot-RateLimit-Daily", "250000"),
            ("X-HubSpot-RateLimit-Daily-Remaining", "1000"),
        ]);
        assert_eq!(
            o.quota,
            Some(ServerQuota {
                max: 100,
                window: Duration::from_secs(10)
            })
        );
        assert_eq!(o.remaining, Some(42));
        assert_eq!(o.pause, None);
        assert_eq!(o.window_end(), Some(Duration::from_secs(10)));
        let daily = observe(&[("x-hubspot-ratelimit-daily-remaining", "0")]);
        assert_eq!(daily.pause, Some(Duration::from_secs(60)));
    }

    #[test]
    fn ietf_draft7_dictionary_form() {
        let o = observe(&[
            ("RateLimit", "limit=100, remaining=7, reset=3"),
            ("RateLimit-Policy", "100;w=10, 1000;w=3600"),
        ]);
        assert_eq!(
            o.quota,
            Some(ServerQuota {
                max: 100,
                window: Duration::from_secs(10)
            })
        );
        assert_eq!(o.remaining, Some(7));
        assert_eq!(o.reset, Some(Duration::from_secs(3)));
    }

    #[test]
    fn ietf_structured_field_form() {
        let o = observe(&[
            ("RateLimit", "\"burst\";r=30;t=4, \"daily\";r=2;t=7200"),
            (
                "RateLimit-Policy",
                "\"burst\";q=100;w=60, \"daily\";q=1000;w=86400",
            ),
        ]);
        assert_eq!(
            o.quota,
            Some(ServerQuota {
                max: 100,
                window: Duration::from_secs(60)
            })
        );
        assert_eq!(o.remaining, Some(2));
        assert_eq!(o.reset, Some(Duration::from_secs(7200)));
        let tokens = observe(&[("RateLimit", "default;r=0;t=5")]);
        assert_eq!(tokens.remaining, Some(0));
        assert_eq!(tokens.window_end(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn garbage_is_ignored_never_an_error() {
        for (name, value) in [
            ("RateLimit", ";;;,,,=="),
            ("RateLimit", "limit=abc, remaining=-1, reset=1e9999"),
            ("RateLimit", "\"x\";r=;t=\"\""),
            ("RateLimit-Policy", "q=;w=0"),
            ("RateLimit-Policy", "0;w=10"),
            ("RateLimit-Policy", "10;w=99999999999999999999"),
            ("X-HubSpot-RateLimit-Max", "lots"),
            (
                "X-HubSpot-RateLimit-Interval-Milliseconds",
                "18446744073709551615",
            ),
            ("X-HubSpot-RateLimit-Remaining", " "),
        ] {
            let o = observe(&[(name, value)]);
            assert_eq!(o.quota, None, "{name}: {value}");
            assert_eq!(o.pause, None, "{name}: {value}");
        }
        let non_utf8 = {
            let mut m = http::HeaderMap::new();
            m.insert(
                "ratelimit",
                http::HeaderValue::from_bytes(&[0xff, 0xfe]).unwrap(),
            );
            m
        };
        assert!(HttpSignals::new().observe_headers(&non_utf8).is_empty());
        // reset values that look like epoch timestamps are ignored
        let epoch = observe(&[("RateLimit", "limit=10, remaining=0, reset=1767225600")]);
        assert_eq!(epoch.remaining, Some(0));
        assert_eq!(epoch.reset, None);
    }

    #[test]
    fn merge_keeps_the_strictest() {
        let a = Observation {
            quota: Some(ServerQuota {
                max: 100,
                window: Duration::from_secs(10),
            }),
            remaining: Some(5),
            reset: None,
            pause: None,
        };
        let b = Observation {
            quota: Some(ServerQuota {
                max: 5,
                window: Duration::from_secs(1),
            }),
            remaining: Some(9),
            reset: Some(Duration::from_secs(2)),
            pause: Some(Duration::from_secs(1)),
        };
        let m = a.merge(b);
        assert_eq!(m.quota, b.quota);
        // Extreme values from a custom signal compare without overflowing.
        let huge = |max| Observation {
            quota: Some(ServerQuota {
                max,
                window: Duration::MAX,
            }),
            ..Observation::default()
        };
        assert_eq!(huge(1).merge(huge(u64::MAX)).quota, huge(1).quota);
        assert_eq!(huge(u64::MAX).merge(huge(1)).quota, huge(1).quota);
        assert_eq!(m.remaining, Some(5));
        assert_eq!(m.reset, Some(Duration::from_secs(2)));
        assert_eq!(m.pause, Some(Duration::from_secs(1)));
    }
}
