//! [`decode_json`] and [`DecodeError`]: a success body into a type, or the path that failed.

use super::excerpt;
use super::{ApiError, HttpError};
use http::{Response, StatusCode};
use serde::de::DeserializeOwned;
use std::fmt;

/// How many bytes of the body a [`DecodeError`] shows on each side of the failure.
const EXCERPT_RADIUS: usize = 120;

/// A success body did not decode into the expected type.
///
/// Names the JSON path that failed (for example `results[3].properties.createdate`, found
/// with `serde_path_to_error`) and keeps a short excerpt of the body around the failure. Its
/// `source()` is the `serde_json` error (with line and column).
#[derive(Debug)]
pub struct DecodeError {
    status: StatusCode,
    path: String,
    excerpt: String,
    correlation_id: Option<String>,
    source: serde_json::Error,
}

impl DecodeError {
    /// The status of the response whose body failed to decode.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON path that failed (`.` for the whole body).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Up to 120 bytes of the body on each side of the failure, `…` marking cuts.
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }

    /// The response's `X-HubSpot-Correlation-Id` or `x-request-id`, when present.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to decode the response body at `{}`", self.path)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Decodes a JSON response: a 2xx body into `T`, anything else into [`HttpError::Api`].
///
/// An empty (or all-whitespace) success body decodes as JSON `null`, so `()` and `Option<_>`
/// fit a `204 No Content`.
///
/// # Errors
///
/// - [`HttpError::Api`] for a status outside 2xx, with the API's error body read by
///   [`ApiError::from_response`].
/// - [`HttpError::Decode`] when a 2xx body is not valid JSON for `T`, or has trailing data.
pub fn decode_json<T>(response: &Response<impl AsRef<[u8]>>) -> Result<T, HttpError>
where
    T: DeserializeOwned,
{
    if !response.status().is_success() {
        return Err(HttpError::Api(ApiError::from_response(response)));
    }
    let body = response.body().as_ref();
    let input: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    let fail = |path: String, source: serde_json::Error| {
        let at = excerpt::offset_of(input, source.line(), source.column());
        DecodeError {
            status: response.status(),
            path,
            excerpt: excerpt::around(input, at, EXCERPT_RADIUS),
            correlation_id: header_id(response.headers()),
            source,
        }
    };
    let mut deserializer = serde_json::Deserializer::from_slice(input);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| fail(error.path().to_string(), error.into_inner()))?;
    deserializer
        .end()
        .map_err(|error| fail(".".to_owned(), error))?;
    Ok(value)
}

fn header_id(headers: &http::HeaderMap) -> Option<String> {
    ["x-hubspot-correlation-id", "x-request-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(|id| excerpt::head(id.as_bytes(), 128))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Page {
        results: Vec<Contact>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Contact {
        id: u64,
        properties: Properties,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Properties {
        email: String,
    }

    fn response(status: u16, body: &str) -> Response<Bytes> {
        Response::builder()
            .status(status)
            .header("x-hubspot-correlation-id", "corr-7")
            .body(Bytes::copy_from_slice(body.as_bytes()))
            .expect("response")
    }

    #[test]
    fn decodes_a_success_body() {
        let page: Page = decode_json(&response(
            200,
            r#"{"results":[{"id":1,"properties":{"email":"a@b.c"}}]}"#,
        ))
        .expect("decodes");
        assert_eq!(page.results[0].properties.email, "a@b.c");
    }

    #[test]
    fn reports_the_failing_path_and_an_excerpt() {
        let body = r#"{"results":[{"id":1,"properties":{"email":"a@b.c"}},{"id":2,"properties":{"email":42}}]}"#;
        let err = decode_json::<Page>(&response(200, body)).expect_err("bad type");
        let HttpError::Decode(decode) = &err else {
            panic!("expected Decode, got {err:?}");
        };
        assert_eq!(decode.path(), "results[1].properties.email");
        assert!(
            decode.excerpt().contains(r#""email":42"#),
            "{}",
            decode.excerpt()
        );
        assert_eq!(decode.status(), StatusCode::OK);
        assert_eq!(decode.correlation_id(), Some("corr-7"));
        assert_eq!(
            err.to_string(),
            "failed to decode the response body at `results[1].properties.email`"
        );
        assert!(!err.is_retryable());
        assert_eq!(err.status(), Some(StatusCode::OK));
        let source = std::error::Error::source(decode).expect("serde error kept");
        assert!(source.to_string().contains("invalid type"), "{source}");
    }

    #[test]
    fn malformed_and_trailing_json_are_decode_errors() {
        let err = decode_json::<Page>(&response(200, "<html>oops</html>")).expect_err("html");
        assert!(matches!(err, HttpError::Decode(_)), "{err:?}");
        let err = decode_json::<u32>(&response(200, "1 2")).expect_err("trailing");
        let HttpError::Decode(decode) = err else {
            panic!("expected Decode");
        };
        assert_eq!(decode.path(), ".");
        // A long body's excerpt stays short.
        let long = format!(r#"{{"results":[{}"#, "1,".repeat(10_000));
        let err = decode_json::<Page>(&response(200, &long)).expect_err("bad");
        let HttpError::Decode(decode) = err else {
            panic!("expected Decode");
        };
        assert!(decode.excerpt().len() <= 2 * EXCERPT_RADIUS + 2 * '…'.len_utf8());
    }

    #[test]
    fn empty_success_body_is_null() {
        decode_json::<()>(&response(204, "")).expect("unit from empty body");
        assert_eq!(
            decode_json::<Option<Page>>(&response(200, "  ")).expect("none"),
            None
        );
    }

    #[test]
    fn non_success_is_an_api_error() {
        let err =
            decode_json::<Page>(&response(404, r#"{"message":"not found"}"#)).expect_err("404");
        let HttpError::Api(api) = &err else {
            panic!("expected Api, got {err:?}");
        };
        assert_eq!(api.message(), Some("not found"));
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(err.correlation_id(), Some("corr-7"));
        // Redirects are not followed and are not success either.
        assert!(matches!(
            decode_json::<Page>(&response(302, "")),
            Err(HttpError::Api(_))
        ));
    }
}
