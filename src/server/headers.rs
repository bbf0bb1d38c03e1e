//! The response headers every route may set, named once.

use axum::http::HeaderName;

/// The response header naming the model that served a request (`sha256:<hex>`).
pub const MODEL_DIGEST: HeaderName = HeaderName::from_static("x-model-digest");
/// The request/response header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
