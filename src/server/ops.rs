//! The operational routes (liveness, readiness, the model's description, metrics) and
//! the answers for requests no route takes.

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, json_bytes, json_response};
use super::state::{AppState, ModelInfo};

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// The body of a successful `/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness<'a> {
    /// Always `ready`.
    pub status: &'static str,
    /// The id of the serving model.
    pub model: &'a str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn health() -> Response {
    json_response(StatusCode::OK, &Health { status: "ok" })
}

/// Readiness: 200 with the model id once a verified model is loaded, 503 from the start of
/// shutdown on.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "A verified model is loaded", body = Readiness),
        (status = 503, description = "Not ready (shutting down), with the reason", body = ErrorBody),
    ))]
pub async fn ready(State(state): State<AppState>) -> Response {
    if state.is_draining() {
        return ApiError::not_ready("shutting down: finishing in-flight requests").into_response();
    }
    let loaded = state.current();
    json_response(
        StatusCode::OK,
        &Readiness {
            status: "ready",
            model: &loaded.model.id,
        },
    )
}

/// The serving model's metadata, provenance and training metrics.
#[utoipa::path(get, path = "/model", tag = "operations",
    responses((status = 200, description = "The loaded model", body = ModelInfo)))]
pub async fn model(State(state): State<AppState>) -> Response {
    json_bytes(StatusCode::OK, state.current().model_json.clone())
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics in the OpenMetrics text format",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics().encode(),
    )
        .into_response()
}

/// 404 for a path no route matches.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

/// 405 for a path that exists, with a method it does not take (axum adds `Allow`).
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on '{}'; see the Allow header",
            uri.path()
        ),
    )
}
