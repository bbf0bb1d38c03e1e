//! `POST /predict`: the reference-compatible prediction route.
//!
//! One row by position (`{"features":[5.1,3.5,1.4,0.2]}`), one row by feature name
//! (`{"features":{"sepal_length":5.1,...}}`), or a batch of either (`{"instances":[...]}`).
//! Rows are checked before the forest sees them (the forest trusts its callers): the
//! right number of values, known and complete names, finite values; each failure is a 422
//! that names the row and the feature.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::MODEL_DIGEST;
use super::error::{ApiError, ErrorBody, json_response};
use super::json::{JsonBody, Number};
use super::state::{AppState, Loaded};
// Messages list features as the CLI's do: a few by name, the rest counted (`details`
// has them all); a 2,000-feature model made every 422 a 28 KB message.
use crate::text::{name_list, shown};

/// The body of `POST /predict`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// One row.
    pub features: Option<Row>,
    /// Several rows.
    pub instances: Option<Vec<Row>>,
}

/// One input row as sent: values in model order, or values by feature name.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// Values in the model's feature order.
    Positional(Vec<f64>),
    /// `(feature name, value)` pairs in the order sent.
    Named(Vec<(String, f64)>),
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = Row;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a row: an array of feature values, or an object of feature name to value",
                )
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
        d.deserialize_any(RowVisitor)
    }
}

// The two types below only describe the request in the OpenAPI document: the real
// parsing ([`PredictRequest`], [`Row`]) is hand-written for speed and precise errors.

/// One row (`features`) or a batch (`instances`); give exactly one of them.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct PredictRequestDoc {
    /// One row: values in the model's feature order, or an object by feature name.
    features: Option<RowDoc>,
    /// A batch of rows, each in either form (at most `--max-batch`).
    instances: Option<Vec<RowDoc>>,
}

/// A row: values in the model's feature order (see `GET /model`), or an object from
/// feature name to value with every feature exactly once. Values are numbers (numeric
/// strings are accepted); NaN, infinities and null are refused with 422.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RowDoc {
    /// Values in the model's feature order.
    Positional(Vec<f64>),
    /// Values by feature name.
    Named(std::collections::BTreeMap<String, f64>),
}

/// `{"prediction": ...}` for `features`, `{"predictions": [...]}` for `instances`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum PredictResponseDoc<'a> {
    /// The answer for one row.
    One(Prediction<'a>),
    /// The answer for a batch.
    Many(Predictions<'a>),
}

/// The answer for one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prediction<'a> {
    /// The predicted class name.
    pub prediction: &'a str,
    /// The id (`sha256:<hex>`) of the model that made it.
    pub model: &'a str,
}

/// The answer for a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct Predictions<'a> {
    /// The predicted class names, in input order.
    pub predictions: Vec<&'a str>,
    /// The id (`sha256:<hex>`) of the model that made them.
    pub model: &'a str,
}

/// Predicts one row or a batch.
#[utoipa::path(
    post,
    path = "/predict",
    tag = "predict",
    request_body(content = PredictRequestDoc, content_type = "application/json",
        example = json!({"features": [5.1, 3.5, 1.4, 0.2]})),
    responses(
        (status = 200, description = "One prediction (for `features`) or several (for `instances`)",
            body = PredictResponseDoc),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 408, description = "The request took longer than --request-timeout-ms", body = ErrorBody),
        (status = 413, description = "Body or batch over the limits", body = ErrorBody),
        (status = 415, description = "The content type is not application/json", body = ErrorBody),
        (status = 422, description = "Wrong feature count, unknown or missing names, non-finite values", body = ErrorBody),
        (status = 503, description = "Too many requests in flight; retry after Retry-After seconds", body = ErrorBody),
    )
)]
pub async fn predict(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<PredictRequest>,
) -> Result<Response, ApiError> {
    let loaded = state.current();
    let mut response = match (request.features, request.instances) {
        (Some(row), None) => {
            let mut buf = Vec::new();
            let values = checked_row(&loaded, &row, None, &mut buf)?;
            let class = loaded.model.predict_index(values);
            loaded.count_prediction(class);
            json_response(
                StatusCode::OK,
                &Prediction {
                    prediction: &loaded.model.classes()[class as usize],
                    model: &loaded.model.id,
                },
            )
        }
        (None, Some(rows)) => {
            let max = state.limits().max_batch;
            if rows.len() > max {
                return Err(ApiError::batch_too_large(rows.len(), max));
            }
            let n_features = loaded.model.features().len();
            let mut matrix = Vec::with_capacity(rows.len() * n_features);
            let mut buf = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                let values = checked_row(&loaded, row, Some(i), &mut buf)?;
                matrix.extend_from_slice(values);
            }
            json_response(
                StatusCode::OK,
                &Predictions {
                    predictions: loaded.predict_names(&matrix),
                    model: &loaded.model.id,
                },
            )
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_input(
                "give either 'features' (one row) or 'instances' (a batch), not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid_input(
                r#"expected {"features": [...]} for one row or {"instances": [[...], ...]} for a batch"#,
            ));
        }
    };
    response
        .headers_mut()
        .insert(MODEL_DIGEST, loaded.digest.clone());
    Ok(response)
}

