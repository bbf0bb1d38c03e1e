//! The Open Inference Protocol (KServe v2) REST subset, so that standard v2 clients work
//! unchanged: server metadata, liveness, readiness, model metadata, model readiness and
//! inference.
//!
//! The model takes one input tensor of shape `[N, features]` (FP64 or FP32; integer types
//! are accepted and widened) with data flat or nested, row-major, and returns one `BYTES`
//! output tensor `label` of shape `[N]` holding class names. The model name in the path is
//! the one recorded in the model file (`GET /model` → `metadata.name`); its one version
//! is the model file's sha256 in hex ([`version`]), so the versioned routes
//! (`/v2/models/{name}/versions/{version}/...`) answer for exactly the model being
//! served. Errors use the protocol's `{"error": "<message>"}` shape, with status 400 for
//! invalid requests, 404 for an unknown model or version, 413 for oversize input and 503
//! while not ready. Inference also speaks the binary tensor data extension
//! ([`super::v2_binary`]).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::IntoParams;

use super::error::{ApiError, V2Error, V2ErrorBody, json_bytes, json_response};
use super::headers::{MODEL_DIGEST, REQUEST_ID};
use super::rows::{check_rows, check_tensor};
use super::state::{AppState, Loaded};
use super::v2_binary::{self, InferBody};
use super::v2_types::{
    BinaryOutput, InferInput, InferRequest, InferResponse, Live, ModelMetadataV2, ModelReady,
    OUTPUT_NAME, OutputData, PROBABILITIES, Ready, ResponseOutput, ServerMetadata,
};

/// The one version of the served model: the hex digits of its file's sha256 (the model
/// id without its `sha256:` prefix).
pub fn version(loaded: &Loaded) -> &str {
    let id = &loaded.model.id;
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// A path the router matched but whose parameters do not parse.
fn bad_path(e: PathRejection) -> V2Error {
    V2Error(ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        e.body_text(),
    ))
}

/// Checks the `{name}` (and `{version}`) of the path against the model of the request's
/// snapshot (`loaded`), so that the model checked and the model used are the same even
/// while a reload swaps models.
fn check_model(loaded: &Loaded, name: &str, wanted: Option<&str>) -> Result<(), V2Error> {
    let serving = &loaded.model.metadata().name;
    if name != serving {
        return Err(V2Error(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("unknown model '{name}'; this server serves '{serving}'"),
        )));
    }
    match wanted {
        Some(v) if v != version(loaded) => Err(V2Error(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!(
                "model '{name}' has no version '{v}'; this server serves version '{}' (the model file's sha256)",
                version(loaded)
            ),
        ))),
        _ => Ok(()),
    }
}

/// The path's model name, checked.
fn model_name(
    loaded: &Loaded,
    path: Result<Path<String>, PathRejection>,
) -> Result<String, V2Error> {
    let Path(name) = path.map_err(bad_path)?;
    check_model(loaded, &name, None)?;
    Ok(name)
}

/// The path's model name and version, checked.
fn model_version(
    loaded: &Loaded,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<String, V2Error> {
    let Path((name, version)) = path.map_err(bad_path)?;
    check_model(loaded, &name, Some(&version))?;
    Ok(name)
}

/// The path of the model routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ModelPath {
    /// The model's name, as recorded at training (`GET /model` → `metadata.name`).
    #[param(example = "iris")]
    pub name: String,
}

/// The path of the versioned model routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VersionPath {
    /// The model's name, as recorded at training (`GET /model` → `metadata.name`).
    #[param(example = "iris")]
    pub name: String,
    /// The model's version: its file's sha256 in hex (`GET /v2/models/{name}` →
    /// `versions`).
    pub version: String,
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
            extensions: vec![v2_binary::EXTENSION],
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
    params(ModelPath),
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

/// Model metadata, for one version.
#[utoipa::path(get, path = "/v2/models/{name}/versions/{version}", tag = "open-inference-v2",
    operation_id = "v2_model_version_metadata",
    params(VersionPath),
    responses(
        (status = 200, description = "Model metadata", body = ModelMetadataV2),
        (status = 404, description = "No model of that name and version", body = V2ErrorBody),
    ))]
