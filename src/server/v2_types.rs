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
    /// Supported protocol extensions: `binary_tensor_data`.
    pub extensions: Vec<&'static str>,
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
    /// The model's one version: its file's sha256 in hex.
    pub versions: Vec<String>,
    /// The framework/backend.
    pub platform: &'static str,
    /// The inputs the model takes.
    pub inputs: Vec<MetadataTensor>,
    /// The outputs it produces.
    pub outputs: Vec<MetadataTensor>,
}

/// A `$parameters` object, reduced to what this server reads: the scalar values of
/// [`Parameters::READ`]. Every other entry, and any array or object value, is skipped
/// while parsing without being stored, so parameters cost no memory beyond their few
/// known keys whatever a body holds.
#[derive(Debug, Default)]
pub struct Parameters(serde_json::Map<String, Value>);

impl Parameters {
    /// The parameters the binary tensor data extension defines; no other is read.
    pub const READ: [&'static str; 3] = ["binary_data_output", "binary_data_size", "binary_data"];

    /// The value of a parameter this server reads, when the request gave a scalar one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ParametersVisitor)
    }
}

struct ParametersVisitor;

impl<'de> Visitor<'de> for ParametersVisitor {
    type Value = Parameters;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a parameters object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Parameters, A::Error> {
        let mut kept = serde_json::Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !Parameters::READ.contains(&&*key) {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            let Shallow(value) = map.next_value()?;
            kept.insert(key.into_owned(), value);
        }
        Ok(Parameters(kept))
    }
}

/// A JSON value with its scalars kept and any array or object read through but stored
/// empty: enough for the handler to say "must be true or false, got []".
struct Shallow(Value);

impl<'de> Deserialize<'de> for Shallow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShallowVisitor)
    }
}

struct ShallowVisitor;

impl<'de> Visitor<'de> for ShallowVisitor {
    type Value = Shallow;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Shallow, E> {
        Ok(Shallow(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Shallow, E> {
        Ok(Shallow(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Shallow, E> {
        Ok(Shallow(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Shallow, E> {
        Ok(Shallow(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Shallow, E> {
        Ok(Shallow(Value::from(v)))
    }
    fn visit_unit<E>(self) -> Result<Shallow, E> {
        Ok(Shallow(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shallow, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Shallow(Value::Array(Vec::new())))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Shallow, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Shallow(Value::Object(serde_json::Map::new())))
    }
}

/// `$inference_request`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InferRequest {
    /// Echoed in the response when given.
    pub id: Option<String>,
    /// Request parameters: `binary_data_output` (a boolean) asks for every output as
    /// binary data; others are ignored.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Parameters>,
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
    #[schema(value_type = InputDatatype)]
    pub datatype: String,
    /// Input parameters: `binary_data_size` (bytes) says the data follows the JSON as
    /// binary data; others are ignored.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Parameters>,
    /// Row-major values, flat or nested one level (one array per row); null is a
    /// missing value. Absent when the data is sent as binary data.
    #[serde(default)]
    #[schema(value_type = Vec<TensorElement>)]
    pub data: TensorData,
}

/// The datatypes an input tensor may have.
#[derive(Debug, ToSchema)]
#[allow(clippy::upper_case_acronyms, dead_code)]
pub enum InputDatatype {
    /// 64-bit floats.
    FP64,
    /// 32-bit floats.
    FP32,
    /// Integers, widened to 64-bit floats.
    INT8,
    /// See `INT8`.
    INT16,
    /// See `INT8`.
    INT32,
    /// See `INT8`.
    INT64,
    /// See `INT8`.
    UINT8,
    /// See `INT8`.
    UINT16,
    /// See `INT8`.
    UINT32,
    /// See `INT8`.
    UINT64,
}

/// One element of tensor data, for the OpenAPI document: a number, null (a missing
/// value), a numeric string, or an array of elements (nesting follows the shape).
#[derive(Debug)]
pub struct TensorElement;

impl utoipa::PartialSchema for TensorElement {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            ArrayBuilder, ObjectBuilder, OneOfBuilder, Ref, SchemaType, Type,
        };
        let number = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Number, Type::Null]))
            .build();
        let numeric_string = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(NUMERIC_STRING))
            .build();
        let nested = ArrayBuilder::new()
            .items(Ref::from_schema_name("TensorElement"))
            .build();
        OneOfBuilder::new()
            .item(number)
            .item(numeric_string)
            .item(nested)
            .into()
    }
}

impl ToSchema for TensorElement {}

/// The numeric strings the OpenAPI document declares (all of them parse as numbers).
pub const NUMERIC_STRING: &str = r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$";

/// `$request_output`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestedOutput {
    /// The output's name.
    pub name: String,
    /// Output parameters: `binary_data` (a boolean) asks for this output as binary
    /// data; others are ignored.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Parameters>,
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
    /// Set when the output is sent as binary data after the JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BinaryOutput>,
    /// The predicted class names, or the probabilities row after row; absent when the
    /// output is sent as binary data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<OutputData<'a>>,
}

/// The parameters of an output sent as binary data.
#[derive(Debug, Serialize, ToSchema)]
pub struct BinaryOutput {
    /// The size of the output's binary data, in bytes.
    pub binary_data_size: usize,
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
    /// The model's version: its file's sha256 in hex.
    pub model_version: &'a str,
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
    /// Whether the request gave the data (in JSON, or as binary data).
    pub given: bool,
}

impl<'de> Deserialize<'de> for TensorData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = TensorData {
            given: true,
            ..TensorData::default()
        };
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
    let version = model.id.strip_prefix("sha256:").unwrap_or(&model.id);
    let meta = ModelMetadataV2 {
        name: model.metadata().name.clone(),
        versions: vec![version.to_owned()],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_keep_only_the_scalars_this_server_reads() {
        let p: Parameters = serde_json::from_str(
            r#"{"binary_data_output": true, "other": [[1, [2]], {"a": []}],
                "binary_data_size": 16, "binary_data": [[], [[]]], "x": "y"}"#,
        )
        .unwrap();
        assert_eq!(p.get("binary_data_output"), Some(&Value::Bool(true)));
        assert_eq!(p.get("binary_data_size"), Some(&Value::from(16)));
        // Read through, stored empty: the handler still sees the wrong type.
        assert_eq!(p.get("binary_data"), Some(&Value::Array(Vec::new())));
        assert_eq!(p.get("other"), None);
        assert_eq!(p.get("x"), None);
        assert_eq!(p.0.len(), 3);
    }

    #[test]
    fn parameters_must_be_an_object() {
        assert!(serde_json::from_str::<Parameters>("[1]").is_err());
        assert!(serde_json::from_str::<Parameters>("{\"binary_data\": [1,").is_err());
    }
}
