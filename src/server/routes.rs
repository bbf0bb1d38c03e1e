//! The route table, the router built from it, and the small operational handlers.
//!
//! Every route is declared once, in [`table`], with its method and path. The router is
//! built only from that table, and a test compares the table with the OpenAPI document
//! generated from the handlers' annotations: a route cannot be added without being
//! documented, nor documented without existing.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, json_bytes, json_response};
use super::state::{AppState, ModelInfo};
use super::{middleware, openapi, predict, v2};

/// One route: where it is, and whether it counts against `--max-in-flight`.
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path template, as axum and OpenAPI write it.
    pub path: &'static str,
    /// Probes and metrics stay answerable when the server is saturated; the rest is limited.
    pub limited: bool,
    handler: MethodRouter<AppState>,
}

fn route(
    method: Method,
    path: &'static str,
    limited: bool,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        limited,
        handler,
    }
}

/// Every route of the service.
pub fn table() -> Vec<Route> {
    use Method as M;
    vec![
        route(M::GET, "/health", false, get(health)),
        route(M::GET, "/ready", false, get(ready)),
        route(M::POST, "/predict", true, post(predict::predict)),
        route(M::GET, "/model", true, get(model)),
        route(M::GET, "/metrics", false, get(metrics)),
        route(M::GET, "/openapi.json", true, get(openapi_json)),
        route(M::GET, "/v2", true, get(v2::server_metadata)),
        route(M::GET, "/v2/health/live", false, get(v2::live)),
        route(M::GET, "/v2/health/ready", false, get(v2::ready)),
        route(M::GET, "/v2/models/{name}", true, get(v2::model_metadata)),
        route(
            M::GET,
            "/v2/models/{name}/ready",
            false,
            get(v2::model_ready),
        ),
        route(M::POST, "/v2/models/{name}/infer", true, post(v2::infer)),
    ]
}

/// The route label used in logs and metrics for requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The whole application: routes, fallbacks, limits and the observing middleware.
pub fn app(state: AppState) -> Router {
    let table = table();
    let labels: Vec<(&'static str, bool)> = table.iter().map(|r| (r.path, r.limited)).collect();
    let mut router = Router::new();
    for r in table {
        router = router.route(r.path, r.handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(
            middleware::Observe::new(state.clone(), labels),
            middleware::observe,
        ))
        .layer(DefaultBodyLimit::max(state.limits().max_body_bytes))
        .with_state(state)
}

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
    json_bytes(StatusCode::OK, &br#"{"status":"ok"}"#[..])
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

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this service", body = Object)))]
pub async fn openapi_json() -> Response {
    json_bytes(StatusCode::OK, openapi::json())
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on '{}'; see the Allow header",
            uri.path()
        ),
    )
}
