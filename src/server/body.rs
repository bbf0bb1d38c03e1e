//! Receiving a request body in full, bounded in size and in time, before the request is
//! handled.
//!
//! The middleware reads the body of every concurrency-limited request *before* it takes
//! a permit of `--max-in-flight`: a client that uploads one byte per second then holds a
//! connection and at most `--max-body-bytes` of memory, never a permit, so slow uploads
//! cannot take the service away from fast clients. Receiving the body has its own time
//! budget (`--request-timeout-ms`, 408 beyond), and answering has another.
//!
//! A body over the size limit, or one that breaks off, is not answered here: the outcome
//! travels in the request's extensions as a [`Received`] to the extractor that reads the
//! body ([`take`]), so each route reports a failure in its own error shape (the native
//! envelope, or the Open Inference Protocol's), and a body in memory is handed over as
//! it is, without being collected a second time.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;

/// What [`receive`] got: the body, or why it could not be received.
#[derive(Debug, Clone)]
pub struct Received(pub Result<Bytes, ApiError>);

/// The body [`receive`] got for `req`, if it ran: extractors take it from here.
pub fn take(req: &mut Request) -> Option<Result<Bytes, ApiError>> {
    req.extensions_mut().remove::<Received>().map(|r| r.0)
}

/// 413 for a body over `--max-body-bytes`.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is larger than the server's limit (--max-body-bytes); send fewer rows per request",
    )
}

/// 400 for a body that broke off (the client went away, or sent broken chunks).
pub fn broken(reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_body",
        format!("cannot read the request body: {reason}"),
    )
}

/// Receives `req`'s body, at most `max` bytes within `timeout`, and returns the request
/// with the body in memory and, for [`take`], in a [`Received`] in the extensions: a body
/// too large or broken leaves an empty body and its error there. Only a timeout is an
/// `Err` (a 408 to answer at once).
pub async fn receive(req: Request, max: usize, timeout: Duration) -> Result<Request, ApiError> {
    let (mut parts, body) = req.into_parts();
    // A declared length over the limit is refused before a byte is read.
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let received = if declared.is_some_and(|n| n > max as u64) {
        Err(too_large())
    } else {
        match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
            Err(_) => return Err(timed_out(timeout)),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
            Ok(Err(e)) => Err(broken(e)),
        }
    };
    let body = match &received {
        Ok(bytes) => Body::from(bytes.clone()),
        Err(_) => Body::empty(),
    };
    parts.extensions.insert(Received(received));
    Ok(Request::from_parts(parts, body))
}

/// 408 for a body that did not arrive in time.
fn timed_out(timeout: Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request body was not received within {} ms (--request-timeout-ms)",
            timeout.as_millis()
        ),
    )
}
