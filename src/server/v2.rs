//! The Open Inference Protocol (KServe v2) REST subset, so that standard v2 clients work
//! unchanged: server metadata, liveness, readiness, model metadata, model readiness and
//! inference.
//!
//! The model takes one input tensor of shape `[N, features]` (FP64 or FP32; integer types
//! are accepted and widened) with data flat or nested, row-major, and returns one `BYTES`
//! output tensor `label` of shape `[N]` holding class names. The model name in the path is
//! the one recorded in the model file (`GET /model` → `metadata.name`). Errors use the
//! protocol's `{"error": "<message>"}` shape, with status 400 for invalid requests, 404 for
//! an unknown model, 413 for oversize input and 503 while not ready.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, V2Error, V2ErrorBody, json_bytes, json_response};
use super::headers::{MODEL_DIGEST, REQUEST_ID};
use super::json::JsonBody;
use super::rows::{check_rows, check_tensor};
use super::state::{AppState, Loaded};
use super::v2_types::{
    InferInput, InferRequest, InferResponse, Live, ModelMetadataV2, ModelReady, OUTPUT_NAME,
    OutputData, PROBABILITIES, Ready, ResponseOutput, ServerMetadata,
};

/// Checks the `{name}` of the path against the model of the request's snapshot
/// (`loaded`), so that the name checked and the model used are the same even while a
/// reload swaps models.
fn model_name(
    loaded: &Loaded,
    path: Result<Path<String>, PathRejection>,
) -> Result<String, V2Error> {
    let Path(name) = path.map_err(|e| {
        V2Error(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            e.body_text(),
        ))
    })?;
    let serving = &loaded.model.metadata().name;
    if name != *serving {
        return Err(V2Error(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("unknown model '{name}'; this server serves '{serving}'"),
        )));
    }
    Ok(name)
}

/// 200 when ready, 503 once shutdown has begun (both readiness routes).
fn readiness_status(ready: bool) -> StatusCode {
    if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Server metadata.
#[utoipa::path(get, path = "/v2", tag = "open-inference-v2", operation_id = "v2_server_metadata",
    responses((status = 200, description = "Server metadata", body = ServerMetadata)))]
pub async fn server_metadata() -> Response {
    json_response(
        StatusCode::OK,
        &ServerMetadata {
            name: "mlops",
            version: env!("CARGO_PKG_VERSION"),
            extensions: Vec::new(),
        },
    )
}

/// Server liveness.
#[utoipa::path(get, path = "/v2/health/live", tag = "open-inference-v2", operation_id = "v2_live",
    responses((status = 200, description = "The server is live", body = Live)))]
pub async fn live() -> Response {
    json_response(StatusCode::OK, &Live { live: true })
}

/// Server readiness.
#[utoipa::path(get, path = "/v2/health/ready", tag = "open-inference-v2", operation_id = "v2_ready",
    responses(
        (status = 200, description = "The model is loaded and verified", body = Ready),
        (status = 503, description = "Shutting down", body = Ready),
    ))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let ready = !state.is_draining();
    json_response(readiness_status(ready), &Ready { ready })
}

/// Model metadata.
#[utoipa::path(get, path = "/v2/models/{name}", tag = "open-inference-v2", operation_id = "v2_model_metadata",
    params(("name" = String, Path, description = "The model's name (see GET /model)")),
    responses(
        (status = 200, description = "Model metadata", body = ModelMetadataV2),
        (status = 404, description = "No model of that name", body = V2ErrorBody),
    ))]
pub async fn model_metadata(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, V2Error> {
    let loaded = state.current();
    model_name(&loaded, path)?;
    Ok(json_bytes(StatusCode::OK, loaded.v2_metadata_json.clone()))
}

/// Model readiness.
#[utoipa::path(get, path = "/v2/models/{name}/ready", tag = "open-inference-v2", operation_id = "v2_model_ready",
    params(("name" = String, Path, description = "The model's name")),
    responses(
        (status = 200, description = "The model is ready", body = ModelReady),
        (status = 404, description = "No model of that name", body = V2ErrorBody),
        (status = 503, description = "Shutting down", body = ModelReady),
    ))]