pub async fn model_version_metadata(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, V2Error> {
    let loaded = state.current();
    model_version(&loaded, path)?;
    Ok(json_bytes(StatusCode::OK, loaded.v2_metadata_json.clone()))
}

/// Model readiness.
#[utoipa::path(get, path = "/v2/models/{name}/ready", tag = "open-inference-v2", operation_id = "v2_model_ready",
    params(ModelPath),
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
    Ok(model_readiness(&state, name))
}

/// Model readiness, for one version.
#[utoipa::path(get, path = "/v2/models/{name}/versions/{version}/ready", tag = "open-inference-v2",
    operation_id = "v2_model_version_ready",
    params(VersionPath),
    responses(
        (status = 200, description = "The model is ready", body = ModelReady),
        (status = 404, description = "No model of that name and version", body = V2ErrorBody),
        (status = 503, description = "Shutting down", body = ModelReady),
    ))]
pub async fn model_version_ready(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, V2Error> {
    let name = model_version(&state.current(), path)?;
    Ok(model_readiness(&state, name))
}

fn model_readiness(state: &AppState, name: String) -> Response {
    let ready = !state.is_draining();
    json_response(readiness_status(ready), &ModelReady { name, ready })
}

/// Inference.
#[utoipa::path(post, path = "/v2/models/{name}/infer", tag = "open-inference-v2", operation_id = "v2_infer",
    params(ModelPath),
    request_body(content = InferRequest, content_type = "application/json", example = json!({
        "id": "42",
        "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64",
                    "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}]
    })),
    responses(
        (status = 200, description = "The outputs, in JSON; with binary data after the JSON when an output is asked for as binary (Inference-Header-Content-Length gives the JSON's length)", body = InferResponse),
        (status = 400, description = "Invalid request", body = V2ErrorBody),
        (status = 404, description = "No model of that name (and version)", body = V2ErrorBody),
        (status = 408, description = "The request took longer than --request-timeout-ms", body = V2ErrorBody),
        (status = 413, description = "Body or batch over the limits", body = V2ErrorBody),
        (status = 415, description = "The content type is not application/json", body = V2ErrorBody),
        (status = 503, description = "Too many requests in flight", body = V2ErrorBody),
    ))]
pub async fn infer(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<InferBody, ApiError>,
) -> Result<Response, V2Error> {
    let loaded = state.current();
    model_name(&loaded, path)?;
    run_inference(&state, &loaded, &headers, body?.0)
}

/// Inference, for one version.
#[utoipa::path(post, path = "/v2/models/{name}/versions/{version}/infer", tag = "open-inference-v2",
    operation_id = "v2_model_version_infer",
    params(VersionPath),
    request_body(content = InferRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The outputs, in JSON; with binary data after the JSON when an output is asked for as binary (Inference-Header-Content-Length gives the JSON's length)", body = InferResponse),
        (status = 400, description = "Invalid request", body = V2ErrorBody),
        (status = 404, description = "No model of that name (and version)", body = V2ErrorBody),
        (status = 408, description = "The request took longer than --request-timeout-ms", body = V2ErrorBody),
        (status = 413, description = "Body or batch over the limits", body = V2ErrorBody),
        (status = 415, description = "The content type is not application/json", body = V2ErrorBody),
        (status = 503, description = "Too many requests in flight", body = V2ErrorBody),
    ))]
pub async fn infer_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<InferBody, ApiError>,
) -> Result<Response, V2Error> {
    let loaded = state.current();
    model_version(&loaded, path)?;
    run_inference(&state, &loaded, &headers, body?.0)
}

