//! Helpers for response bodies.

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use resilience_core::BoxError;

/// Reads a response body back into one `Bytes`: the single frame of a whole (`Full`) body is
/// taken as it is, without copying or buffering, and reading stops as soon as the body says it
/// has ended (so a wrapping body such as tower-http's trace body is not polled once more).
///
/// Use it after a layer that wraps the transport's `Response<Bytes>` body in a body type of its
/// own (tower-http's `TraceLayer`), to get `Response<Bytes>` back.
///
/// # Errors
///
/// Returns the body's own error, boxed, if reading a frame fails.
pub async fn into_bytes<B>(response: Response<B>) -> Result<Response<Bytes>, BoxError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    let mut body = std::pin::pin!(body);
    let mut bytes = Bytes::new();
    let mut more: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(Into::into)?.into_data() else {
            continue;
        };
        match &mut more {
            None if bytes.is_empty() => bytes = data,
            None => {
                let mut buffer = bytes::BytesMut::from(std::mem::take(&mut bytes));
                buffer.extend_from_slice(&data);
                more = Some(buffer);
            }
            Some(buffer) => buffer.extend_from_slice(&data),
        }
        // A whole body ends with its one frame: not polling again saves the trace body's two
        // clock reads and its end-of-stream callback (which is `()`, so nothing is lost).
        if body.is_end_stream() {
            break;
        }
    }
    Ok(Response::from_parts(
        parts,
        more.map_or(bytes, bytes::BytesMut::freeze),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Frame;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn into_bytes_takes_one_frame_as_is_and_joins_several() {
        let one = Bytes::from_static(b"{\"id\":\"1\"}");
        let response = into_bytes(Response::new(Full::new(one.clone())))
            .await
            .unwrap();
        assert_eq!(response.body(), &one);
        assert_eq!(response.body().as_ptr(), one.as_ptr(), "not copied");

        let frames = futures_util::stream::iter([
            Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"ab"))),
            Ok(Frame::data(Bytes::from_static(b"cd"))),
            Ok(Frame::data(Bytes::from_static(b"e"))),
        ]);
        let response = into_bytes(Response::new(StreamBody::new(frames)))
            .await
            .unwrap();
        assert_eq!(response.body(), &Bytes::from_static(b"abcde"));
    }
}
