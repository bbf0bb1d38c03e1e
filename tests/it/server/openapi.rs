//! `/openapi.json`: the document lists exactly the router's routes, and is well formed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

use crate::support::library::{Limits, route_table};
use crate::support::router::{get, iris_app, send};

/// Replaces `{name}` and `{version}` path parameters with the served model's.
fn concrete(path: &str, model: &std::path::Path) -> String {
    let id = crate::support::library::model_id(model);
    path.replace("{name}", "iris")
        .replace("{version}", id.trim_start_matches("sha256:"))
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let (fx, app) = iris_app(Limits::default());
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
    let mut routed = route_table();
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
            .uri(concrete(path, &fx.model))
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
    let (_, app) = iris_app(Limits::default());
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

#[tokio::test]
async fn the_openapi_document_matches_what_the_server_does() {
    let (fx, app) = iris_app(Limits::default());
    let doc = send(&app, get("/openapi.json")).await.json();
    let schemas = &doc["components"]["schemas"];
    // Every response declares the headers every response carries.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                for header in ["x-model-digest", "x-request-id"] {
                    assert!(
                        response["headers"][header].is_object(),
                        "{method} {path} {status}: no {header}"
                    );
                }
            }
            // Parameters are a list when present (never null), and path parameters
            // have the served model's name and version as examples.
            assert!(
                op.get("parameters").is_none_or(Value::is_array),
                "{method} {path}: parameters {}",
                op["parameters"]
            );
            for param in op["parameters"].as_array().into_iter().flatten() {
                let expected = match param["name"].as_str() {
                    Some("name") => "iris".to_owned(),
                    Some("version") => crate::support::library::model_id(&fx.model)
                        .trim_start_matches("sha256:")
                        .to_owned(),
                    _ => continue,
                };
                assert_eq!(param["example"], expected.as_str(), "{method} {path}");
            }
        }
    }
    // Exactly one of features and instances.
    let predict = &schemas["PredictRequest"];
    let one_of = predict["oneOf"].as_array().unwrap();
    assert_eq!(one_of[0]["required"], serde_json::json!(["features"]));
    assert_eq!(one_of[1]["required"], serde_json::json!(["instances"]));
    // The other field may be null, which the server reads as absent.
    assert_eq!(one_of[0]["properties"]["instances"]["type"], "null");
    assert_eq!(one_of[1]["properties"]["features"]["type"], "null");
    let body = r#"{"features":[5.1,3.5,1.4,0.2],"instances":null}"#;
    let r = send(&app, crate::support::router::post_json("/predict", body)).await;
    assert_eq!(r.status, StatusCode::OK);
    // A positional row has exactly the model's four features; a named one names them all.
    let row = &schemas["Row"]["oneOf"];
    assert_eq!(
        (row[0]["minItems"].as_u64(), row[0]["maxItems"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(row[1]["required"].as_array().map(Vec::len), Some(4));
    // v2 tensor data: numbers (or null, or numeric strings), and arrays of them, never objects.
    let data = &schemas["InferInput"]["properties"]["data"];
    assert_eq!(data["items"]["$ref"], "#/components/schemas/TensorElement");
    let element = schemas["TensorElement"]["oneOf"].as_array().unwrap();
    let types: Vec<String> = element.iter().map(|e| e["type"].to_string()).collect();
    assert_eq!(types, [r#"["number","null"]"#, r#""string""#, r#""array""#]);
    assert!(
        !doc.to_string()
            .contains(r#""data":{"items":{"type":"object""#)
    );
}
