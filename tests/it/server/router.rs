//! The routes of `mlops serve` in-process, through the real router, on a model trained
//! by `mlops train` from the shipped Iris data: probes, predictions, the model, metrics
//! and reloads.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{SETOSA, VERSICOLOR, VIRGINICA, iris, replace_file, trained};
use crate::support::library::{Limits, app_with, model_id, predict};
use crate::support::router::{get, iris_app, post_json, predict_setosa, send};

#[tokio::test]
async fn health_is_ok_and_every_response_names_the_model_and_the_request() {
    let (fx, app) = iris_app(Limits::default());
    let r = send(&app, get("/health")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ok"}));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("x-model-digest"),
        Some(model_id(&fx.model).as_str())
    );
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
    assert_eq!(
        nf.header("x-model-digest"),
        Some(model_id(&fx.model).as_str())
    );
    assert!(nf.header("x-request-id").is_some());
}

#[tokio::test]
async fn readiness_is_honest() {
    let (fx, app) = iris_app(Limits::default());
    let r = send(&app, get("/ready")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"status": "ready", "model": model_id(&fx.model)})
    );
    app.begin_draining();
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
    let (fx, app) = iris_app(Limits::default());
    let r = predict_setosa(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r);
    let id = model_id(&fx.model);
    let body = r.json();
    assert_eq!(
        (&body["prediction"], &body["model"]),
        (&json!("setosa"), &json!(id))
    );
    assert_eq!(r.header("x-model-digest"), Some(id.as_str()));
    // Probabilities by class name, summing to 1, the prediction the most probable.
    let p = body["probabilities"].as_object().unwrap();
    let names: Vec<&str> = p.keys().map(String::as_str).collect();
    assert_eq!(names, ["setosa", "versicolor", "virginica"]);
    let total: f64 = p.values().map(|v| v.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9, "{body}");
    assert!(p["setosa"].as_f64() >= p["virginica"].as_f64(), "{body}");
}

#[tokio::test]
async fn predicts_by_name_and_in_batches_exactly_as_the_model_does() {
    let (fx, app) = iris_app(Limits::default());
    let named = json!({"features": {"petal_width": 2.5, "petal_length": 6.0, "sepal_width": 3.3, "sepal_length": 6.3}});
    let r = send(&app, post_json("/predict", named.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r);
    assert_eq!(r.json()["prediction"], predict(&fx.model, &[VIRGINICA])[0]);

    let rows = [SETOSA, VERSICOLOR, VIRGINICA];
    let body = json!({"instances": [
        rows[0],
        {"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4},
        rows[2],
    ]});
    let r = send(&app, post_json("/predict", body.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r);
    let expected = predict(&fx.model, &rows);
    assert_eq!(expected, ["setosa", "versicolor", "virginica"]);
    let answer = r.json();
    assert_eq!(answer["predictions"], json!(expected));
    assert_eq!(answer["model"], json!(model_id(&fx.model)));
    assert_eq!(
        answer["probabilities"].as_array().map(Vec::len),
        Some(3),
        "{answer}"
    );

    // Every row of the dataset, as one batch, agrees with the model.
    let data = std::fs::read_to_string(iris()).unwrap();
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
    assert_eq!(got, json!(predict(&fx.model, &all)));
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

#[tokio::test]
async fn model_shows_metadata_provenance_and_training_metrics() {
    let (fx, app) = iris_app(Limits::default());
    let r = send(&app, get("/model")).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["id"], model_id(&fx.model));
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

/// The text of each `"key":` number in a JSON document, in order.
fn number_texts(json: &str, key: &str) -> Vec<String> {
    let needle = format!("\"{key}\":");
    json.match_indices(&needle)
        .map(|(i, _)| {
            let rest = json[i + needle.len()..].trim_start();
            let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
            rest[..end].trim().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_model_trained_on_every_row_shows_no_test_accuracy() {
    let fx = trained(&["--test-fraction", "0"]);
    let app = app_with(&fx.model, Limits::default());
    let model = send(&app, get("/model")).await.json();
    // The model's own figure and metrics.json's agree: not evaluated.
    assert!(model["metrics"]["test_accuracy"].is_null(), "{model}");
    let meta = &model["metadata"]["metrics"];
    assert!(meta["test_accuracy"].is_null(), "{meta}");
    assert!(meta["train_accuracy"].as_f64().unwrap() > 0.9, "{meta}");
    let card = String::from_utf8(send(&app, get("/")).await.body).unwrap();
    assert!(
        card.contains("<b>not evaluated</b>"),
        "the test accuracy KPI"
    );
    // An evaluated model shows its figure.
    let (_fx, app) = iris_app(Limits::default());
    let model = send(&app, get("/model")).await.json();
    assert!(
        model["metadata"]["metrics"]["test_accuracy"]
            .as_f64()
            .unwrap()
            > 0.8
    );
}

#[tokio::test]
async fn model_repeats_the_training_figures_digit_for_digit() {
    let (fx, app) = iris_app(Limits::default());
    let body = String::from_utf8(send(&app, get("/model")).await.body).unwrap();
    let on_disk = std::fs::read_to_string(fx.dir.path().join("metrics.json")).unwrap();
    for key in ["test_accuracy", "test_log_loss", "train_accuracy"] {
        let want = number_texts(&on_disk, key);
        assert_eq!(want.len(), 1, "{key} in {on_disk}");
        let got = number_texts(&body, key);
        assert!(!got.is_empty(), "{key} in {body}");
        // metrics.json's value, and the model's own copy in metadata.metrics.
        for text in got {
            assert_eq!(
                text, want[0],
                "{key}: /model says {text}, metrics.json {}",
                want[0]
            );
        }
    }
}

#[tokio::test]
async fn a_stale_or_missing_metrics_file_is_left_out() {
    let fx = trained(&[]);
    std::fs::write(
        fx.dir.path().join("metrics.json"),
        r#"{"model_sha256":"sha256:0000"}"#,
    )
    .unwrap();
    let app = app_with(&fx.model, Limits::default());
    assert_eq!(
        send(&app, get("/model")).await.json()["metrics"],
        Value::Null
    );
    std::fs::remove_file(fx.dir.path().join("metrics.json")).unwrap();
    let app = app_with(&fx.model, Limits::default());
    let r = send(&app, get("/model")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["metrics"], Value::Null);
}

#[tokio::test]
async fn metrics_count_requests_latency_predictions_and_the_model() {
    let (fx, app) = iris_app(Limits::default());
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
            model_id(&fx.model)
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
    let (fx, app) = iris_app(Limits::default());
    let old = model_id(&fx.model);
    let other = trained(&["--seed", "7"]);
    let new = model_id(&other.model);
    assert_ne!(old, new);
    replace_file(&fx.model, &std::fs::read(&other.model).unwrap());
    assert_eq!(app.reload(), Ok((old.clone(), new.clone())));
    let r = predict_setosa(&app).await;
    assert_eq!(r.json()["model"], new);
    assert_eq!(r.header("x-model-digest"), Some(new.as_str()));

    replace_file(&fx.model, b"not a model");
    let err = app.reload().unwrap_err();
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
