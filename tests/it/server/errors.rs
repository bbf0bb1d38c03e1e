//! Bad requests to `mlops serve`, in-process: each gets its status and a JSON error
//! envelope saying what is wrong and where, and no request at all gets a 5xx.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::library::{App, Limits};
use crate::support::router::{expect_error, get, iris_app, post_json, send};

/// Asserts that `/predict` answers 422 `invalid_input` to `body`; returns the envelope.
async fn invalid_predict(app: &App, body: impl Into<Body>) -> Value {
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
    let (_, app) = iris_app(Limits::default());
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
    let (_, app) = iris_app(Limits::default());
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
    let (_, app) = iris_app(Limits::default());
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
    let (_, app) = iris_app(Limits::default());
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
async fn infinities_are_422_naming_the_feature_and_the_row() {
    let (_, app) = iris_app(Limits::default());
    // Bare Infinity as Python's json module writes it, and overflowing numbers.
    let cases = [
        (r#"{"features":[5.1,Infinity,1.4,0.2]}"#, "sepal_width", 0),
        (r#"{"features":[-Infinity,3.5,1.4,0.2]}"#, "sepal_length", 0),
        (r#"{"features":[5.1,3.5,1.4,1e999]}"#, "petal_width", 0),
        (
            r#"{"features":[5.1,3.5,"Infinity",0.2]}"#,
            "petal_length",
            0,
        ),
        (
            r#"{"instances":[[5.1,3.5,1.4,0.2],[5.1,3.5,1.4,0.2],[5.1,Infinity,1.4,0.2]]}"#,
            "sepal_width",
            2,
        ),
    ];
    for (body, feature, row) in cases {
        let e = invalid_predict(&app, body).await;
        let msg = e["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("feature '{feature}'")) && msg.contains("infinity"),
            "{body}: {msg}"
        );
        assert_eq!(e["details"]["feature"], feature, "{body}");
        assert_eq!(e["details"]["row"], row, "{body}");
    }
}

#[tokio::test]
async fn missing_values_are_predicted_by_a_cart_model() {
    let (_, app) = iris_app(Limits::default());
    // Bare NaN as Python writes it, the string, and null: all a missing value.
    for body in [
        r#"{"features":[5.1,3.5,NaN,0.2]}"#,
        r#"{"features":[5.1,3.5,"NaN",0.2]}"#,
        r#"{"features":[5.1,3.5,1.4,null]}"#,
        r#"{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":NaN}}"#,
    ] {
        let r = send(&app, post_json("/predict", body)).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let p = r.json()["probabilities"].clone();
        let total: f64 = p
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-9, "{body}: {p}");
    }
}

#[tokio::test]
async fn wrong_shapes_are_422() {
    let (_, app) = iris_app(Limits::default());
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
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let (_, app) = iris_app(Limits::default());
    expect_error(
        &app,
        get("/predict/extra"),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(&app, get("/nope"), StatusCode::NOT_FOUND, "not_found").await;
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
    let (_, app) = iris_app(Limits {
        max_batch: Some(16),
        ..Limits::default()
    });
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
