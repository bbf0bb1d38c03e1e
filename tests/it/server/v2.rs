//! The Open Inference Protocol (KServe v2) subset, with request and response bodies shaped
//! as in the protocol's specification (`required_api.md`, "HTTP/REST"): the field names,
//! the nesting, the datatypes and the error object are the protocol's, so standard v2
//! clients work unchanged.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::fixture::{Fixture, trained};
use crate::support::library::{App, Limits, app_with, model_id};
use crate::support::router::{Reply, get, iris_app, post_json, send};

/// A server on Iris with room for 10 rows in one batch.
fn setup() -> (Fixture, App) {
    iris_app(Limits {
        max_batch: Some(10),
        ..Limits::default()
    })
}

/// The model's one v2 version: its file's sha256 in hex.
pub(super) fn version_of(fx: &Fixture) -> String {
    model_id(&fx.model)
        .strip_prefix("sha256:")
        .unwrap()
        .to_owned()
}

/// Asserts the protocol's error object: `{"error": <string>}` and nothing else.
pub(super) fn assert_v2_error(r: &Reply, status: StatusCode) -> String {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "{v}");
    obj["error"]
        .as_str()
        .unwrap_or_else(|| panic!("error is not a string: {v}"))
        .to_owned()
}

#[tokio::test]
async fn server_metadata_live_and_ready() {
    let (_, app) = setup();
    let r = send(&app, get("/v2")).await;
    assert_eq!(r.status, StatusCode::OK);
    // $metadata_server_response = { "name" : $string, "version" : $string, "extensions" : [ $string, ... ] }
    assert_eq!(
        r.json(),
        json!({"name": "mlops", "version": env!("CARGO_PKG_VERSION"), "extensions": ["binary_tensor_data"]})
    );
    let r = send(&app, get("/v2/health/live")).await;
    assert_eq!(
        (r.status, r.json()),
        (StatusCode::OK, json!({"live": true}))
    );
    let r = send(&app, get("/v2/health/ready")).await;
    assert_eq!(
        (r.status, r.json()),
        (StatusCode::OK, json!({"ready": true}))
    );
}

