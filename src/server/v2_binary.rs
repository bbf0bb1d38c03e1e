//! The binary tensor data extension of the Open Inference Protocol (Triton's
//! `binary_tensor_data`), which tritonclient's HTTP client uses by default.
//!
//! A request that uses it carries `Inference-Header-Content-Length: <n>`: the first `n`
//! bytes of the body are the JSON inference request, and the rest is the raw data of the
//! inputs whose `parameters.binary_data_size` is set, one after the other in input order,
//! little-endian and row-major. An output is answered as binary data when its
//! `parameters.binary_data` is true, or, when it says nothing, when the request's
//! `parameters.binary_data_output` is true; the response then carries the header too,
//! its JSON part gives each such output's `parameters.binary_data_size` instead of
//! `data`, and the raw bytes follow it in output order (FP64 as 8 bytes each; BYTES as
//! a 4-byte little-endian length and the bytes, per element).
//!
//! Sizes are bounded: the whole body by `--max-body-bytes` (as for JSON), each binary
//! input by its shape and datatype, which must agree with its `binary_data_size`, and by
//! `--max-batch` rows before any value is decoded.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::body;
use super::error::ApiError;
use super::headers::BINARY_HEADER_LENGTH;
use super::json::{JsonBody, body_rejection, parse};
use super::v2_types::{InferInput, InferRequest, Parameters, TensorData};

/// The extension's name in `GET /v2`'s `extensions`.
pub const EXTENSION: &str = "binary_tensor_data";

/// An inference request whose binary inputs, if any, have been decoded into their
/// tensors' data.
#[derive(Debug)]
pub struct InferBody(pub InferRequest);

impl<S: Send + Sync> FromRequest<S> for InferBody {
    type Rejection = ApiError;

    async fn from_request(mut req: Request, state: &S) -> Result<Self, ApiError> {
        let Some(json_len) = header_length(req.headers())? else {
            let JsonBody(request) = JsonBody::from_request(req, state).await?;
            return Ok(InferBody(request));
        };
        if !binary_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a body with binary tensor data must be application/octet-stream or application/json, or have no content type",
            ));
        }
        let bytes = match body::take(&mut req) {
            Some(received) => received?,
            None => Bytes::from_request(req, state)
                .await
                .map_err(body_rejection)?,
        };
        if json_len > bytes.len() {
            return Err(bad(format!(
                "Inference-Header-Content-Length is {json_len}, but the body has only {} bytes",
                bytes.len()
            )));
        }
        let mut request: InferRequest = parse(&bytes[..json_len])?;
        attach_binary(&mut request.inputs, &bytes[json_len..])?;
        Ok(InferBody(request))
    }
}

/// A 400 in the extension's terms.
fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_binary_data", message)
}

/// The value of `Inference-Header-Content-Length`, when the request has one.
fn header_length(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(BINARY_HEADER_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map(Some)
        .ok_or_else(|| {
            bad("Inference-Header-Content-Length must be the JSON part's length in bytes, a non-negative integer".into())
        })
}

/// A binary body may say it is JSON or raw bytes, or say nothing (tritonclient).
fn binary_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let essence = value.to_str().unwrap_or("").split(';').next().unwrap_or("");
    let essence = essence.trim();
    essence.eq_ignore_ascii_case("application/octet-stream")
        || essence.eq_ignore_ascii_case("application/json")
}

/// `parameters.binary_data_size` of an input, when it is set.
fn binary_data_size(input: &InferInput) -> Result<Option<usize>, ApiError> {
    let Some(size) = input
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_size"))
    else {
        return Ok(None);
    };
    match size.as_u64().and_then(|s| usize::try_from(s).ok()) {
        Some(s) => Ok(Some(s)),
        None => Err(bad(format!(
            "input '{}': parameters.binary_data_size must be a byte count, got {size}",
            input.name
        ))),
    }
}

/// Decodes the binary part of a body into the inputs that declare a
/// `binary_data_size`, in input order; the sizes must account for every byte.
pub fn attach_binary(inputs: &mut [InferInput], mut binary: &[u8]) -> Result<(), ApiError> {
    for input in inputs.iter_mut() {
        let Some(size) = binary_data_size(input)? else {
            continue;
        };
        if input.data.given {
            return Err(bad(format!(
                "input '{}' has both data and parameters.binary_data_size; send one",
                input.name
            )));
        }
        if size > binary.len() {
            return Err(bad(format!(
                "input '{}' declares {size} bytes of binary data, but only {} remain in the body",
                input.name,
                binary.len()
            )));
        }
        let (mine, rest) = binary.split_at(size);
        input.data = decode(input, mine)?;
        binary = rest;
    }
    if !binary.is_empty() {
        return Err(bad(format!(
            "the body has {} bytes after the JSON part that no input's binary_data_size accounts for",
            binary.len()
        )));
    }
    Ok(())
}

