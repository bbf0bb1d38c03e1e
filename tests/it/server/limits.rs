//! The request limits of `mlops serve`, in-process: body size and batch rows (413),
//! the request timeout (408), and requests in flight (503).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::support::fixture::SETOSA;
use crate::support::library::Limits;
use crate::support::router::{expect_error, get, iris_app, post_json, predict_setosa, send};

#[tokio::test]
async fn bodies_and_batches_over_the_limits_are_413() {
    let (_, app) = iris_app(Limits {
        max_body_bytes: Some(256),
        max_batch: Some(2),
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
    let (_, app) = iris_app(Limits {
        request_timeout: Some(std::time::Duration::from_millis(50)),
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
    let (_, app) = iris_app(Limits {
        max_in_flight: Some(1),
        ..Limits::default()
    });
    // The only permit is taken, as by a request being handled.
    let permit = app.occupy(1);
    let r = predict_setosa(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error_code(), "overloaded");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.header("x-model-digest").is_some() && r.header("x-request-id").is_some());
    // Probes and metrics are exempt.
    for path in ["/health", "/ready", "/metrics", "/v2/health/ready"] {
        assert_eq!(send(&app, get(path)).await.status, StatusCode::OK, "{path}");
    }
    drop(permit);
    assert_eq!(predict_setosa(&app).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_slow_upload_holds_no_permit() {
    let (_, app) = iris_app(Limits {
        max_in_flight: Some(1),
        ..Limits::default()
    });
    // A request whose body never finishes arriving is in flight, without a permit.
    let holder = tokio::spawn({
        let app = app.clone();
        async move { send(&app, stalled_predict()).await }
    });
    while !app
        .metrics_text()
        .contains("mlops_http_requests_in_flight 1")
    {
        tokio::task::yield_now().await;
    }
    let r = predict_setosa(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    // A request dropped midway (a client that went away) leaves the gauge.
    holder.abort();
    let _ = holder.await;
    for _ in 0..1000 {
        if app
            .metrics_text()
            .contains("mlops_http_requests_in_flight 0")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(
        app.metrics_text()
            .contains("mlops_http_requests_in_flight 0")
    );
    assert!(
        app.metrics_text()
            .contains(r#"mlops_http_requests_total{route="/predict",status="499"} 1"#)
    );
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_while_it_is_read() {
    let (_, app) = iris_app(Limits {
        max_batch: Some(2),
        ..Limits::default()
    });
    // Rows beyond the limit are counted, not read as rows: a batch over the limit is a
    // 413 even when a later element is not a row at all (a full parse says 422).
    let body = r#"{"instances": [[5.1,3.5,1.4,0.2], {}, [], true, "x", {"a": [1]}]}"#;
    let e = expect_error(
        &app,
        post_json("/predict", body),
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
    )
    .await;
    assert_eq!(e["details"], json!({"rows": 6, "max_batch": 2}));
    // Empty rows count too.
    let e = expect_error(
        &app,
        post_json("/predict", r#"{"instances":[{},{},{}]}"#),
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
    )
    .await;
    assert_eq!(e["details"], json!({"rows": 3, "max_batch": 2}));
    // At the limit, rows are checked as before; null is no batch.
    let e = expect_error(
        &app,
        post_json("/predict", r#"{"instances":[[1,2,3,4], true]}"#),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("row"), "{e}");
    for body in [
        r#"{"instances": null, "features": [5.1,3.5,1.4,0.2]}"#,
        r#"{"instances": [[5.1,3.5,1.4,0.2],[5.1,3.5,1.4,0.2]]}"#,
    ] {
        assert_eq!(
            send(&app, post_json("/predict", body)).await.status,
            StatusCode::OK,
            "{body}"
        );
    }
    for body in [
        r#"{"instances": [], "instances": []}"#,
        r#"{"instances": [], "extra": 1}"#,
    ] {
        expect_error(
            &app,
            post_json("/predict", body),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        )
        .await;
    }
}
