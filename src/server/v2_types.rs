//! The Open Inference Protocol (KServe v2) messages this server reads and writes, and the
//! model's v2 metadata. The names in `$...` are the protocol's own.
//!
//! Tensor data is read by a hand-written visitor ([`TensorData`]) so that flat and nested
//! arrays parse alike, and so that a non-numeric element is refused for the tensor's
//! datatype rather than for the element.

use axum::body::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::json::NumberVisitor;
use crate::model::Model;

/// The name of the model's one input tensor in its metadata (requests may name it anything).
pub const INPUT_NAME: &str = "input-0";
/// The name of the model's one output tensor.
pub const OUTPUT_NAME: &str = "label";
/// The name of the class-probability output tensor (`[N, classes]`, FP64, classes in
/// the order of `GET /model`'s `classes`).
pub const PROBABILITIES: &str = "probabilities";
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
    /// `label` or `probabilities`.
    pub name: &'static str,
    /// `[N]` for labels, `[N, classes]` for probabilities.
    pub shape: Vec<usize>,
    /// `BYTES` for labels, `FP64` for probabilities.
    pub datatype: &'static str,
    /// The predicted class names, or the probabilities row after row.
    pub data: OutputData<'a>,
}

/// An output tensor's elements.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OutputData<'a> {
    /// Class names.
    Labels(Vec<&'a str>),
    /// Probabilities, row-major.
    Probabilities(Vec<f64>),
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
    fn visit_map<A: de::MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
}

/// The body of `GET /v2/models/{name}`, computed once per model load.
pub fn model_metadata_json(model: &Model) -> Bytes {
    let meta = ModelMetadataV2 {
        name: model.metadata().name.clone(),
        platform: PLATFORM,
        inputs: vec![MetadataTensor {
            name: INPUT_NAME,
            datatype: "FP64",
            shape: vec![-1, model.features().len() as i64],
        }],
        outputs: vec![
            MetadataTensor {
                name: OUTPUT_NAME,
                datatype: "BYTES",
                shape: vec![-1],
            },
            MetadataTensor {
                name: PROBABILITIES,
                datatype: "FP64",
                shape: vec![-1, model.classes().len() as i64],
            },
        ],
    };
    serde_json::to_vec(&meta)
        .expect("v2 metadata serializes to JSON")
        .into()
}
