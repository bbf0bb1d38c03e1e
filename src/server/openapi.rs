//! Every route of the service and its OpenAPI 3.1 document, from one list.
//!
//! Each handler is registered once, with utoipa-axum's `routes!`, which adds it to the
//! axum router and its `#[utoipa::path]` annotation (method, path, parameters, bodies,
//! responses) to the document together, so the two cannot disagree. Schemas are derived
//! from the request and response types the handlers really use. Every response declares
//! the `x-model-digest` and `x-request-id` headers the middleware adds to all of them.
//!
//! `GET /openapi.json` serves the document made concrete for the serving model
//! ([`for_model`]): the path parameters' examples are its name and version, and a row
//! has exactly its features, so that generated clients and fuzzers reach the model's
//! routes and valid-looking rows are valid.

use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::header::Header;
use utoipa::openapi::{Object, RefOr, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::json_bytes;
use super::headers::{MODEL_DIGEST, REQUEST_ID};
use super::state::{AppState, Loaded};
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
        .routes(routes!(v2::model_version_ready))
}

/// The routes that count against `--max-in-flight`.
fn limited_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(predict::predict))
        .routes(routes!(ops::model))
        .routes(routes!(openapi_json))
        .routes(routes!(v2::server_metadata))
        .routes(routes!(v2::model_metadata))
        .routes(routes!(v2::model_version_metadata))
        .routes(routes!(v2::infer))
        .routes(routes!(v2::infer_version))
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
    declare_headers(&mut document);
    Api {
        router,
        document,
        routes,
    }
}

/// Adds the headers every response carries to every response of the document.
fn declare_headers(document: &mut utoipa::openapi::OpenApi) {
    let string = || Object::with_type(Type::String);
    let header = |description: &str| {
        let mut header = Header::new(string());
        header.description = Some(description.to_owned());
        header
    };
    let digest = header("`sha256:<hex>` of the model file that served the request");
    let id = header(
        "The request's own x-request-id when it is 1-128 printable ASCII bytes, else one the server assigns",
    );
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    response
                        .headers
                        .insert(MODEL_DIGEST.as_str().to_owned(), digest.clone());
                    response
                        .headers
                        .insert(REQUEST_ID.as_str().to_owned(), id.clone());
                }
            }
        }
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

/// The document, as JSON, generated once.
fn generic() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(api().document).unwrap_or(Value::Null))
}

/// The serialized document made concrete for one model, kept for the model last asked
/// about (a reload makes a new one on the next request).
pub fn for_model(loaded: &Loaded) -> Bytes {
    static LAST: Mutex<Option<(String, Bytes)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((id, bytes)) = &*last {
        if *id == loaded.model.id {
            return bytes.clone();
        }
    }
    let mut doc = generic().clone();
    concrete(&mut doc, loaded);
    examples::fill(&mut doc, &loaded.model);
    let bytes: Bytes = serde_json::to_vec(&doc).unwrap_or_default().into();
    *last = Some((loaded.model.id.clone(), bytes.clone()));
    bytes
}

/// Sets the model's name and version as the path parameters' examples, the model's
/// features as the only ones a row has, and what a request body's schema cannot say
/// from the types alone: exactly one of `features` and `instances`, one v2 input
/// tensor of two dimensions, the output names.
fn concrete(doc: &mut Value, loaded: &Loaded) {
    examples(doc, loaded);
    rows(doc, loaded);
    let schemas = &mut doc["components"]["schemas"];
    let row = json!({"$ref": "#/components/schemas/Row"});
    let predict = &mut schemas["PredictRequest"];
    // A null field counts as absent, as in the reference service.
    let absent = json!({"type": "null"});
    predict["oneOf"] = json!([
        {"required": ["features"], "properties": {"features": row, "instances": absent}},
        {"required": ["instances"],
         "properties": {"instances": {"type": "array", "items": row}, "features": absent}},
    ]);
    let infer = &mut schemas["InferRequest"]["properties"];
    infer["inputs"]["minItems"] = json!(1);
    infer["inputs"]["maxItems"] = json!(1);
    schemas["InferInput"]["properties"]["shape"]["minItems"] = json!(2);
    schemas["InferInput"]["properties"]["shape"]["maxItems"] = json!(2);
    schemas["RequestedOutput"]["properties"]["name"]["enum"] =
        json!([super::v2_types::OUTPUT_NAME, super::v2_types::PROBABILITIES]);
}

/// The model's name and version as the path parameters' examples.
fn examples(doc: &mut Value, loaded: &Loaded) {
    let name = &loaded.model.metadata().name;
    let version = super::v2::version(loaded);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in operation.values_mut() {
                let params = op.get_mut("parameters").and_then(Value::as_array_mut);
                for param in params.into_iter().flatten() {
                    match param["name"].as_str() {
                        Some("name") => param["example"] = json!(name),
                        Some("version") => param["example"] = json!(version),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// A row has exactly the model's features.
fn rows(doc: &mut Value, loaded: &Loaded) {
    let features = loaded.features().names();
    // null is a missing value, which only some models take.
    let value = if loaded.model.accepts_missing() {
        json!({"type": ["number", "null"]})
    } else {
        json!({"type": "number"})
    };
    let properties: serde_json::Map<String, Value> = features
        .iter()
        .map(|f| (f.clone(), value.clone()))
        .collect();
    doc["components"]["schemas"]["Row"]["oneOf"] = json!([
        {"type": "array", "items": value, "minItems": features.len(), "maxItems": features.len(),
         "description": "Values in the model's feature order"},
        {"type": "object", "properties": properties, "required": features,
         "additionalProperties": false, "description": "Values by feature name"},
    ]);
}

/// This document, for the serving model.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this service", body = Object)))]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    json_bytes(StatusCode::OK, for_model(&state.current()))
}