/// Checks a row against the model and returns its values in model order (borrowing the
/// row itself when it is positional, else filling `buf`). `row_no` is the batch index, or
/// `None` for a single row.
pub(crate) fn checked_row<'a>(
    loaded: &Loaded,
    row: &'a Row,
    row_no: Option<usize>,
    buf: &'a mut Vec<f64>,
) -> Result<&'a [f64], ApiError> {
    let features = loaded.model.features();
    let at = |msg: String| in_row(row_no, msg);
    let row_index = row_no.unwrap_or(0);
    match row {
        Row::Positional(values) => {
            if values.len() != features.len() {
                return Err(ApiError::invalid_input(at(format!(
                    "expected {} feature values ({}), got {}",
                    features.len(),
                    name_list(features),
                    values.len()
                )))
                .with_details(
                    json!({"row": row_index, "expected": features, "got": values.len()}),
                ));
            }
            check_finite(features, values, row_no)?;
            Ok(values)
        }
        Row::Named(pairs) => {
            buf.clear();
            buf.resize(features.len(), f64::NAN);
            let mut seen = vec![false; features.len()];
            for (name, value) in pairs {
                let Some(pos) = loaded.feature_position(name) else {
                    return Err(ApiError::invalid_input(at(format!(
                        "unknown feature '{}'; this model's features are {}",
                        shown(name),
                        name_list(features)
                    )))
                    .with_details(
                        json!({"row": row_index, "feature": name, "expected": features}),
                    ));
                };
                if std::mem::replace(&mut seen[pos], true) {
                    return Err(ApiError::invalid_input(at(format!(
                        "feature '{name}' is given twice"
                    )))
                    .with_details(json!({"row": row_index, "feature": name})));
                }
                buf[pos] = *value;
            }
            if let Some(missing) = seen.iter().position(|s| !s) {
                let name = &features[missing];
                return Err(
                    ApiError::invalid_input(at(format!("feature '{name}' is missing")))
                        .with_details(
                            json!({"row": row_index, "feature": name, "expected": features}),
                        ),
                );
            }
            check_finite(features, buf, row_no)?;
            Ok(buf)
        }
    }
}

/// Refuses NaN and infinities, naming the feature and the row.
pub(crate) fn check_finite(
    features: &[String],
    values: &[f64],
    row_no: Option<usize>,
) -> Result<(), ApiError> {
    let Some(pos) = values.iter().position(|v| !v.is_finite()) else {
        return Ok(());
    };
    let name = &features[pos];
    let got = if values[pos].is_nan() {
        "NaN or null"
    } else if values[pos] > 0.0 {
        "+infinity"
    } else {
        "-infinity"
    };
    let msg = in_row(
        row_no,
        format!("feature '{name}' must be a finite number, got {got}"),
    );
    Err(ApiError::invalid_input(msg)
        .with_details(json!({"row": row_no.unwrap_or(0), "feature": name})))
}

/// Prefixes a message with the batch row it is about (`instance 2: ...`); a single row
/// (`row_no` is `None`) needs no prefix.
fn in_row(row_no: Option<usize>, msg: String) -> String {
    match row_no {
        Some(i) => format!("instance {i}: {msg}"),
        None => msg,
    }
}
