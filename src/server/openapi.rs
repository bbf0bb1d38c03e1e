//! Every route of the service and its OpenAPI 3.1 document, from one list.
//!
//! Each handler is registered once, with utoipa-axum's `routes!`, which adds it to the
//! axum router and its `#[utoipa::path]` annotation (method, path, parameters, bodies,
//! responses) to the document together, so the two cannot disagree. Schemas are derived
//! from the request and response types the handlers really use. `GET /openapi.json`
//! serves the document.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::json_bytes;
use super::state::AppState;
use super::{examples, ops, predict, v2};

/// The document's root: what the routes do not say themselves.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mlops",
        description = "Predictions from a random forest trained by `mlops train`, with honest health checks, \
            Prometheus metrics and an Open Inference Protocol (KServe v2) subset. Every response carries \
            `x-model-digest` (the serving model's sha256) and `x-request-id` (echoed or assigned).",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "predict", description = "Predictions (reference-compatible)"),
        (name = "operations", description = "Health, readiness, model, metrics, this document"),
        (name = "open-inference-v2", description = "Open Inference Protocol (KServe v2) subset"),
    )
)]
struct ApiDoc;

/// The routes exempt from `--max-in-flight`: probes and `/metrics`, so that a saturated
/// server still tells the truth about itself.
fn exempt_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ops::health))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
        .routes(routes!(v2::live))
        .routes(routes!(v2::ready))
        .routes(routes!(v2::model_ready))
}

/// The routes that count against `--max-in-flight`.
fn limited_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(predict::predict))
        .routes(routes!(ops::model))
        .routes(routes!(openapi_json))
        .routes(routes!(v2::server_metadata))
        .routes(routes!(v2::model_metadata))
        .routes(routes!(v2::infer))
}

/// One route of the service.
#[derive(Debug, Clone)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path template, as axum and OpenAPI write it.
    pub path: String,
    /// Whether it counts against `--max-in-flight`.
    pub limited: bool,
}

/// The routes, as a router and as a document.
pub struct Api {
    /// Every route, with no fallbacks or middleware yet.
    pub router: Router<AppState>,
    /// The OpenAPI document of those routes.
    pub document: utoipa::openapi::OpenApi,
    /// The routes, listed.
    pub routes: Vec<Route>,
}

/// Builds the router and the document from the route lists.
pub fn api() -> Api {
    let exempt = exempt_routes();
    let limited = limited_routes();
    let mut routes = listed(exempt.get_openapi(), false);
    routes.extend(listed(limited.get_openapi(), true));
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(exempt)
        .merge(limited)
        .split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    Api {
        router,
        document,
        routes,
    }
}

/// The operations of a document, as routes.
fn listed(document: &utoipa::openapi::OpenApi, limited: bool) -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, item) in &document.paths.paths {
        let operations = [
            (Method::GET, &item.get),
            (Method::PUT, &item.put),
            (Method::POST, &item.post),
            (Method::DELETE, &item.delete),
            (Method::OPTIONS, &item.options),
            (Method::HEAD, &item.head),
            (Method::PATCH, &item.patch),
            (Method::TRACE, &item.trace),
        ];
        for (method, operation) in operations {
            if operation.is_some() {
                routes.push(Route {
                    method,
                    path: path.clone(),
                    limited,
                });
            }
        }
    }
    routes
}

/// The serialized document, generated once.
pub fn json() -> Bytes {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::to_vec(&api().document)
            .expect("the OpenAPI document serializes")
            .into()
    })
    .clone()
}

/// This document, with the serving model's examples.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this service", body = Object)))]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    json_bytes(
        StatusCode::OK,
        examples::document(&json(), &state.current()),
    )
}
