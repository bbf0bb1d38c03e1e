//! Input rows and tensors, checked against the model before the forest sees them (the
//! forest trusts its callers): the right number of values, known and complete feature
//! names, finite values (or missing ones, null or NaN, for a model that takes them),
//! and at most `--max-batch` rows. Each failure is an
//! [`ApiError`] that names the row and the feature; `/predict` answers it as a 422 and the
//! v2 routes as a 400.

use std::collections::HashMap;

use std::cell::Cell;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::json;
use utoipa::ToSchema;

use super::error::ApiError;
use super::json::Number;
use super::v2_types::InferInput;
// Messages list features as the CLI's do: a few by name, the rest counted (`details`
// has them all), so a model with thousands of features keeps its messages short.
use crate::text::{name_list, shown};

/// A row: values in the model's feature order (see `GET /model`), or an object from
/// feature name to value with every feature exactly once. Values are numbers (numeric
/// strings are accepted); null or NaN is a missing value, which models trained by the
/// cart learner take and others refuse with 422; infinities are refused with 422.
// Parsing is the hand-written `Deserialize` below, for speed and precise errors; the
// `serde(untagged)` attribute only tells the schema derive that the JSON carries no tag.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[serde(untagged)]
pub enum Row {
    /// Values in the model's feature order.
    Positional(Vec<f64>),
    /// Values by feature name.
    // Pairs in the order sent, so that checks report the first problem the client wrote.
    #[schema(value_type = HashMap<String, f64>)]
    Named(Vec<(String, f64)>),
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RowVisitor)
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = Row;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a row: an array of feature values, or an object of feature name to value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(1024));
        while let Some(Number(v)) = seq.next_element()? {
            values.push(v);
        }
        Ok(Row::Positional(values))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8).min(1024));
        while let Some((name, Number(v))) = map.next_entry::<String, Number>()? {
            pairs.push((name, v));
        }
        Ok(Row::Named(pairs))
    }
}

/// Reads a batch (`instances`: an array of rows, or `null` for none) keeping at most
/// `max` rows in memory: rows beyond it are only counted, without being stored, and the
/// count goes to `over` before parsing fails. A batch over the limit thus costs no more
/// memory than one at the limit, however small its rows (`[{},{},...]`).
#[derive(Debug, Clone, Copy)]
pub struct BoundedRows<'a> {
    /// Most rows accepted (`--max-batch`).
    pub max: usize,
    /// Set to the number of rows when there are more than `max`.
    pub over: &'a Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for BoundedRows<'_> {
    type Value = Option<Vec<Row>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for BoundedRows<'_> {
    type Value = Option<Vec<Row>>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while rows.len() < self.max {
            match seq.next_element::<Row>()? {
                Some(row) => rows.push(row),
                None => return Ok(Some(rows)),
            }
        }
        // At the limit: whatever follows is counted, not kept (nor checked as a row).
        let mut count = rows.len();
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        if count == self.max {
            return Ok(Some(rows));
        }
        self.over.set(Some(count));
        Err(de::Error::custom(format_args!(
            "the batch has {count} rows, more than {}",
            self.max
        )))
    }
}

/// A model's feature names and their positions, built once per model load so that a
/// named row costs one hash lookup per value.
#[derive(Debug)]
pub struct Features {
    names: Vec<String>,
    positions: HashMap<String, usize>,
    missing_allowed: bool,
}

impl Features {
    /// Indexes `names`, which are in the model's input order. `missing_allowed`: the
    /// model routes missing values (null, NaN) itself.
    pub fn new(names: &[String], missing_allowed: bool) -> Self {
        let positions = names
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), i))
            .collect();
        Features {
            names: names.to_vec(),
            positions,
            missing_allowed,
        }
    }

    /// The names, in input order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The position of a feature, by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.positions.get(name).copied()
    }
}

/// Checks a row and returns its values in model order (borrowing the row itself when it
/// is positional, else filling `buf`). `row_no` is the batch index, or `None` for a
/// single row.
pub fn checked_row<'a>(
    features: &Features,
    row: &'a Row,
    row_no: Option<usize>,
    buf: &'a mut Vec<f64>,
) -> Result<&'a [f64], ApiError> {
    let names = features.names();
    match row {
        Row::Positional(values) => {
            if values.len() != names.len() {
                let msg = format!(
                    "expected {} feature values ({}), got {}",
                    names.len(),
                    name_list(names),
                    values.len()
                );
                return Err(ApiError::invalid_input(in_row(row_no, msg)).with_details(
                    json!({"row": row_no.unwrap_or(0), "expected": names, "got": values.len()}),
                ));
            }
            check_values(features, values, row_no)?;
            Ok(values)
        }
        Row::Named(pairs) => {
            place_named(features, pairs, row_no, buf)?;
            check_values(features, buf, row_no)?;
            Ok(buf)
        }
    }
}

