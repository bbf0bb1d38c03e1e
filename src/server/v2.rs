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
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::MODEL_DIGEST;
use super::error::{ApiError, V2Error, V2ErrorBody, json_bytes, json_response};
use super::json::{JsonBody, NumberVisitor};
use super::predict::check_finite;
use super::state::{AppState, Loaded};
use crate::model::Model;

/// The name of the model's one input tensor in its metadata (requests may name it anything).
pub const INPUT_NAME: &str = "input-0";
/// The name of the model's one output tensor.
pub const OUTPUT_NAME: &str = "label";
/// The `platform` reported in model metadata.
pub const PLATFORM: &str = "mlops_random_forest";

/// `$metadata_server_response`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMetadata {
    /// The server's name.
    pub name: &'static str,
    /// The server's version.
    pub version: &'static str,
    /// Supported protocol extensions (none).
    pub extensions: Vec<String>,
}

/// `$live_server_response`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Live {
    /// Always true while the process answers.
    pub live: bool,
}

/// `$ready_server_response`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// True when the model is loaded and verified and shutdown has not begun.
    pub ready: bool,
}

/// `$ready_model_response`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelReady {
    /// The model's name.
    pub name: String,
    /// True when it can serve inference requests.
    pub ready: bool,
}

/// `$metadata_tensor`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetadataTensor {
    /// The tensor's name.
    pub name: &'static str,
    /// Its element type.
    pub datatype: &'static str,
    /// Its shape; -1 marks the variable batch dimension.
    pub shape: Vec<i64>,
}

/// `$metadata_model_response`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelMetadataV2 {
    /// The model's name.
    pub name: String,
    /// The framework/backend.
    pub platform: &'static str,
    /// The inputs the model takes.
    pub inputs: Vec<MetadataTensor>,
    /// The outputs it produces.
    pub outputs: Vec<MetadataTensor>,
}

/// `$inference_request`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InferRequest {
    /// Echoed in the response when given.
    pub id: Option<String>,
    /// Request parameters (none are used).
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    /// Exactly one input tensor of shape `[N, features]`.
    pub inputs: Vec<InferInput>,
    /// Requested outputs; only `label` exists. Omit for all outputs.
    pub outputs: Option<Vec<RequestedOutput>>,
}

/// `$request_input`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InferInput {
    /// The tensor's name (any).
    pub name: String,
    /// `[N, features]`.
    pub shape: Vec<u64>,
    /// `FP64` or `FP32` (integer types are widened).
    pub datatype: String,
    /// Input parameters (none are used).
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    /// Row-major values, flat or nested.
    #[schema(value_type = Vec<Object>)]
    pub data: TensorData,
}

/// `$request_output`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestedOutput {
    /// The output's name.
    pub name: String,
    /// Output parameters (none are used).
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
}

/// `$response_output`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseOutput<'a> {
    /// `label`.
    pub name: &'static str,
    /// `[N]`.
    pub shape: Vec<usize>,
    /// `BYTES`.
    pub datatype: &'static str,
    /// The predicted class names.
    pub data: Vec<&'a str>,
}

/// `$inference_response`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InferResponse<'a> {
    /// The model's name.
    pub model_name: &'a str,
    /// The request's `id`, or else its `x-request-id`.
    pub id: &'a str,
    /// The output tensors.
    pub outputs: Vec<ResponseOutput<'a>>,
}

/// Tensor data flattened to row-major f64 values, whatever the nesting.
///
/// Parsing never fails on an element's type: booleans and non-numeric strings are noted
/// in `non_numeric` and checked after the datatype, so that a `BOOL` or `BYTES` tensor is
/// refused for its datatype rather than for its first element.
#[derive(Debug, Default)]
pub struct TensorData {
    /// The values, row-major.
    pub values: Vec<f64>,
    /// The first element that is not a number, described.
    pub non_numeric: Option<String>,
}

impl<'de> Deserialize<'de> for TensorData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = TensorData::default();
        Flatten(&mut out).deserialize(d)?;
        Ok(out)
    }
}

