//! The headers the server reads or sets beyond the standard ones, named once (a
//! `HeaderName` constant is looked up without parsing its name first).

use axum::http::HeaderName;

/// The response header naming the model that served a request (`sha256:<hex>`).
pub const MODEL_DIGEST: HeaderName = HeaderName::from_static("x-model-digest");
/// The request/response header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The Open Inference Protocol's binary data extension: the length of the JSON part of
/// a body, in a request or a response.
pub const BINARY_HEADER_LENGTH: HeaderName =
    HeaderName::from_static("inference-header-content-length");
