//! The binary tensor data extension on v2 inference, with requests built byte by byte
//! as the extension specifies them: `Inference-Header-Content-Length` gives the JSON
//! part's length, each binary input's `parameters.binary_data_size` its bytes
//! (little-endian, row-major) after the JSON, and outputs asked for with
//! `binary_data: true` come back the same way.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::v2::assert_v2_error;
use crate::support::fixture::{SETOSA, VERSICOLOR, VIRGINICA};
use crate::support::library::{App, Limits};
use crate::support::router::{Reply, iris_app, send};

/// A v2 inference request: `header` as JSON, then `binary`.
fn binary_request(header: &Value, binary: &[u8], content_type: Option<&str>) -> Request<Body> {
    let json = header.to_string();
    let mut body = json.clone().into_bytes();
    body.extend_from_slice(binary);
    let mut req = Request::post("/v2/models/iris/infer")
        .header("inference-header-content-length", json.len().to_string());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(Body::from(body)).unwrap()
}

fn fp32_rows(rows: &[[f64; 4]]) -> Vec<u8> {
    rows.iter()
        .flatten()
        .flat_map(|&v| (v as f32).to_le_bytes())
        .collect()
}

/// Splits a binary response into its JSON part and its binary part.
fn split(r: &Reply) -> (Value, &[u8]) {
    let len: usize = r
        .header("inference-header-content-length")
        .expect("a binary response has the header")
        .parse()
        .unwrap();
    (
        serde_json::from_slice(&r.body[..len]).unwrap(),
        &r.body[len..],
    )
}

async fn infer(app: &App, header: Value, binary: &[u8]) -> Reply {
    send(app, binary_request(&header, binary, None)).await
}

#[tokio::test]
async fn binary_inputs_and_outputs_round_trip() {
    let (_, app) = iris_app(Limits::default());
    let data = fp32_rows(&[SETOSA, VERSICOLOR, VIRGINICA]);
    let header = json!({
        "inputs": [{"name": "input-0", "shape": [3, 4], "datatype": "FP32",
                    "parameters": {"binary_data_size": data.len()}}],
        "outputs": [{"name": "probabilities", "parameters": {"binary_data": true}},
                    {"name": "label", "parameters": {"binary_data": true}}]
    });
    let r = infer(&app, header, &data).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let (json, binary) = split(&r);
    let outputs = json["outputs"].as_array().unwrap();
    assert!(outputs.iter().all(|o| o.get("data").is_none()), "{json}");
    assert_eq!(outputs[0]["parameters"]["binary_data_size"], 3 * 3 * 8);
    assert_eq!(outputs[0]["shape"], json!([3, 3]));
    let (probabilities, labels) = binary.split_at(72);
    let p: Vec<f64> = probabilities
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    for (row, class) in p.chunks_exact(3).zip([0, 1, 2]) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
        let best = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert_eq!(best, class, "{row:?}");
    }
    // BYTES: each element a 4-byte little-endian length, then the bytes.
    let mut expected = Vec::new();
    for name in ["setosa", "versicolor", "virginica"] {
        expected.extend_from_slice(&(name.len() as u32).to_le_bytes());
        expected.extend_from_slice(name.as_bytes());
    }
    assert_eq!(labels, &expected[..]);
    assert_eq!(outputs[1]["parameters"]["binary_data_size"], expected.len());
}

