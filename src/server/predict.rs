//! `POST /predict`: the reference-compatible prediction route.
//!
//! One row by position (`{"features":[5.1,3.5,1.4,0.2]}`), one row by feature name
//! (`{"features":{"sepal_length":5.1,...}}`), or a batch of either (`{"instances":[...]}`).
//! Rows are checked by [`super::rows`] before the forest sees them; each failure is a 422
//! that names the row and the feature.

use std::cell::Cell;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, json_bytes, json_response};
use super::headers::MODEL_DIGEST;
use super::json::{JsonBytes, parse_with};
use super::rows::{BoundedRows, Row, checked_row};
use super::state::{AppState, Loaded};

/// One row (`features`) or a batch (`instances`); give exactly one of them.
// Parsed by `PredictSeed` below, which bounds the batch while reading it; the `serde`
// attribute only tells the schema derive that other fields are refused.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// One row: values in the model's feature order, or an object by feature name.
    pub features: Option<Row>,
    /// A batch of rows, each in either form (at most `--max-batch`).
    pub instances: Option<Vec<Row>>,
}

/// `{"prediction": ...}` for `features`, `{"predictions": [...]}` for `instances`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PredictResponse<'a> {
    /// The answer for one row.
    One(Prediction<'a>),
    /// The answer for a batch.
    Many(Predictions<'a>),
}

/// The answer for one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prediction<'a> {
    /// The predicted class name: the most probable class (ties go to the class that
    /// sorts first).
    pub prediction: &'a str,
    /// Each class's probability (the mean of the trees' leaf distributions); they sum
    /// to 1.
    #[schema(value_type = std::collections::HashMap<String, f64>,
        example = json!({"setosa": 0.97, "versicolor": 0.03, "virginica": 0.0}))]
    pub probabilities: ClassProbabilities<'a>,
    /// The id (`sha256:<hex>`) of the model that made it.
    pub model: &'a str,
}

/// The answer for a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct Predictions<'a> {
    /// The predicted class names, in input order.
    pub predictions: Vec<&'a str>,
    /// Each row's class probabilities, in input order.
    #[schema(value_type = Vec<std::collections::HashMap<String, f64>>)]
    pub probabilities: BatchProbabilities<'a>,
    /// The id (`sha256:<hex>`) of the model that made them.
    pub model: &'a str,
}

/// Predicts one row or a batch.
#[utoipa::path(
    post,
    path = "/predict",
    tag = "predict",
    request_body(content = PredictRequest, content_type = "application/json",
        example = json!({"features": [5.1, 3.5, 1.4, 0.2]})),
    responses(
        (status = 200, description = "One prediction (for `features`) or several (for `instances`)",
            body = PredictResponse),
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
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    let request = read_request(&body, state.limits().max_batch)?;
    let loaded = state.current();
    let mut response = match (request.features, request.instances) {
        (Some(row), None) => json_bytes(StatusCode::OK, predict_one(&loaded, &row)?),
        (None, Some(rows)) => json_response(StatusCode::OK, &predict_many(&loaded, &rows)?),
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

/// Parses the request, refusing a batch of more than `max_batch` rows with 413 while it
/// is read (see [`BoundedRows`]).
fn read_request(body: &[u8], max_batch: usize) -> Result<PredictRequest, ApiError> {
    let over = Cell::new(None);
    let parsed = parse_with(
        body,
        PredictSeed {
            max_batch,
            over: &over,
        },
    );
    match over.get() {
        Some(rows) => Err(ApiError::batch_too_large(rows, max_batch)),
        None => parsed,
    }
}

/// Reads a [`PredictRequest`] with its batch bounded: what `#[derive(Deserialize)]`
/// with `deny_unknown_fields` would do, except that `instances` is read by
/// [`BoundedRows`].
#[derive(Clone, Copy)]
struct PredictSeed<'a> {
    max_batch: usize,
    over: &'a Cell<Option<usize>>,
}

/// The fields of a [`PredictRequest`]; any other is an error.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Features,
    Instances,
}

impl<'de> DeserializeSeed<'de> for PredictSeed<'_> {
    type Value = PredictRequest;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<PredictRequest, D::Error> {
        d.deserialize_struct("PredictRequest", &["features", "instances"], self)
    }
}