/// Checks a request against the model, predicts, and answers in JSON, or in JSON and
/// binary data when an output is asked for as binary.
fn run_inference(
    state: &AppState,
    loaded: &Loaded,
    headers: &HeaderMap,
    request: InferRequest,
) -> Result<Response, V2Error> {
    let features = loaded.features().names();
    let input = the_input(&request, features.len())?;
    check_tensor(input, features, state.limits().max_batch)?;
    let wanted = wanted_outputs(&request)?;
    let values = &input.data.values;
    check_rows(loaded.features(), values)?;
    let (outputs, binary) = outputs(loaded, values, &wanted);
    let id = match &request.id {
        Some(id) => id.as_str(),
        None => headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    };
    let answer = InferResponse {
        model_name: &loaded.model.metadata().name,
        model_version: version(loaded),
        id,
        outputs,
    };
    let mut response = if binary.is_empty() {
        json_response(StatusCode::OK, &answer)
    } else {
        match serde_json::to_vec(&answer) {
            Ok(json) => v2_binary::response(json, binary),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    };
    response
        .headers_mut()
        .insert(MODEL_DIGEST, loaded.digest.clone());
    Ok(response)
}

/// The request's one input tensor; the model takes exactly one, with its data given in
/// JSON or as binary data.
fn the_input(request: &InferRequest, n_features: usize) -> Result<&InferInput, ApiError> {
    match &request.inputs[..] {
        [input] if !input.data.given => Err(ApiError::invalid_input(format!(
            "input '{}' has no data: give 'data', or binary data with parameters.binary_data_size",
            input.name
        ))),
        [input] => Ok(input),
        inputs => Err(ApiError::invalid_input(format!(
            "expected exactly one input tensor of shape [N, {n_features}], got {}",
            inputs.len()
        ))),
    }
}

/// One output to return, and whether as binary data.
struct Wanted {
    name: &'static str,
    binary: bool,
}

/// The outputs to return, in order: those the request names, or all of them when it
/// names none. An unknown name is refused.
fn wanted_outputs(request: &InferRequest) -> Result<Vec<Wanted>, ApiError> {
    let all_binary = v2_binary::all_binary(request)?;
    let mut wanted = Vec::new();
    for o in request.outputs.iter().flatten() {
        let Some(name) = [OUTPUT_NAME, PROBABILITIES]
            .into_iter()
            .find(|&n| n == o.name)
        else {
            return Err(ApiError::invalid_input(format!(
                "unknown output '{}'; this model's outputs are '{OUTPUT_NAME}' and '{PROBABILITIES}'",
                o.name
            )));
        };
        let binary = v2_binary::output_binary(o.parameters.as_ref(), name, all_binary)?;
        wanted.push(Wanted { name, binary });
    }
    if wanted.is_empty() {
        wanted = [OUTPUT_NAME, PROBABILITIES]
            .into_iter()
            .map(|name| Wanted {
                name,
                binary: all_binary,
            })
            .collect();
    }
    Ok(wanted)
}

/// Predicts the rows once and answers each wanted output from the probabilities: in the
/// JSON outputs, or as bytes appended to the returned binary part.
fn outputs<'a>(
    loaded: &'a Loaded,
    values: &[f64],
    wanted: &[Wanted],
) -> (Vec<ResponseOutput<'a>>, Vec<u8>) {
    let classes = loaded.model.classes();
    let probabilities = loaded.model.predict_proba_batch(values);
    let rows = probabilities.len() / classes.len().max(1);
    let labels = loaded.name_most_probable(&probabilities);
    let mut binary = Vec::new();
    let outputs = wanted
        .iter()
        .map(|w| {
            let (shape, datatype, data) = match w.name {
                PROBABILITIES => (
                    vec![rows, classes.len()],
                    "FP64",
                    OutputData::Probabilities(probabilities.clone()),
                ),
                _ => (vec![rows], "BYTES", OutputData::Labels(labels.clone())),
            };
            let (data, parameters) = if w.binary {
                let bytes = match &data {
                    OutputData::Probabilities(p) => v2_binary::fp64_bytes(p),
                    OutputData::Labels(l) => v2_binary::bytes_elements(l),
                };
                let size = bytes.len();
                binary.extend_from_slice(&bytes);
                (
                    None,
                    Some(BinaryOutput {
                        binary_data_size: size,
                    }),
                )
            } else {
                (Some(data), None)
            };
            ResponseOutput {
                name: w.name,
                shape,
                datatype,
                parameters,
                data,
            }
        })
        .collect();
    (outputs, binary)
}