/// Puts the values of a named row in model order into `buf`: every name known, none
/// given twice, none missing.
fn place_named(
    features: &Features,
    pairs: &[(String, f64)],
    row_no: Option<usize>,
    buf: &mut Vec<f64>,
) -> Result<(), ApiError> {
    let names = features.names();
    let row_index = row_no.unwrap_or(0);
    buf.clear();
    buf.resize(names.len(), f64::NAN);
    let mut seen = vec![false; names.len()];
    for (name, value) in pairs {
        let Some(pos) = features.position(name) else {
            let msg = format!(
                "unknown feature '{}'; this model's features are {}",
                shown(name),
                name_list(names)
            );
            return Err(ApiError::invalid_input(in_row(row_no, msg))
                .with_details(json!({"row": row_index, "feature": name, "expected": names})));
        };
        if std::mem::replace(&mut seen[pos], true) {
            let msg = format!("feature '{name}' is given twice");
            return Err(ApiError::invalid_input(in_row(row_no, msg))
                .with_details(json!({"row": row_index, "feature": name})));
        }
        buf[pos] = *value;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        let name = &names[missing];
        let msg = format!("feature '{name}' is missing");
        return Err(ApiError::invalid_input(in_row(row_no, msg))
            .with_details(json!({"row": row_index, "feature": name, "expected": names})));
    }
    Ok(())
}

/// Refuses infinities, and missing values (NaN, null) unless the model takes them,
/// naming the feature and the row.
pub fn check_values(
    features: &Features,
    values: &[f64],
    row_no: Option<usize>,
) -> Result<(), ApiError> {
    let refused = |v: &f64| v.is_infinite() || (v.is_nan() && !features.missing_allowed);
    let Some(pos) = values.iter().position(refused) else {
        return Ok(());
    };
    let name = &features.names[pos];
    let msg = if values[pos].is_nan() {
        format!(
            "feature '{name}' is missing (NaN or null), and this model cannot take missing values (retrain it with the cart learner)"
        )
    } else {
        let sign = if values[pos] > 0.0 { '+' } else { '-' };
        format!("feature '{name}' must be a finite number or null, got {sign}infinity")
    };
    let msg = in_row(row_no, msg);
    Err(ApiError::invalid_input(msg)
        .with_details(json!({"row": row_no.unwrap_or(0), "feature": name})))
}

/// [`check_values`] for each row of a row-major matrix.
pub fn check_rows(features: &Features, values: &[f64]) -> Result<(), ApiError> {
    for (i, row) in values.chunks_exact(features.names.len()).enumerate() {
        check_values(features, row, Some(i))?;
    }
    Ok(())
}

/// The element types a tensor may have: floats, and integers (widened to f64).
const TENSOR_DATATYPES: [&str; 10] = [
    "FP64", "FP32", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
];

/// Checks an input tensor's datatype, its `[N, features]` shape, the batch limit, that its
/// data fills the shape, and that the data is numeric. Finiteness is checked separately
/// ([`check_rows`]), after the request's other fields.
pub fn check_tensor(
    input: &InferInput,
    features: &[String],
    max_batch: usize,
) -> Result<(), ApiError> {
    let bad = ApiError::invalid_input;
    let name = &input.name;
    let n_features = features.len();
    if !TENSOR_DATATYPES.contains(&input.datatype.as_str()) {
        return Err(bad(format!(
            "input '{name}' has datatype {}; send FP64 or FP32",
            input.datatype
        )));
    }
    let &[rows, cols] = &input.shape[..] else {
        return Err(bad(format!(
            "input '{name}' has shape {:?}; expected [N, {n_features}]",
            input.shape
        )));
    };
    if cols != n_features as u64 {
        return Err(bad(format!(
            "input '{name}' has {cols} columns; this model takes {n_features} ({})",
            name_list(features)
        )));
    }
    if rows > max_batch as u64 {
        return Err(ApiError::batch_too_large(rows as usize, max_batch));
    }
    let values = input.data.values.len();
    if rows * cols != values as u64 {
        return Err(bad(format!(
            "input '{name}' has shape [{rows}, {cols}], which needs {} values, but its data has {values}",
            rows * cols
        )));
    }
    if let Some(what) = &input.data.non_numeric {
        return Err(bad(format!(
            "input '{name}' has non-numeric data ({what}); send numbers"
        )));
    }
    Ok(())
}

/// Prefixes a message with the batch row it is about (`instance 2: ...`); a single row
/// (`row_no` is `None`) needs no prefix.
fn in_row(row_no: Option<usize>, msg: String) -> String {
    match row_no {
        Some(i) => format!("instance {i}: {msg}"),
        None => msg,
    }
}