#[tokio::test]
async fn readiness_turns_off_when_draining() {
    let (_, app) = iris_app(Limits::default());
    app.begin_draining();
    let r = send(&app, get("/v2/health/ready")).await;
    assert_eq!(
        (r.status, r.json()),
        (StatusCode::SERVICE_UNAVAILABLE, json!({"ready": false}))
    );
    let r = send(&app, get("/v2/models/iris/ready")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"name": "iris", "ready": false})
        )
    );
    let r = send(&app, get("/v2/health/live")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn model_metadata_and_readiness_use_the_name_in_the_model_file() {
    let (fx, app) = setup();
    let version = version_of(&fx);
    let r = send(&app, get("/v2/models/iris")).await;
    assert_eq!(r.status, StatusCode::OK);
    // $metadata_model_response, with $metadata_tensor entries; -1 marks the batch dimension.
    assert_eq!(
        r.json(),
        json!({
            "name": "iris",
            "versions": [version],
            "platform": "mlops_random_forest",
            "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
            "outputs": [
                {"name": "label", "datatype": "BYTES", "shape": [-1]},
                {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3]}
            ]
        })
    );
    let r = send(&app, get("/v2/models/iris/ready")).await;
    assert_eq!(
        (r.status, r.json()),
        (StatusCode::OK, json!({"name": "iris", "ready": true}))
    );
    for path in ["/v2/models/mymodel", "/v2/models/mymodel/ready"] {
        let msg = assert_v2_error(&send(&app, get(path)).await, StatusCode::NOT_FOUND);
        assert!(msg.contains("'mymodel'") && msg.contains("'iris'"), "{msg}");
    }
    // `--name` at training time names the v2 model.
    let named = trained(&["--name", "flowers"]);
    let app = app_with(&named.model, Limits::default());
    assert_eq!(
        send(&app, get("/v2/models/flowers/ready")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, get("/v2/models/iris/ready")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn infer_answers_in_the_protocols_shape() {
    let (fx, app) = setup();
    // The specification's example request, with this model's one input: an id, a
    // [2, 4] FP32 tensor in the flattened representation, and a requested output.
    let request = json!({
        "id": "42",
        "inputs": [{
            "name": "input0",
            "shape": [2, 4],
            "datatype": "FP32",
            "data": [5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5]
        }],
        "outputs": [{"name": "label"}]
    });
    let r = send(
        &app,
        post_json("/v2/models/iris/infer", request.to_string()),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // $inference_response with the model's one version and without parameters.
    assert_eq!(
        r.json(),
        json!({
            "model_name": "iris",
            "model_version": version_of(&fx),
            "id": "42",
            "outputs": [{
                "name": "label",
                "shape": [2],
                "datatype": "BYTES",
                "data": ["setosa", "virginica"]
            }]
        })
    );
    assert_eq!(
        r.header("x-model-digest"),
        Some(model_id(&fx.model).as_str())
    );
}

/// What tritonclient's HTTP client sends with `binary_data=False`: no content type, the
/// protocol's parameters for binary outputs set to false.
#[tokio::test]
async fn infer_works_for_tritonclient_requests() {
    let (_, app) = setup();
    let body = json!({
        "id": "abc",
        "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32",
                    "data": [5.1, 3.5, 1.4, 0.2]}],
        "outputs": [{"name": "label", "parameters": {"binary_data": false}}],
        "parameters": {"binary_data_output": false}
    });
    let req = axum::http::Request::post("/v2/models/iris/infer")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["outputs"][0]["data"], json!(["setosa"]));
    assert_eq!(r.json()["id"], "abc");
}

#[tokio::test]
async fn infer_accepts_nested_data_fp64_integers_and_parameters() {
    let (_, app) = setup();
    // "data" : [ [ 1, 2 ], [ 4, 5 ] ] is the natural representation of the same tensor.
    let nested = json!({
        "parameters": {"content_type": "np"},
        "inputs": [{
            "name": "input-0",
            "shape": [3, 4],
            "datatype": "FP64",
            "parameters": {"note": "ignored"},
            "data": [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]]
        }]
    });
    let r = send(&app, post_json("/v2/models/iris/infer", nested.to_string())).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let v = r.json();
    assert_eq!(
        v["outputs"][0]["data"],
        json!(["setosa", "versicolor", "virginica"])
    );
    // Without an id in the request, the response's id is the request id.
    assert_eq!(v["id"].as_str(), r.header("x-request-id"));
    let ints = json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT32", "data": [5, 3, 1, 0]}]});
    let r = send(&app, post_json("/v2/models/iris/infer", ints.to_string())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["outputs"][0]["shape"], json!([1]));
}