/// The size in bytes of one element of a numeric datatype.
fn element_size(datatype: &str) -> Option<usize> {
    Some(match datatype {
        "FP64" | "INT64" | "UINT64" => 8,
        "FP32" | "INT32" | "UINT32" => 4,
        "INT16" | "UINT16" => 2,
        "INT8" | "UINT8" => 1,
        _ => return None,
    })
}

/// One input's raw bytes as values, after checking them against its shape.
fn decode(input: &InferInput, bytes: &[u8]) -> Result<TensorData, ApiError> {
    let name = &input.name;
    let Some(width) = element_size(&input.datatype) else {
        return Err(bad(format!(
            "input '{name}' has datatype {}; binary data must be FP64 or FP32 (or an integer type)",
            input.datatype
        )));
    };
    let elements = input
        .shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| n.checked_mul(width));
    if elements != Some(bytes.len()) {
        return Err(bad(format!(
            "input '{name}': binary_data_size is {} bytes, but shape {:?} of {} needs {}",
            bytes.len(),
            input.shape,
            input.datatype,
            elements.map_or("more than fits in memory".to_owned(), |n| n.to_string())
        )));
    }
    let values = bytes
        .chunks_exact(width)
        .map(|c| element(&input.datatype, c))
        .collect();
    Ok(TensorData {
        values,
        non_numeric: None,
        given: true,
    })
}

/// One little-endian element, widened to f64.
fn element(datatype: &str, c: &[u8]) -> f64 {
    let b8 = |c: &[u8]| <[u8; 8]>::try_from(c).unwrap_or_default();
    let b4 = |c: &[u8]| <[u8; 4]>::try_from(c).unwrap_or_default();
    let b2 = |c: &[u8]| <[u8; 2]>::try_from(c).unwrap_or_default();
    match datatype {
        "FP64" => f64::from_le_bytes(b8(c)),
        "FP32" => f32::from_le_bytes(b4(c)).into(),
        "INT64" => i64::from_le_bytes(b8(c)) as f64,
        "UINT64" => u64::from_le_bytes(b8(c)) as f64,
        "INT32" => i32::from_le_bytes(b4(c)).into(),
        "UINT32" => u32::from_le_bytes(b4(c)).into(),
        "INT16" => i16::from_le_bytes(b2(c)).into(),
        "UINT16" => u16::from_le_bytes(b2(c)).into(),
        "INT8" => f64::from(c[0] as i8),
        _ => f64::from(c[0]),
    }
}

/// Reads a boolean parameter, refusing anything but a boolean.
fn flag(parameters: Option<&Parameters>, key: &str, whose: &str) -> Result<Option<bool>, ApiError> {
    match parameters.and_then(|p| p.get(key)) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad(format!(
            "{whose}: parameters.{key} must be true or false, got {other}"
        ))),
    }
}

/// Whether the request asks for all outputs as binary data (`binary_data_output`).
pub fn all_binary(request: &InferRequest) -> Result<bool, ApiError> {
    Ok(flag(
        request.parameters.as_ref(),
        "binary_data_output",
        "the request",
    )?
    .unwrap_or(false))
}

/// Whether one requested output is to be binary: its own `binary_data`, else the
/// request's default.
pub fn output_binary(
    parameters: Option<&Parameters>,
    name: &str,
    default: bool,
) -> Result<bool, ApiError> {
    Ok(flag(parameters, "binary_data", &format!("output '{name}'"))?.unwrap_or(default))
}

/// FP64 values as little-endian bytes.
pub fn fp64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// BYTES elements: each a 4-byte little-endian length, then the bytes.
pub fn bytes_elements(items: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|s| s.len() + 4).sum());
    for s in items {
        // Class names are bounded far below 4 GiB by the model file's own limits.
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// A response of a JSON part followed by binary tensor data.
pub fn response(json: Vec<u8>, binary: Vec<u8>) -> Response {
    let json_len = json.len();
    let mut body = json;
    body.extend_from_slice(&binary);
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(BINARY_HEADER_LENGTH, HeaderValue::from(json_len));
    response
}
