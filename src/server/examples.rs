//! The OpenAPI document with the serving model's own examples: `POST /predict` and the
//! v2 `infer` request bodies are the model's golden rows under its real feature names,
//! and every `{name}` path parameter is the model's name. So "Try it out" in `/docs`
//! (and any client generated from the document) starts from a request that works.
//!
//! The document is filled in once per model and kept until another model is served.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use serde_json::{Map, Value, json};

use super::state::Loaded;
use super::v2_types::INPUT_NAME;
use crate::model::Model;

/// The document `base` (JSON) with `loaded`'s examples.
pub fn document(base: &[u8], loaded: &Loaded) -> Bytes {
    static LAST: ArcSwapOption<(String, Bytes)> = ArcSwapOption::const_empty();
    let id = &loaded.model.id;
    if let Some(last) = LAST.load().as_ref().filter(|last| last.0 == *id) {
        return last.1.clone();
    }
    let mut doc: Value = serde_json::from_slice(base).expect("the base document is JSON");
    fill(&mut doc, &loaded.model);
    let bytes = Bytes::from(serde_json::to_vec(&doc).expect("a JSON value serializes"));
    LAST.store(Some(Arc::new((id.clone(), bytes.clone()))));
    bytes
}

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

/// Sets the examples of every operation the model can fill in.
fn fill(doc: &mut Value, model: &Model) {
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
    let name = &model.metadata().name;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            name_parameters(operation, name);
            if path == "/predict" {
                set_body_examples(operation, &predict);
            } else if path.starts_with("/v2/") && path.ends_with("/infer") {
                set_body_examples(operation, &infer);
            }
        }
    }
}

/// Gives each `name` path parameter of an operation the model's name as its example.
fn name_parameters(operation: &mut Value, name: &str) {
    let parameters = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut);
    for p in parameters.into_iter().flatten() {
        if p["in"] == "path" && p["name"] == "name" {
            p["example"] = json!(name);
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