pub async fn model_ready(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, V2Error> {
    let name = model_name(&state.current(), path)?;
    let ready = !state.is_draining();
    Ok(json_response(
        readiness_status(ready),
        &ModelReady { name, ready },
    ))
}

/// Inference.
#[utoipa::path(post, path = "/v2/models/{name}/infer", tag = "open-inference-v2", operation_id = "v2_infer",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = InferRequest, content_type = "application/json", example = json!({
        "id": "42",
        "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64",
                    "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}]
    })),
    responses(
        (status = 200, description = "The predicted class names", body = InferResponse),
        (status = 400, description = "Invalid request", body = V2ErrorBody),
        (status = 404, description = "No model of that name", body = V2ErrorBody),
        (status = 408, description = "The request took longer than --request-timeout-ms", body = V2ErrorBody),
        (status = 413, description = "Body or batch over the limits", body = V2ErrorBody),
        (status = 415, description = "The content type is not application/json", body = V2ErrorBody),
        (status = 503, description = "Too many requests in flight", body = V2ErrorBody),
    ))]
pub async fn infer(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<JsonBody<InferRequest>, ApiError>,
) -> Result<Response, V2Error> {
    let loaded = state.current();
    model_name(&loaded, path)?;
    let JsonBody(request) = body?;
    let features = loaded.features().names();
    let input = the_input(&request, features.len())?;
    check_tensor(input, features, state.limits().max_batch)?;
    let wanted = wanted_outputs(&request)?;
    let values = &input.data.values;
    check_rows(loaded.features(), values)?;
    let outputs = outputs(&loaded, values, &wanted);
    let id = match &request.id {
        Some(id) => id.as_str(),
        None => headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    };
    let mut response = json_response(
        StatusCode::OK,
        &InferResponse {
            model_name: &loaded.model.metadata().name,
            id,
            outputs,
        },
    );
    response
        .headers_mut()
        .insert(MODEL_DIGEST, loaded.digest.clone());
    Ok(response.into_response())
}

/// The request's one input tensor; the model takes exactly one.
fn the_input(request: &InferRequest, n_features: usize) -> Result<&InferInput, ApiError> {
    match &request.inputs[..] {
        [input] => Ok(input),
        inputs => Err(ApiError::invalid_input(format!(
            "expected exactly one input tensor of shape [N, {n_features}], got {}",
            inputs.len()
        ))),
    }
}

/// The outputs to return, in order: those the request names, or all of them when it
/// names none. An unknown name is refused.
fn wanted_outputs(request: &InferRequest) -> Result<Vec<&'static str>, ApiError> {
    let named = request.outputs.iter().flatten();
    let mut wanted = Vec::new();
    for o in named {
        match [OUTPUT_NAME, PROBABILITIES]
            .into_iter()
            .find(|&n| n == o.name)
        {
            Some(name) => wanted.push(name),
            None => {
                return Err(ApiError::invalid_input(format!(
                    "unknown output '{}'; this model's outputs are '{OUTPUT_NAME}' and '{PROBABILITIES}'",
                    o.name
                )));
            }
        }
    }
    if wanted.is_empty() {
        wanted = vec![OUTPUT_NAME, PROBABILITIES];
    }
    Ok(wanted)
}

/// Predicts the rows once and answers each wanted output from the probabilities.
fn outputs<'a>(
    loaded: &'a Loaded,
    values: &[f64],
    wanted: &[&'static str],
) -> Vec<ResponseOutput<'a>> {
    let classes = loaded.model.classes();
    let probabilities = loaded.model.predict_proba_batch(values);
    let rows = probabilities.len() / classes.len().max(1);
    let labels = loaded.name_most_probable(&probabilities);
    wanted
        .iter()
        .map(|&name| match name {
            PROBABILITIES => ResponseOutput {
                name,
                shape: vec![rows, classes.len()],
                datatype: "FP64",
                data: OutputData::Probabilities(probabilities.clone()),
            },
            _ => ResponseOutput {
                name,
                shape: vec![rows],
                datatype: "BYTES",
                data: OutputData::Labels(labels.clone()),
            },
        })
        .collect()
}
