//! The serving model's own request examples in the OpenAPI document: `POST /predict`
//! and the v2 `infer` request bodies are the model's golden rows under its real feature
//! names. So "Try it out" in `/docs` (and any client generated from the document) starts
//! from a request that works. [`super::openapi::for_model`] calls it once per model.

use serde_json::{Map, Value, json};

use super::v2_types::INPUT_NAME;
use crate::model::Model;

/// Up to two golden rows, of different predicted classes when the model has them.
fn sample_rows(model: &Model) -> Vec<&[f64]> {
    let golden = model.golden();
    let mut rows: Vec<&[f64]> = golden
        .first()
        .map(|g| &g.features[..])
        .into_iter()
        .collect();
    if let Some(first) = golden.first() {
        let other = golden.iter().find(|g| g.prediction != first.prediction);
        rows.extend(other.or(golden.get(1)).map(|g| &g.features[..]));
    }
    if rows.is_empty() {
        rows.push(&[]);
    }
    rows
}

/// A row as JSON numbers (a missing value, NaN, is `null`).
fn numbers(row: &[f64], width: usize) -> Vec<Value> {
    (0..width)
        .map(|i| row.get(i).copied().filter(|v| v.is_finite()))
        .map(|v| v.map_or(Value::Null, |v| json!(v)))
        .collect()
}

/// Sets the request body examples of every operation the model can fill in.
pub fn fill(doc: &mut Value, model: &Model) {
    let features = model.features();
    let rows = sample_rows(model);
    let first = numbers(rows[0], features.len());
    let by_name: Map<String, Value> = features.iter().cloned().zip(first.clone()).collect();
    let predict = json!({
        "one_row": {"summary": "One row, values in feature order", "value": {"features": first}},
        "by_name": {"summary": "One row by feature name", "value": {"features": by_name}},
        "batch": {"summary": "A batch of rows",
            "value": {"instances": rows.iter().map(|r| numbers(r, features.len())).collect::<Vec<_>>()}},
    });
    let flat: Vec<Value> = rows
        .iter()
        .flat_map(|r| numbers(r, features.len()))
        .collect();
    let infer = json!({"infer": {"summary": "Rows as one FP64 tensor", "value": {
        "id": "1",
        "inputs": [{"name": INPUT_NAME, "shape": [rows.len(), features.len()], "datatype": "FP64", "data": flat}],
    }}});
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            if path == "/predict" {
                set_body_examples(operation, &predict);
            } else if path.starts_with("/v2/") && path.ends_with("/infer") {
                set_body_examples(operation, &infer);
            }
        }
    }
}

/// Replaces the JSON request body's examples of an operation.
fn set_body_examples(operation: &mut Value, examples: &Value) {
    if let Some(media) = operation
        .pointer_mut("/requestBody/content/application~1json")
        .and_then(Value::as_object_mut)
    {
        media.remove("example");
        media.insert("examples".to_owned(), examples.clone());
    }
}
