//! The request checks of RFC 9110 and RFC 9112 that hyper leaves to the application.
//!
//! hyper parses the message framing; these are the rules about header fields that it
//! lets through, each answered with the error envelope (and the usual headers) instead of
//! being ignored:
//!
//! * an HTTP/1.1 request without exactly one `Host` is refused with 400 (RFC 9112 §3.2);
//! * a transfer coding other than `chunked` (`Transfer-Encoding: gzip, chunked`) is not
//!   understood, so 501 (RFC 9112 §6.1); ignoring it would read compressed bytes as JSON;
//! * an `Expect` other than `100-continue` cannot be met, so 417 (RFC 9110 §10.1.1).
//!
//! Each of these answers closes the connection: the request body, if any, is not read,
//! and what follows it on the connection cannot be trusted to be a request.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, Version, header};

use super::error::ApiError;

/// Checks the request's protocol header fields; the error to answer when one is wrong.
pub fn check(req: &Request) -> Result<(), ApiError> {
    let headers = req.headers();
    if req.version() == Version::HTTP_11 && headers.get_all(header::HOST).iter().count() != 1 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_host",
            "an HTTP/1.1 request needs exactly one Host header (RFC 9112 section 3.2)",
        ));
    }
    if let Some(coding) = unknown_coding(headers) {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "unsupported_transfer_coding",
            format!(
                "the transfer coding '{}' is not supported; send the body with Content-Length or Transfer-Encoding: chunked alone",
                crate::text::shown(&coding)
            ),
        ));
    }
    for expect in headers.get_all(header::EXPECT) {
        if !expect.as_bytes().eq_ignore_ascii_case(b"100-continue") {
            return Err(ApiError::new(
                StatusCode::EXPECTATION_FAILED,
                "expectation_failed",
                "the only expectation this server meets is 'Expect: 100-continue'",
            ));
        }
    }
    Ok(())
}

/// The first transfer coding other than `chunked`, if any.
fn unknown_coding(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(|c| c.trim_ascii())
        .find(|c| !c.eq_ignore_ascii_case(b"chunked"))
        .map(|c| String::from_utf8_lossy(c).into_owned())
}
