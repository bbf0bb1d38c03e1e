//! `/openapi.json`: the document lists exactly the router's routes, and is well formed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

use crate::support::library::{Limits, route_table};
use crate::support::router::{get, iris_app, send};

/// Replaces `{name}` path parameters with the served model's name.
fn concrete(path: &str) -> String {
    path.replace("{name}", "iris")
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let (_, app) = iris_app(Limits::default());
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
