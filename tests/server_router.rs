//! In-process tests of every route and every error case of `mlops serve`, through the
//! real router (middleware, limits and fallbacks included), on a model trained by
//! `mlops train` from the shipped Iris data.

mod server_common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use mlops::model::Model;
use mlops::server::{Limits, openapi};
use proptest::prelude::*;
use serde_json::{Value, json};
use server_common::*;

const SETOSA: [f64; 4] = [5.1, 3.5, 1.4, 0.2];
const VERSICOLOR: [f64; 4] = [7.0, 3.2, 4.7, 1.4];
const VIRGINICA: [f64; 4] = [6.3, 3.3, 6.0, 2.5];

fn setup() -> (Fixture, mlops::server::AppState, axum::Router) {
    setup_with(Limits::default())
}

fn setup_with(limits: Limits) -> (Fixture, mlops::server::AppState, axum::Router) {
    let fx = trained(&[]);
    let (state, app) = app_with(&fx, limits);
    (fx, state, app)
}

/// The reference service's example request: one Iris setosa row by position.
async fn predict_setosa(app: &axum::Router) -> Reply {
    send(
        app,
        post_json("/predict", r#"{"features":[5.1,3.5,1.4,0.2]}"#),
    )
    .await
}

fn model_id(fx: &Fixture) -> String {
    Model::load(&fx.model).unwrap().id
}

#[tokio::test]
async fn health_is_ok_and_every_response_names_the_model_and_the_request() {
    let (fx, _, app) = setup();
    let r = send(&app, get("/health")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ok"}));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-model-digest"), Some(model_id(&fx).as_str()));
    let assigned = r.header("x-request-id").unwrap().to_owned();
    assert!(!assigned.is_empty());
    // Assigned ids differ; a sane incoming id is echoed; an insane one is replaced.
    let r2 = send(&app, get("/health")).await;
    assert_ne!(r2.header("x-request-id").unwrap(), assigned);
    let echoed = send(
        &app,
        Request::get("/health")
            .header("x-request-id", "trace-42")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(echoed.header("x-request-id"), Some("trace-42"));
    let long = "x".repeat(500);
    let replaced = send(
        &app,
        Request::get("/health")
            .header("x-request-id", &long)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_ne!(replaced.header("x-request-id"), Some(long.as_str()));
    // Errors too.
    let nf = send(&app, get("/nowhere")).await;
    assert_eq!(nf.header("x-model-digest"), Some(model_id(&fx).as_str()));
    assert!(nf.header("x-request-id").is_some());
}

#[tokio::test]
async fn readiness_is_honest() {
    let (fx, state, app) = setup();
    let r = send(&app, get("/ready")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ready", "model": model_id(&fx)}));
    state.begin_draining();
    let r = send(&app, get("/ready")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error_code(), "not_ready");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down")
    );
    // Liveness does not change, and predictions in flight still work while draining.
    assert_eq!(send(&app, get("/health")).await.status, StatusCode::OK);
    let p = predict_setosa(&app).await;
    assert_eq!(p.status, StatusCode::OK);
}

#[tokio::test]
async fn predicts_one_row_by_position_like_the_reference_service() {
    let (fx, _, app) = setup();
    let r = predict_setosa(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r);
    let id = model_id(&fx);
    assert_eq!(r.json(), json!({"prediction": "setosa", "model": id}));
    assert_eq!(r.header("x-model-digest"), Some(id.as_str()));
}

#[tokio::test]
async fn predicts_by_name_and_in_batches_exactly_as_the_model_does() {
    let (fx, _, app) = setup();
    let model = Model::load(&fx.model).unwrap();
    let named = json!({"features": {"petal_width": 2.5, "petal_length": 6.0, "sepal_width": 3.3, "sepal_length": 6.3}});
    let r = send(&app, post_json("/predict", named.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r);
    assert_eq!(r.json()["prediction"], model.predict_one(&VIRGINICA));

    let rows = [SETOSA, VERSICOLOR, VIRGINICA];
    let body = json!({"instances": [
        rows[0],
        {"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4},
        rows[2],
    ]});
    let r = send(&app, post_json("/predict", body.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r);
    let expected: Vec<&str> = rows.iter().map(|row| model.predict_one(row)).collect();
    assert_eq!(expected, ["setosa", "versicolor", "virginica"]);
    assert_eq!(
        r.json(),
        json!({"predictions": expected, "model": model.id})
    );

    // Every row of the dataset, as one batch, agrees with the model.
    let data = std::fs::read_to_string(iris_csv()).unwrap();
    let all: Vec<Vec<f64>> = data
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(4).map(|v| v.parse().unwrap()).collect())
        .collect();
    let r = send(
        &app,
        post_json("/predict", json!({"instances": all}).to_string()),
    )
    .await;
    let got = r.json()["predictions"].clone();
    let want: Vec<&str> = all.iter().map(|row| model.predict_one(row)).collect();
    assert_eq!(got, json!(want));
    // Numeric strings are accepted, as the reference service's pydantic model did.
    let r = send(
        &app,
        post_json("/predict", r#"{"features":["5.1","3.5","1.4","0.2"]}"#),
    )
    .await;
    assert_eq!(r.json()["prediction"], "setosa");
    // An empty batch is a valid, empty answer.
    let r = send(&app, post_json("/predict", r#"{"instances":[]}"#)).await;
    assert_eq!(r.json()["predictions"], json!([]));
}

/// Asserts an error status and code, and returns the envelope.
async fn expect_error(
    app: &axum::Router,
    req: Request<Body>,
    status: StatusCode,
    code: &str,
) -> Value {
    let r = send(app, req).await;
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.error_code(), code);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()["error"].clone()
}

/// Asserts that `/predict` answers 422 `invalid_input` to `body`; returns the envelope.
async fn invalid_predict(app: &axum::Router, body: impl Into<Body>) -> Value {
    expect_error(
        app,
        post_json("/predict", body),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (_, _, app) = setup();
    for body in [
        r#"{"features":[5.1,3.5"#,
        "not json",
        "",
        "{\"features\": [1,2,3,4]} trailing",
    ] {
        let e = expect_error(
            &app,
            post_json("/predict", body),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        )
        .await;
        assert!(e["details"]["line"].is_number(), "{e}");
    }
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (_, _, app) = setup();
    let body = r#"{"features":[5.1,3.5,1.4,0.2]}"#;
    let with_type = |content_type: &str| {
        Request::post("/predict")
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    // What `curl -d` sends without -H, and other non-JSON types.
    for wrong in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/octet-stream",
    ] {
        expect_error(
            &app,
            with_type(wrong),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    for json in [
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        assert_eq!(
            send(&app, with_type(json)).await.status,
            StatusCode::OK,
            "{json}"
        );
    }
    // No content type at all is read as JSON, as the reference service did.
    let unlabelled = Request::post("/predict").body(Body::from(body)).unwrap();
    assert_eq!(send(&app, unlabelled).await.json()["prediction"], "setosa");
}

#[tokio::test]
async fn wrong_feature_count_is_422() {
    let (_, _, app) = setup();
    let e = invalid_predict(&app, r#"{"features":[5.1,3.5,1.4]}"#).await;
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("expected 4") && msg.contains("got 3") && msg.contains("petal_width"),
        "{msg}"
    );
    let e = expect_error(
        &app,
        post_json(
            "/predict",
            r#"{"instances":[[5.1,3.5,1.4,0.2],[1,2,3,4,5]]}"#,
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;
    assert!(
        e["message"].as_str().unwrap().starts_with("instance 1:"),
        "{e}"
    );
    assert_eq!(e["details"]["row"], 1);
}

#[tokio::test]
async fn unknown_missing_and_duplicate_names_are_422_naming_the_feature() {
    let (_, _, app) = setup();
    let cases = [
        (
            r#"{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_wdth":0.2}}"#,
            "unknown feature 'petal_wdth'",
            "petal_wdth",
        ),
        (
            r#"{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}}"#,
            "feature 'petal_width' is missing",
            "petal_width",
        ),
        (
            r#"{"features":{"sepal_length":5.1,"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}}"#,
            "feature 'sepal_length' is given twice",
            "sepal_length",
        ),
    ];
    for (body, message, feature) in cases {
        let e = invalid_predict(&app, body).await;
        assert!(e["message"].as_str().unwrap().contains(message), "{e}");
        assert_eq!(e["details"]["feature"], feature);
        assert_eq!(e["details"]["row"], 0);
    }
    let batch = r#"{"instances":[[5.1,3.5,1.4,0.2],[5.1,3.5,1.4,0.2],{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}]}"#;
    let e = invalid_predict(&app, batch).await;
    assert_eq!(e["message"], "instance 2: feature 'petal_width' is missing");
    assert_eq!(e["details"]["row"], 2);
}

#[tokio::test]
async fn non_finite_values_are_422_naming_the_feature_and_the_row() {
    let (_, _, app) = setup();
    // Bare NaN/Infinity as Python's json module writes them, overflowing numbers, the
    // strings, and null.
    let cases = [
        (r#"{"features":[5.1,3.5,NaN,0.2]}"#, "petal_length", 0),
        (r#"{"features":[5.1,Infinity,1.4,0.2]}"#, "sepal_width", 0),
        (r#"{"features":[-Infinity,3.5,1.4,0.2]}"#, "sepal_length", 0),
        (r#"{"features":[5.1,3.5,1.4,1e999]}"#, "petal_width", 0),
        (r#"{"features":[5.1,3.5,"NaN",0.2]}"#, "petal_length", 0),
        (r#"{"features":[5.1,3.5,1.4,null]}"#, "petal_width", 0),
        (
            r#"{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":NaN}}"#,
            "petal_width",
            0,
        ),
        (
            r#"{"instances":[[5.1,3.5,1.4,0.2],[5.1,3.5,1.4,0.2],[5.1,NaN,1.4,0.2]]}"#,
            "sepal_width",
            2,
        ),
    ];
    for (body, feature, row) in cases {
        let e = invalid_predict(&app, body).await;
        let msg = e["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("feature '{feature}'")) && msg.contains("finite"),
            "{body}: {msg}"
        );
        assert_eq!(e["details"]["feature"], feature, "{body}");
        assert_eq!(e["details"]["row"], row, "{body}");
    }
}

#[tokio::test]
async fn wrong_shapes_are_422() {
    let (_, _, app) = setup();
    for body in [
        r#"{}"#,
        r#"{"features":[5.1,3.5,1.4,0.2],"instances":[]}"#,
        r#"{"feature":[5.1,3.5,1.4,0.2]}"#,
        r#"{"features":"5.1,3.5,1.4,0.2"}"#,
        r#"{"features":[5.1,3.5,1.4,true]}"#,
        r#"{"features":[5.1,3.5,1.4,"tall"]}"#,
        r#"{"features":[[5.1,3.5,1.4,0.2]]}"#,
        r#"{"instances":{"a":[1,2,3,4]}}"#,
        r#"[5.1,3.5,1.4,0.2]"#,
        r#"null"#,
    ] {
        invalid_predict(&app, body).await;
    }
}

#[tokio::test]
async fn bodies_and_batches_over_the_limits_are_413() {
    let (_, _, app) = setup_with(Limits {
        max_body_bytes: 256,
        max_batch: 2,
        ..Limits::default()
    });
    let big = json!({"instances": vec![SETOSA; 20]}).to_string();
    assert!(big.len() > 256);
    expect_error(
        &app,
        post_json("/predict", big),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let three = json!({"instances": vec![SETOSA; 3]}).to_string();
    let e = expect_error(
        &app,
        post_json("/predict", three),
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
    )
    .await;
    assert_eq!(e["details"], json!({"rows": 3, "max_batch": 2}));
    let two = json!({"instances": vec![SETOSA; 2]}).to_string();
    assert_eq!(
        send(&app, post_json("/predict", two)).await.status,
        StatusCode::OK
    );
}

/// A prediction request whose body never finishes arriving.
fn stalled_predict() -> Request<Body> {
    let never = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    post_json("/predict", Body::from_stream(never))
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_is_408() {
    let (_, _, app) = setup_with(Limits {
        request_timeout: std::time::Duration::from_millis(50),
        ..Limits::default()
    });
    let e = expect_error(
        &app,
        stalled_predict(),
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("50 ms"), "{e}");
}

#[tokio::test]
async fn beyond_max_in_flight_the_answer_is_503_with_retry_after() {
    let (_, state, app) = setup_with(Limits {
        max_in_flight: 1,
        ..Limits::default()
    });
    // One request holds the only permit while it waits for its body.
    let holder = tokio::spawn({
        let app = app.clone();
        async move { send(&app, stalled_predict()).await }
    });
    while !state
        .metrics()
        .encode()
        .contains("mlops_http_requests_in_flight 1")
    {
        tokio::task::yield_now().await;
    }
    let r = predict_setosa(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error_code(), "overloaded");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.header("x-model-digest").is_some() && r.header("x-request-id").is_some());
    // Probes and metrics are exempt.
    for path in ["/health", "/ready", "/metrics", "/v2/health/ready"] {
        assert_eq!(send(&app, get(path)).await.status, StatusCode::OK, "{path}");
    }
    // Once the holder is gone, there is room again.
    holder.abort();
    let _ = holder.await;
    // A request dropped midway (a client that went away) leaves the gauge.
    let gauge = |state: &mlops::server::AppState| state.metrics().encode();
    for _ in 0..1000 {
        if gauge(&state).contains("mlops_http_requests_in_flight 0") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(gauge(&state).contains("mlops_http_requests_in_flight 0"));
    assert!(
        gauge(&state).contains(r#"mlops_http_requests_total{route="/predict",status="499"} 1"#)
    );
    let r = predict_setosa(&app).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let (_, _, app) = setup();
    expect_error(
        &app,
        get("/predict/extra"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(&app, get("/"), StatusCode::NOT_FOUND, "not_found").await;
    let r = send(&app, get("/predict")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error_code(), "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = send(
        &app,
        Request::delete("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error_code(), "method_not_allowed");
}

#[tokio::test]
async fn model_shows_metadata_provenance_and_training_metrics() {
    let (fx, _, app) = setup();
    let r = send(&app, get("/model")).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["id"], model_id(&fx));
    assert_eq!(v["metadata"]["name"], "iris");
    assert_eq!(
        v["metadata"]["features"],
        json!(["sepal_length", "sepal_width", "petal_length", "petal_width"])
    );
    assert_eq!(
        v["metadata"]["classes"],
        json!(["setosa", "versicolor", "virginica"])
    );
    assert_eq!(v["metadata"]["dataset"]["file_name"], "iris.csv");
    assert!(v["loaded_at"].as_u64().unwrap() > 0);
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(fx.dir.path().join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(v["metrics"], on_disk);
}

#[tokio::test]
async fn a_stale_or_missing_metrics_file_is_left_out() {
    let fx = trained(&[]);
    std::fs::write(
        fx.dir.path().join("metrics.json"),
        r#"{"model_sha256":"sha256:0000"}"#,
    )
    .unwrap();
    let (_, app) = app_with(&fx, Limits::default());
    assert_eq!(
        send(&app, get("/model")).await.json()["metrics"],
        Value::Null
    );
    std::fs::remove_file(fx.dir.path().join("metrics.json")).unwrap();
    let (_, app) = app_with(&fx, Limits::default());
    let r = send(&app, get("/model")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["metrics"], Value::Null);
}

#[tokio::test]
async fn metrics_count_requests_latency_predictions_and_the_model() {
    let (fx, _, app) = setup();
    predict_setosa(&app).await;
    send(
        &app,
        post_json(
            "/predict",
            json!({"instances": [SETOSA, VIRGINICA]}).to_string(),
        ),
    )
    .await;
    send(&app, post_json("/predict", "{")).await;
    send(&app, get("/no/such/path")).await;
    let r = send(&app, get("/metrics")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8(r.body).unwrap();
    for needle in [
        r#"mlops_http_requests_total{route="/predict",status="200"} 2"#.to_owned(),
        r#"mlops_http_requests_total{route="/predict",status="400"} 1"#.to_owned(),
        r#"mlops_http_requests_total{route="unmatched",status="404"} 1"#.to_owned(),
        r#"mlops_predictions_total{class="setosa"} 2"#.to_owned(),
        r#"mlops_predictions_total{class="virginica"} 1"#.to_owned(),
        "mlops_http_request_duration_seconds_bucket".to_owned(),
        format!(
            r#"mlops_model_info{{model="{}",name="iris"}} 1"#,
            model_id(&fx)
        ),
        "# EOF".to_owned(),
    ] {
        assert!(text.contains(&needle), "missing {needle} in\n{text}");
    }
    assert!(
        !text.contains("/no/such/path"),
        "raw paths must not become labels"
    );
}

#[tokio::test]
async fn reload_swaps_models_atomically_and_keeps_the_old_one_on_failure() {
    let (fx, state, app) = setup();
    let old = model_id(&fx);
    let other = trained(&["--seed", "7"]);
    let new = model_id(&other);
    assert_ne!(old, new);
    replace_file(&fx.model, &std::fs::read(&other.model).unwrap());
    let reloaded = state.reload().unwrap();
    assert_eq!(
        (reloaded.old.as_str(), reloaded.new.as_str()),
        (old.as_str(), new.as_str())
    );
    let r = predict_setosa(&app).await;
    assert_eq!(r.json()["model"], new);
    assert_eq!(r.header("x-model-digest"), Some(new.as_str()));

    replace_file(&fx.model, b"not a model");
    let err = state.reload().unwrap_err().to_string();
    assert!(err.contains("not an mlops model file"), "{err}");
    let r = predict_setosa(&app).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["model"], new);
    let text = String::from_utf8(send(&app, get("/metrics")).await.body).unwrap();
    assert!(
        text.contains(r#"mlops_model_reloads_total{result="ok"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"mlops_model_reloads_total{result="error"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains(&old),
        "the old model's info is gone:\n{text}"
    );
}

/// Replaces `{name}` path parameters with the served model's name.
fn concrete(path: &str) -> String {
    path.replace("{name}", "iris")
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let (_, _, app) = setup();
    let r = send(&app, get("/openapi.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "mlops");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> = openapi::api()
        .routes
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    routed.sort();
    assert_eq!(
        documented, routed,
        "the OpenAPI paths and the route table differ"
    );

    // And each of those routes exists on the router with that method.
    for (method, path) in &routed {
        let method: Method = method.parse().unwrap();
        let req = Request::builder()
            .method(method.clone())
            .uri(concrete(path))
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let r = send(&app, req).await;
        assert!(
            r.status != StatusCode::NOT_FOUND && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} -> {}",
            r.status
        );
    }
}

/// Collects every `$ref` in a JSON value.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_well_formed() {
    let (_, _, app) = setup();
    let doc = send(&app, get("/openapi.json")).await.json();
    // Every reference resolves to a component schema.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {r}"
        );
    }
    // Operation ids are unique; path parameters are declared.
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            if path.contains("{name}") {
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == "name" && p["in"] == "path" && p["required"] == true)
                );
            }
        }
    }
    // The predict request documents both forms of a row.
    let row = &doc["components"]["schemas"]["Row"];
    assert_eq!(row["oneOf"].as_array().map(Vec::len), Some(2), "{row}");
    assert_eq!(row["oneOf"][0]["type"], "array", "rows are untagged: {row}");
    // And both forms of the answer.
    let ok = &doc["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        ["$ref"];
    let name = ok.as_str().unwrap().rsplit('/').next().unwrap();
    let answer = &doc["components"]["schemas"][name];
    assert_eq!(
        answer["oneOf"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
}

// ------------------------------------------------------------ property test

/// Arbitrary JSON, biased towards the keys and shapes the routes look at.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("features".to_owned()),
        Just("instances".to_owned()),
        Just("inputs".to_owned()),
        Just("outputs".to_owned()),
        Just("shape".to_owned()),
        Just("datatype".to_owned()),
        Just("data".to_owned()),
        Just("name".to_owned()),
        Just("id".to_owned()),
        Just("petal_width".to_owned()),
        Just("sepal_length".to_owned()),
        "[a-z_]{0,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        (-10.0..10.0f64).prop_map(|f| json!(f)),
        prop_oneof![
            Just("FP64"),
            Just("FP32"),
            Just("BYTES"),
            Just("NaN"),
            Just("1.5"),
            Just("")
        ]
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Bodies that reach deep into validation: valid envelopes around arbitrary parts.
fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        arb_json().prop_map(|v| v.to_string().into_bytes()),
        arb_json().prop_map(|v| json!({"features": v}).to_string().into_bytes()),
        arb_json().prop_map(|v| json!({"instances": v}).to_string().into_bytes()),
        prop::collection::vec(arb_json(), 0..5)
            .prop_map(|v| json!({"instances": v}).to_string().into_bytes()),
        (arb_json(), arb_json(), arb_json()).prop_map(|(shape, dt, data)| {
            json!({"inputs": [{"name": "x", "shape": shape, "datatype": dt, "data": data}]})
                .to_string()
                .into_bytes()
        }),
        prop::collection::vec(any::<u8>(), 0..64),
        // Mangled JSON: arbitrary bytes spliced into a valid body.
        (arb_json(), any::<prop::sample::Index>(), ".{0,4}").prop_map(|(v, at, junk)| {
            let mut s = json!({"features": v}).to_string();
            let i = at.index(s.len() + 1);
            let i = (0..=i).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            s.insert_str(i, &junk);
            s.into_bytes()
        }),
    ]
}

#[test]
fn arbitrary_bodies_never_produce_a_server_error() {
    let fx = trained(&[]);
    let (_, app) = app_with(
        &fx,
        Limits {
            max_batch: 16,
            ..Limits::default()
        },
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    });
    runner
        .run(&(arb_body(), 0..3usize), |(body, route)| {
            let path = [
                "/predict",
                "/v2/models/iris/infer",
                "/v2/models/other/infer",
            ][route];
            let r = rt.block_on(send(&app, post_json(path, body.clone())));
            prop_assert!(
                r.status.as_u16() < 500,
                "{path} {} -> {}: {}",
                String::from_utf8_lossy(&body),
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            // Whatever the outcome, the body is JSON.
            prop_assert!(serde_json::from_slice::<Value>(&r.body).is_ok());
            Ok(())
        })
        .unwrap();
}