#[tokio::test]
async fn infer_errors_use_the_protocols_error_object() {
    let (_, app) = setup();
    let infer = |body: Value| post_json("/v2/models/iris/infer", body.to_string());
    let input = |shape: Value, datatype: &str, data: Value| json!({"inputs": [{"name": "input-0", "shape": shape, "datatype": datatype, "data": data}]});
    let cases: Vec<(Value, &str)> = vec![
        // The specification's own example: two inputs of other types.
        (
            json!({"id": "42", "inputs": [
                {"name": "input0", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]},
                {"name": "input1", "shape": [3], "datatype": "BOOL", "data": [true]}
            ], "outputs": [{"name": "output0"}]}),
            "exactly one input",
        ),
        (json!({"inputs": []}), "exactly one input"),
        (
            input(json!([1, 4]), "BYTES", json!(["a", "b", "c", "d"])),
            "datatype BYTES",
        ),
        (
            input(json!([4]), "FP64", json!([5.1, 3.5, 1.4, 0.2])),
            "expected [N, 4]",
        ),
        (
            input(json!([1, 3]), "FP64", json!([5.1, 3.5, 1.4])),
            "this model takes 4",
        ),
        (
            input(json!([2, 4]), "FP64", json!([5.1, 3.5, 1.4, 0.2])),
            "needs 8 values",
        ),
        (
            input(json!([1, 4]), "FP64", json!([5.1, 3.5, 1.4, "Infinity"])),
            "feature 'petal_width'",
        ),
        (
            input(json!([1, 4]), "FP64", json!([5.1, 3.5, 1.4, true])),
            "the boolean true",
        ),
        (
            input(json!([1, 4]), "FP64", json!([5.1, 3.5, 1.4, "tall"])),
            "the string \"tall\"",
        ),
        (
            input(json!([1, 4]), "FP64", json!({"a": 1})),
            "invalid type: map",
        ),
        (
            json!({"inputs": input(json!([1, 4]), "FP64", json!([5.1, 3.5, 1.4, 0.2]))["inputs"], "outputs": [{"name": "output0"}]}),
            "unknown output 'output0'",
        ),
        (json!({"id": "1"}), "missing field `inputs`"),
    ];
    for (body, needle) in cases {
        let msg = assert_v2_error(
            &send(&app, infer(body.clone())).await,
            StatusCode::BAD_REQUEST,
        );
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let msg = assert_v2_error(
        &send(
            &app,
            infer(input(
                json!([2, 4]),
                "FP64",
                json!([[5.1, 3.5, 1.4, 0.2], [5.1, 3.5, "-Infinity", 0.2]]),
            )),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(
        msg.contains("instance 1") && msg.contains("petal_length"),
        "{msg}"
    );
    // Malformed JSON, wrong content type, too large, unknown model.
    assert_v2_error(
        &send(&app, post_json("/v2/models/iris/infer", "{")).await,
        StatusCode::BAD_REQUEST,
    );
    let plain = axum::http::Request::post("/v2/models/iris/infer")
        .header("content-type", "text/plain")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    assert_v2_error(&send(&app, plain).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A binary-data header longer than the body.
    let binary = axum::http::Request::post("/v2/models/iris/infer")
        .header("inference-header-content-length", "120")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    let msg = assert_v2_error(&send(&app, binary).await, StatusCode::BAD_REQUEST);
    assert!(msg.contains("120") && msg.contains("2 bytes"), "{msg}");
    let big = input(
        json!([11, 4]),
        "FP64",
        json!(vec![[5.1, 3.5, 1.4, 0.2]; 11]),
    );
    assert_v2_error(&send(&app, infer(big)).await, StatusCode::PAYLOAD_TOO_LARGE);
    let ok = input(json!([1, 4]), "FP64", json!([5.1, 3.5, 1.4, 0.2]));
    let r = send(&app, post_json("/v2/models/mymodel/infer", ok.to_string())).await;
    assert_v2_error(&r, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn infer_returns_probabilities_when_asked_by_name_or_when_no_output_is_named() {
    // null is a missing value, which a cart model routes.
    let (_, app) = setup();
    let r = send(
        &app,
        post_json(
            "/v2/models/iris/infer",
            json!({"inputs": [{"name": "x",
        "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, null, 0.2]}]})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let input = json!([{"name": "input-0", "shape": [2, 4], "datatype": "FP64",
        "data": [5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5]}]);
    let ask = |outputs: Value| {
        let mut body = json!({"inputs": input});
        if !outputs.is_null() {
            body["outputs"] = outputs;
        }
        post_json("/v2/models/iris/infer", body.to_string())
    };
    let r = send(&app, ask(json!([{"name": "probabilities"}]))).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let outputs = r.json()["outputs"].clone();
    assert_eq!(outputs.as_array().unwrap().len(), 1, "{outputs}");
    let p = &outputs[0];
    assert_eq!(
        (&p["name"], &p["datatype"], &p["shape"]),
        (&json!("probabilities"), &json!("FP64"), &json!([2, 3]))
    );
    let data: Vec<f64> = p["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for row in data.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{data:?}");
    }
    let r = send(&app, ask(Value::Null)).await;
    let names: Vec<Value> = r.json()["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].clone())
        .collect();
    assert_eq!(names, [json!("label"), json!("probabilities")]);
    let meta = send(&app, get("/v2/models/iris")).await.json();
    assert_eq!(
        meta["outputs"][1],
        json!({"name": "probabilities", "datatype": "FP64", "shape": [-1, 3]})
    );
}
