//! The one error shape of the HTTP API.
//!
//! Every failure the service reports, from a malformed body to an unknown route, is an
//! [`ApiError`]: a status, a stable machine-readable `code`, a human message and optional
//! structured `details`. Rendering it is the only way handlers fail, so clients parse one
//! envelope (`{"error": {"code", "message", "details"}}`) and bad input can never turn into
//! a 5xx by accident. The Open Inference Protocol routes render the same value in the
//! protocol's own shape (`{"error": "message"}`) through [`V2Error`], because standard v2
//! clients read that field as a string.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A failed request: what to answer and why.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status (always 4xx, or 503 for an overloaded or draining server).
    pub status: StatusCode,
    /// A stable, machine-readable code such as `invalid_input`.
    pub code: &'static str,
    /// What went wrong and how to fix it, for a person.
    pub message: String,
    /// Structured context (row, feature, limits), when there is any.
    pub details: Option<Value>,
}

/// The JSON body of every error of the native API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `malformed_json`, `unsupported_media_type`,
    /// `invalid_input`, `payload_too_large`, `batch_too_large`, `not_found`,
    /// `method_not_allowed`, `request_timeout`, `overloaded` or `not_ready`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Structured context, e.g. `{"row": 0, "feature": "petal_width"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The error body of the Open Inference Protocol routes (`$inference_error_response`).
#[derive(Debug, Serialize, ToSchema)]
pub struct V2ErrorBody {
    /// The descriptive message for the error.
    pub error: String,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 422: the JSON is well-formed but does not describe valid input.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
    }

    /// 400: the body is not JSON.
    pub fn malformed_json(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    /// 413: more rows than `--max-batch`.
    pub fn batch_too_large(rows: usize, max: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("the batch has {rows} rows, more than the limit of {max}; split it into smaller batches"),
        )
        .with_details(serde_json::json!({"rows": rows, "max_batch": max}))
    }

    /// 404 for a path no route matches.
    pub fn not_found(path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for '{path}'; see /openapi.json for the routes this server has"),
        )
    }

    /// 503 while shutting down.
    pub fn not_ready(reason: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", reason)
    }

    /// The envelope as JSON text (for answers written below axum, where there is no
    /// `Response` to render into).
    pub(crate) fn json(&self) -> Vec<u8> {
        // Strings and JSON values always serialize.
        serde_json::to_vec(&self.body()).unwrap_or_default()
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// Serializes `value` as a JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    // Most answers (one prediction, an error) fit: the buffer is not grown piece by piece.
    let mut bytes = Vec::with_capacity(256);
    match serde_json::to_writer(&mut bytes, value) {
        Ok(()) => json_bytes(status, bytes),
        // Our own response types always serialize; never panic on a request path anyway.
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A response whose body is already-serialized JSON.
pub(crate) fn json_bytes(status: StatusCode, bytes: impl Into<axum::body::Body>) -> Response {
    let mut response = Response::new(bytes.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// An [`ApiError`] rendered in the Open Inference Protocol's error shape.
///
/// The protocol says failures are "typically 400"; validation failures that the native
/// API answers with 422 are answered with 400 here, while 404, 405, 408, 413, 415 and 503
/// keep their meaning.
#[derive(Debug)]
pub struct V2Error(pub ApiError);

impl From<ApiError> for V2Error {
    fn from(e: ApiError) -> Self {
        V2Error(e)
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let status = if self.0.status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            self.0.status
        };
        json_response(
            status,
            &V2ErrorBody {
                error: self.0.message,
            },
        )
    }
}
