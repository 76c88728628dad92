//! `Retry-After` parsing (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
//!
//! Garbage is an error, never a panic; a date in the past is a zero wait.

use http::HeaderValue;
use std::fmt;
use std::time::{Duration, SystemTime};

/// The longest wait `parse` returns (one day), whether the header gave delta-seconds or an
/// HTTP-date; larger waits are clamped to it, so a hostile header cannot ask for an overflow or
/// a wait of years.
pub const MAX_DELTA: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a `Retry-After` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRetryAfter {
    excerpt: String,
}

impl fmt::Display for InvalidRetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid Retry-After value {:?}: expected delta-seconds or an HTTP-date",
            self.excerpt
        )
    }
}

impl std::error::Error for InvalidRetryAfter {}

/// Parses a `Retry-After` header value into a wait measured from `now`.
///
/// Accepts a non-negative integer number of seconds, or an HTTP-date in any of the three
/// formats RFC 9110 allows (a date before `now` gives zero); either is clamped to
/// [`MAX_DELTA`].
/// Fractional seconds are accepted too, since some servers send them.
///
/// # Errors
///
/// Returns [`InvalidRetryAfter`] for anything else: negative numbers, words, an empty value,
/// bytes that are not visible ASCII.
pub fn parse(value: &HeaderValue, now: SystemTime) -> Result<Duration, InvalidRetryAfter> {
    let invalid = || InvalidRetryAfter {
        excerpt: String::from_utf8_lossy(&value.as_bytes()[..value.len().min(64)]).into_owned(),
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        // Delta-seconds; a value too long for u64 is clamped like any other huge value.
        let secs = text.parse::<u64>().unwrap_or(u64::MAX);
        return Ok(Duration::from_secs(secs).min(MAX_DELTA));
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && text.matches('.').count() == 1 {
        let secs: f64 = text.parse().map_err(|_| invalid())?;
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs.min(MAX_DELTA.as_secs_f64())));
        }
        return Err(invalid());
    }
    let at = httpdate::parse_http_date(text).map_err(|_| invalid())?;
    Ok(at
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .min(MAX_DELTA))
}

/// Reads the `Retry-After` header of a response's headers, if present and valid.
///
/// An absent or invalid header gives `None`: a bad hint falls back to the caller's own backoff.
pub fn from_headers(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| parse(v, now).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse(&hv("0"), at(0)), Ok(Duration::ZERO));
        assert_eq!(parse(&hv("120"), at(0)), Ok(Duration::from_secs(120)));
        assert_eq!(parse(&hv(" 7 "), at(0)), Ok(Duration::from_secs(7)));
        assert_eq!(parse(&hv("1.5"), at(0)), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn huge_values_are_clamped_not_overflowed() {
        assert_eq!(
            parse(&hv("99999999999999999999999999"), at(0)),
            Ok(MAX_DELTA)
        );
        assert_eq!(parse(&hv("864000"), at(0)), Ok(MAX_DELTA));
    }

    #[test]
    fn far_future_dates_are_clamped_like_delta_seconds() {
        // Year 9999: about 8000 years, more nanoseconds than a u64 holds.
        assert_eq!(
            parse(&hv("Fri, 31 Dec 9999 23:59:59 GMT"), at(0)),
            Ok(MAX_DELTA)
        );
        // Just under a day is kept as is.
        let now = at(784_111_777 - 3600);
        assert_eq!(
            parse(&hv("Sun, 06 Nov 1994 08:49:37 GMT"), now),
            Ok(Duration::from_secs(3600))
        );
    }

    #[test]
    fn http_dates_in_all_three_formats() {
        // 1994-11-06T08:49:37Z = 784111777
        let now = at(784_111_777 - 30);
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse(&hv(form), now), Ok(Duration::from_secs(30)), "{form}");
        }
    }

    #[test]
    fn past_dates_mean_no_wait() {
        let now = at(784_111_777 + 100);
        assert_eq!(
            parse(&hv("Sun, 06 Nov 1994 08:49:37 GMT"), now),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "soon",
            "-5",
            "1.2.3",
            "12abc",
            "Sun, 99 Nov 1994 08:49:37 GMT",
            ".",
        ] {
            let err = parse(&hv(bad), at(0)).unwrap_err();
            assert!(err.to_string().contains("invalid Retry-After"), "{bad}");
        }
        let non_utf8 = HeaderValue::from_bytes(&[0xff, 0xfe]).unwrap();
        assert!(parse(&non_utf8, at(0)).is_err());
    }

    #[test]
    fn from_headers_ignores_missing_and_invalid() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(from_headers(&headers, at(0)), None);
        headers.insert(http::header::RETRY_AFTER, hv("nope"));
        assert_eq!(from_headers(&headers, at(0)), None);
        headers.insert(http::header::RETRY_AFTER, hv("3"));
        assert_eq!(from_headers(&headers, at(0)), Some(Duration::from_secs(3)));
    }
}