/// Appends the values of a (possibly nested) array, or of one element, to a tensor.
struct Flatten<'a>(&'a mut TensorData);

impl Flatten<'_> {
    fn push(self, v: f64) {
        self.0.values.push(v);
    }
    fn other(self, what: String) {
        self.0.non_numeric.get_or_insert(what);
        self.0.values.push(f64::NAN);
    }
}

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("tensor data: numbers in a flat or nested array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Flatten(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.push(v);
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.push(v as f64);
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.push(v as f64);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.push(f64::NAN);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.other(format!("the boolean {v}"));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        match NumberVisitor.visit_str::<E>(v) {
            Ok(x) => self.push(x),
            Err(_) => self.other(format!("the string {v:?}")),
        }
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
}

/// The precomputed body of `GET /v2/models/{name}`.
pub(crate) fn model_metadata_json(model: &Model) -> axum::body::Bytes {
    let meta = ModelMetadataV2 {
        name: model.metadata().name.clone(),
        platform: PLATFORM,
        inputs: vec![MetadataTensor {
            name: INPUT_NAME,
            datatype: "FP64",
            shape: vec![-1, model.features().len() as i64],
        }],
        outputs: vec![MetadataTensor {
            name: OUTPUT_NAME,
            datatype: "BYTES",
            shape: vec![-1],
        }],
    };
    serde_json::to_vec(&meta)
        .expect("v2 metadata serializes to JSON")
        .into()
}

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
    let bad = |msg: String| V2Error(ApiError::invalid_input(msg));
    let features = loaded.model.features();
    let n_features = features.len();
    let [input] = &request.inputs[..] else {
        return Err(bad(format!(
            "expected exactly one input tensor of shape [N, {n_features}], got {}",
            request.inputs.len()
        )));
    };
    const DATATYPES: [&str; 10] = [
        "FP64", "FP32", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
    ];
    if !DATATYPES.contains(&input.datatype.as_str()) {
        return Err(bad(format!(
            "input '{}' has datatype {}; send FP64 or FP32",
            input.name, input.datatype
        )));
    }
    let &[rows, cols] = &input.shape[..] else {
        return Err(bad(format!(
            "input '{}' has shape {:?}; expected [N, {n_features}]",
            input.name, input.shape
        )));
    };
    if cols != n_features as u64 {
        return Err(bad(format!(
            "input '{}' has {cols} columns; this model takes {n_features} ({})",
            input.name,
            crate::text::name_list(features)
        )));
    }
    let max = state.limits().max_batch;
    if rows > max as u64 {
        return Err(ApiError::batch_too_large(rows as usize, max).into());
    }
    let values = &input.data.values;
    if rows * cols != values.len() as u64 {
        return Err(bad(format!(
            "input '{}' has shape [{rows}, {cols}], which needs {} values, but its data has {}",
            input.name,
            rows * cols,
            values.len()
        )));
    }
    if let Some(what) = &input.data.non_numeric {
        return Err(bad(format!(
            "input '{}' has non-numeric data ({what}); send numbers",
            input.name
        )));
    }
    if let Some(outputs) = &request.outputs {
        if let Some(unknown) = outputs.iter().find(|o| o.name != OUTPUT_NAME) {
            return Err(bad(format!(
                "unknown output '{}'; this model's only output is '{OUTPUT_NAME}'",
                unknown.name
            )));
        }
    }
    for (i, row) in values.chunks_exact(n_features).enumerate() {
        check_finite(features, row, Some(i)).map_err(V2Error)?;
    }
    let labels = loaded.predict_names(values);
    let id = match &request.id {
        Some(id) => id.as_str(),
        None => headers
            .get(super::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    };
    let mut response = json_response(
        StatusCode::OK,
        &InferResponse {
            model_name: &loaded.model.metadata().name,
            id,
            outputs: vec![ResponseOutput {
                name: OUTPUT_NAME,
                shape: vec![labels.len()],
                datatype: "BYTES",
                data: labels,
            }],
        },
    );
    response
        .headers_mut()
        .insert(MODEL_DIGEST, loaded.digest.clone());
    Ok(response.into_response())
}