#[tokio::test]
async fn binary_output_follows_the_request_default_and_json_stays_json() {
    let (_, app) = iris_app(Limits::default());
    let data: Vec<u8> = SETOSA.iter().flat_map(|v| v.to_le_bytes()).collect();
    let input = json!([{"name": "x", "shape": [1, 4], "datatype": "FP64",
                        "parameters": {"binary_data_size": 32}}]);
    // binary_data_output for all outputs, overridden by one output's binary_data.
    let header = json!({"inputs": input, "parameters": {"binary_data_output": true},
        "outputs": [{"name": "label", "parameters": {"binary_data": false}}, {"name": "probabilities"}]});
    let r = infer(&app, header, &data).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let (json, binary) = split(&r);
    assert_eq!(json["outputs"][0]["data"], json!(["setosa"]));
    assert_eq!(json["outputs"][1]["parameters"]["binary_data_size"], 24);
    assert_eq!(binary.len(), 24);
    // Binary input, JSON outputs: a plain JSON answer, whatever content type was sent.
    for ct in [
        None,
        Some("application/octet-stream"),
        Some("application/json"),
    ] {
        let header = json!({"inputs": input});
        let r = send(&app, binary_request(&header, &data, ct)).await;
        assert_eq!(r.status, StatusCode::OK, "{ct:?}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("inference-header-content-length").is_none());
        assert_eq!(r.json()["outputs"][0]["data"], json!(["setosa"]));
    }
}

#[tokio::test]
async fn inconsistent_binary_requests_are_400() {
    let (_, app) = iris_app(Limits {
        max_batch: Some(2),
        ..Limits::default()
    });
    let data = fp32_rows(&[SETOSA]);
    let input = |shape: Value, datatype: &str, size: Value| {
        json!({"inputs": [{"name": "x", "shape": shape, "datatype": datatype,
                           "parameters": {"binary_data_size": size}}]})
    };
    let cases: Vec<(Value, Vec<u8>, &str)> = vec![
        // The size disagrees with shape x datatype.
        (
            input(json!([1, 4]), "FP64", json!(16)),
            data.clone(),
            "needs 32",
        ),
        // Bytes left over, or missing.
        (
            input(json!([1, 4]), "FP32", json!(16)),
            [&data[..], &[0u8; 4]].concat(),
            "4 bytes after",
        ),
        (
            input(json!([1, 4]), "FP32", json!(16)),
            data[..8].to_vec(),
            "only 8 remain",
        ),
        // Not a byte count; not a numeric datatype; not a boolean parameter.
        (
            input(json!([1, 4]), "FP32", json!("16")),
            data.clone(),
            "byte count",
        ),
        (
            input(json!([1, 4]), "BYTES", json!(16)),
            data.clone(),
            "BYTES",
        ),
        (
            input(json!([1, 4]), "FP16", json!(8)),
            data[..8].to_vec(),
            "FP16",
        ),
        (
            json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                "parameters": {"binary_data_size": 16}}], "parameters": {"binary_data_output": 1}}),
            data.clone(),
            "true or false",
        ),
        // Both JSON data and binary data.
        (
            json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                "data": [1, 2, 3, 4], "parameters": {"binary_data_size": 16}}]}),
            data.clone(),
            "both",
        ),
        // A shape whose size overflows.
        (
            input(json!([u64::MAX, 4]), "FP32", json!(16)),
            data.clone(),
            "needs more than",
        ),
    ];
    for (header, binary, needle) in cases {
        let r = infer(&app, header.clone(), &binary).await;
        let msg = assert_v2_error(&r, StatusCode::BAD_REQUEST);
        assert!(msg.contains(needle), "{header}: {msg}");
    }
    // The batch limit holds for binary tensors too.
    let rows = fp32_rows(&[SETOSA, SETOSA, SETOSA]);
    let r = infer(&app, input(json!([3, 4]), "FP32", json!(48)), &rows).await;
    assert_v2_error(&r, StatusCode::PAYLOAD_TOO_LARGE);
    // No data at all.
    let r = infer(
        &app,
        json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32"}]}),
        &[],
    )
    .await;
    let msg = assert_v2_error(&r, StatusCode::BAD_REQUEST);
    assert!(msg.contains("no data"), "{msg}");
    // A header that is not a length; a content type that is neither JSON nor bytes.
    let mut req = binary_request(
        &input(json!([1, 4]), "FP32", json!(16)),
        &data,
        Some("text/plain"),
    );
    assert_v2_error(&send(&app, req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    req = binary_request(&input(json!([1, 4]), "FP32", json!(16)), &data, None);
    req.headers_mut()
        .insert("inference-header-content-length", "-1".parse().unwrap());
    assert_v2_error(&send(&app, req).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_binary_body_over_the_limit_is_413_in_the_v2_shape() {
    let (_, app) = iris_app(Limits {
        max_body_bytes: Some(256),
        ..Limits::default()
    });
    let data = fp32_rows(&[SETOSA; 20]);
    let header = json!({
        "inputs": [{"name": "input-0", "shape": [20, 4], "datatype": "FP32",
                    "parameters": {"binary_data_size": data.len()}}],
    });
    let r = infer(&app, header, &data).await;
    let message = assert_v2_error(&r, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("--max-body-bytes"), "{message}");
}
