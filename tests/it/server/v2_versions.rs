//! The v2 versioned routes (`/v2/models/{name}/versions/{version}/...`), which answer for
//! the served model's one version (its file's sha256 in hex), and the protocol's error
//! shape for the 408 and 503 the middleware gives on v2 routes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use super::v2::{assert_v2_error, version_of};
use crate::support::library::Limits;
use crate::support::router::{get, iris_app, post_json, send};

const SETOSA_TENSOR: &str =
    r#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[5.1,3.5,1.4,0.2]}]}"#;

#[tokio::test]
async fn versioned_routes_serve_the_models_version() {
    let (fx, app) = iris_app(Limits::default());
    let v = version_of(&fx);
    let r = send(&app, get(&format!("/v2/models/iris/versions/{v}"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), send(&app, get("/v2/models/iris")).await.json());
    assert_eq!(r.json()["versions"], json!([v]));
    let r = send(&app, get(&format!("/v2/models/iris/versions/{v}/ready"))).await;
    assert_eq!(
        (r.status, r.json()),
        (StatusCode::OK, json!({"name": "iris", "ready": true}))
    );
    let path = format!("/v2/models/iris/versions/{v}/infer");
    let r = send(&app, post_json(&path, SETOSA_TENSOR)).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["model_version"], json!(v));
    assert_eq!(r.json()["outputs"][0]["data"], json!(["setosa"]));
}

#[tokio::test]
async fn another_version_or_name_is_404_in_the_protocols_shape() {
    let (fx, app) = iris_app(Limits::default());
    let v = version_of(&fx);
    for path in [
        "/v2/models/iris/versions/1".to_owned(),
        "/v2/models/iris/versions/1/ready".to_owned(),
        format!("/v2/models/other/versions/{v}/ready"),
    ] {
        let msg = assert_v2_error(&send(&app, get(&path)).await, StatusCode::NOT_FOUND);
        assert!(msg.contains("'iris'") || msg.contains(&v), "{path}: {msg}");
    }
    let r = send(
        &app,
        post_json("/v2/models/iris/versions/1/infer", SETOSA_TENSOR),
    )
    .await;
    let msg = assert_v2_error(&r, StatusCode::NOT_FOUND);
    assert!(msg.contains("version '1'") && msg.contains(&v), "{msg}");
}

/// A v2 inference request whose body never finishes arriving.
fn stalled_infer() -> Request<Body> {
    let never = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    post_json("/v2/models/iris/infer", Body::from_stream(never))
}

#[tokio::test]
async fn a_timeout_on_a_v2_route_is_408_in_the_protocols_shape() {
    let (_, app) = iris_app(Limits {
        request_timeout: Some(std::time::Duration::from_millis(50)),
        ..Limits::default()
    });
    let r = send(&app, stalled_infer()).await;
    let msg = assert_v2_error(&r, StatusCode::REQUEST_TIMEOUT);
    assert!(msg.contains("50 ms"), "{msg}");
    assert!(r.header("x-request-id").is_some() && r.header("x-model-digest").is_some());
}

#[tokio::test]
async fn overload_on_a_v2_route_is_503_in_the_protocols_shape() {
    let (_, app) = iris_app(Limits {
        max_in_flight: Some(1),
        ..Limits::default()
    });
    // Every prediction slot is taken.
    let _held = app.occupy(1);
    let r = send(&app, post_json("/v2/models/iris/infer", SETOSA_TENSOR)).await;
    assert_v2_error(&r, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), Some("1"));
    // The native routes keep their envelope.
    let r = send(&app, get("/model")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error_code(), "overloaded");
}