impl<'de> Visitor<'de> for PredictSeed<'_> {
    type Value = PredictRequest;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with 'features' or 'instances'")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PredictRequest, A::Error> {
        let (mut features, mut instances) = (None, None);
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Features if features.is_some() => {
                    return Err(de::Error::duplicate_field("features"));
                }
                Field::Features => features = Some(map.next_value::<Option<Row>>()?),
                Field::Instances if instances.is_some() => {
                    return Err(de::Error::duplicate_field("instances"));
                }
                Field::Instances => {
                    let rows = BoundedRows {
                        max: self.max_batch,
                        over: self.over,
                    };
                    instances = Some(map.next_value_seed(rows)?);
                }
            }
        }
        Ok(PredictRequest {
            features: features.flatten(),
            instances: instances.flatten(),
        })
    }
}

/// One row's probabilities, written as a map from class name to probability.
#[derive(Debug)]
pub struct ClassProbabilities<'a> {
    classes: &'a [String],
    values: Vec<f64>,
}

impl Serialize for ClassProbabilities<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_map(s, self.classes, &self.values)
    }
}

/// A batch's probabilities, row-major, written as one map per row.
#[derive(Debug)]
pub struct BatchProbabilities<'a> {
    classes: &'a [String],
    values: Vec<f64>,
}

impl Serialize for BatchProbabilities<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rows = self.values.chunks_exact(self.classes.len().max(1));
        let mut seq = s.serialize_seq(Some(rows.len()))?;
        for row in rows {
            seq.serialize_element(&RowMap(self.classes, row))?;
        }
        seq.end()
    }
}

struct RowMap<'a>(&'a [String], &'a [f64]);

impl Serialize for RowMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_map(s, self.0, self.1)
    }
}

fn write_map<S: Serializer>(s: S, classes: &[String], values: &[f64]) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(classes.len()))?;
    for (class, p) in classes.iter().zip(values) {
        map.serialize_entry(class, p)?;
    }
    map.end()
}

/// Checks and predicts one row: the hot path, with no batch bookkeeping. The answer is
/// the JSON of a [`Prediction`], written from the model's pre-serialized pieces.
fn predict_one(loaded: &Loaded, row: &Row) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::new();
    let values = checked_row(loaded.features(), row, None, &mut buf)?;
    let probabilities = loaded.model.predict_proba_row(values);
    let class = crate::forest::argmax(&probabilities);
    loaded.count_prediction(class);
    Ok(loaded.one_row.write(class as usize, &probabilities))
}

/// Checks every row of a batch, then predicts them together.
fn predict_many<'a>(loaded: &'a Loaded, rows: &[Row]) -> Result<PredictResponse<'a>, ApiError> {
    let n_features = loaded.model.features().len();
    let mut matrix = Vec::with_capacity(rows.len() * n_features);
    let mut buf = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let values = checked_row(loaded.features(), row, Some(i), &mut buf)?;
        matrix.extend_from_slice(values);
    }
    let classes = loaded.model.classes();
    let probabilities = loaded.model.predict_proba_batch(&matrix);
    Ok(PredictResponse::Many(Predictions {
        predictions: loaded.name_most_probable(&probabilities),
        probabilities: BatchProbabilities {
            classes,
            values: probabilities,
        },
        model: &loaded.model.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::one_row::OneRowJson;
    use proptest::prelude::*;

    /// serde_json's text for the answer, the reference the pre-serialized one must match.
    fn by_serde(classes: &[String], id: &str, class: usize, values: &[f64]) -> Vec<u8> {
        serde_json::to_vec(&Prediction {
            prediction: &classes[class],
            probabilities: ClassProbabilities {
                classes,
                values: values.to_vec(),
            },
            model: id,
        })
        .unwrap()
    }

    proptest! {
        #[test]
        fn the_one_row_answer_is_serde_jsons_byte_for_byte(
            classes in prop::collection::vec(any::<String>(), 1..6),
            id in any::<String>(),
            values in prop::collection::vec(
                prop_oneof![0.0..=1.0f64, any::<f64>(), Just(f64::NAN), Just(1.0), Just(0.0)],
                6,
            ),
            pick in any::<prop::sample::Index>(),
        ) {
            let values = &values[..classes.len()];
            let class = pick.index(classes.len());
            let written = OneRowJson::new(&classes, &id).write(class, values);
            prop_assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(by_serde(&classes, &id, class, values)).unwrap()
            );
        }
    }

    #[test]
    fn class_names_that_need_escaping_are_escaped() {
        let classes = vec![
            "a\"b".to_string(),
            "tab\there".to_string(),
            "é\u{1}".to_string(),
        ];
        let written = OneRowJson::new(&classes, "sha256:00").write(2, &[0.25, 0.25, 0.5]);
        let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(parsed["prediction"], "é\u{1}");
        assert_eq!(parsed["probabilities"]["a\"b"], 0.25);
        assert_eq!(parsed["probabilities"]["tab\there"], 0.25);
        assert_eq!(parsed["model"], "sha256:00");
    }
}
