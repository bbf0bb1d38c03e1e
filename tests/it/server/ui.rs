//! The pages for people: the model card at `/` and Swagger UI at `/docs`, their headers,
//! validators and escaping; `--no-ui`; the model's examples in `/openapi.json`.

use std::io::Read;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use crate::support::bin::mlops;
use crate::support::fixture::{HOSTILE_CLASS, hostile_model, train, trained};
use crate::support::library::{App, Limits, app_with, app_without_pages, model_id};
use crate::support::process::Server;
use crate::support::router::{Reply, get, iris_app, post_json, send};
use crate::support::tcp::http;

/// Asserts the security headers every page carries.
fn assert_page_headers(r: &Reply) {
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(r.header("etag").is_some_and(|e| e.starts_with('"')));
}

/// A GET with extra headers.
fn get_with(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut r = Request::get(path);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_card_shows_the_model_with_a_strict_policy() {
    let (_fx, app) = iris_app(Limits::default());
    let r = send(&app, get("/")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_page_headers(&r);
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let page = String::from_utf8(r.body).unwrap();
    let model = send(&app, get("/model")).await.json();
    assert!(page.contains(model["id"].as_str().unwrap()));
    for class in ["setosa", "versicolor", "virginica"] {
        assert!(page.contains(class), "{class}");
    }
    for feature in ["sepal_length", "petal_width"] {
        assert!(page.contains(feature), "{feature}");
    }
    // The per-class table and the figures come from metrics.json.
    for id in ["per-class", "confusion", "importances", "try"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // No reference to anything outside the page.
    for outside in ["http://", "https://", "src=", "<link rel=\"stylesheet\""] {
        let hits: Vec<_> = page
            .match_indices(outside)
            .map(|(i, _)| &page[i..(i + 60).min(page.len())])
            .collect();
        let allowed = |h: &&str| h.starts_with("http://www.w3.org/2000/svg");
        assert!(hits.iter().all(allowed), "{outside}: {hits:?}");
    }
}

#[tokio::test]
async fn a_hostile_class_name_renders_as_text_on_the_served_card() {
    let fx = hostile_model();
    let app = app_with(&fx.model, Limits::default());
    let page = String::from_utf8(send(&app, get("/")).await.body).unwrap();
    assert!(
        !page.contains(HOSTILE_CLASS),
        "the class is markup in the card"
    );
    assert!(
        !page.contains("<img src=x"),
        "the feature is markup in the card"
    );
    assert!(
        !page.contains("<b>bold</b>"),
        "the name is markup in the card"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert_eq!(
        page.matches("<script>").count(),
        1,
        "only the card's own script"
    );
}

#[tokio::test]
async fn pages_answer_if_none_match_with_304_and_follow_reloads() {
    let (fx, app) = iris_app(Limits::default());
    let first = send(&app, get("/")).await;
    let etag = first.header("etag").unwrap().to_owned();
    let id = model_id(&fx.model);
    assert!(
        etag.starts_with(&format!("\"{}", &id["sha256:".len()..][..16])),
        "{etag}"
    );
    let again = send(&app, get_with("/", &[("if-none-match", &etag)])).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    // A new model: a new card, under a new validator.
    train(
        &crate::support::fixture::iris(),
        fx.dir.path(),
        &["--trees", "7"],
    );
    app.reload().unwrap();
    let after = send(&app, get_with("/", &[("if-none-match", &etag)])).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(after.header("etag"), Some(etag.as_str()));
    let page = String::from_utf8(after.body).unwrap();
    assert!(page.contains(&model_id(&fx.model)));
    assert!(page.contains("7 trees"));
}

#[tokio::test]
async fn docs_serve_swagger_ui_from_memory() {
    let (_fx, app) = iris_app(Limits::default());
    let page = send(&app, get("/docs")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_page_headers(&page);
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(
        !html.contains("http"),
        "the page names no other origin: {html}"
    );
    for asset in [
        "docs/swagger-ui.css",
        "docs/swagger-ui-bundle.js",
        "docs/swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "{asset}");
    }

    // The bundle: gzipped for a browser, inflated for a client without gzip.
    let gz = send(
        &app,
        get_with(
            "/docs/swagger-ui-bundle.js",
            &[("accept-encoding", "gzip, br")],
        ),
    )
    .await;
    assert_eq!(gz.status, StatusCode::OK);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("accept-encoding"));
    let mut js = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut js)
        .unwrap();
    assert!(js.contains("SwaggerUIBundle"));
    let plain = send(&app, get("/docs/swagger-ui-bundle.js")).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, js.as_bytes());
    assert_ne!(plain.header("etag"), gz.header("etag"));
    let etag = gz.header("etag").unwrap();
    let cached = send(
        &app,
        get_with(
            "/docs/swagger-ui-bundle.js",
            &[("accept-encoding", "gzip"), ("if-none-match", etag)],
        ),
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);

    let init = send(&app, get("/docs/swagger-initializer.js")).await;
    let init = String::from_utf8(init.body).unwrap();
    assert!(
        init.contains("\"openapi.json\"") && init.contains("validatorUrl: null"),
        "{init}"
    );
    let css = send(
        &app,
        get_with("/docs/swagger-ui.css", &[("accept-encoding", "gzip")]),
    )
    .await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
}

/// The document's example request bodies of an operation.
fn body_examples<'a>(doc: &'a Value, path: &str) -> &'a serde_json::Map<String, Value> {
    doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap_or_else(|| panic!("no examples for {path}"))
}

#[tokio::test]
async fn the_openapi_examples_are_the_models_and_work() {
    let (_fx, app) = iris_app(Limits::default());
    let doc = send(&app, get("/openapi.json")).await.json();
    let predict = body_examples(&doc, "/predict");
    assert_eq!(predict.len(), 3);
    let by_name = &predict["by_name"]["value"]["features"];
    assert!(by_name["petal_width"].is_number(), "{by_name}");
    for (name, example) in predict {
        let r = send(&app, post_json("/predict", example["value"].to_string())).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{name}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let infer_path = "/v2/models/{name}/infer";
    let infer = body_examples(&doc, infer_path);
    let params = doc["paths"][infer_path]["post"]["parameters"]
        .as_array()
        .unwrap();
    let name = params.iter().find(|p| p["name"] == "name").unwrap()["example"]
        .as_str()
        .unwrap();
    assert_eq!(name, "iris");
    for example in infer.values() {
        let path = infer_path.replace("{name}", name);
        let r = send(&app, post_json(&path, example["value"].to_string())).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
    }
}

#[tokio::test]
async fn without_pages_both_are_404_and_the_api_stays() {
    let fx = trained(&[]);
    let app: App = app_without_pages(&fx.model);
    for path in ["/", "/docs", "/docs/swagger-ui-bundle.js"] {
        assert_eq!(
            send(&app, get(path)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        send(&app, get("/openapi.json")).await.status,
        StatusCode::OK
    );
}

#[test]
fn no_ui_turns_the_pages_off_and_help_names_its_variable() {
    let fx = trained(&[]);
    let on = Server::start(&fx.model, &[]);
    assert_eq!(http(on.addr, "GET", "/", None).unwrap().status, 200);
    let off = Server::start(&fx.model, &["--no-ui"]);
    assert_eq!(http(off.addr, "GET", "/", None).unwrap().status, 404);
    assert_eq!(http(off.addr, "GET", "/docs", None).unwrap().status, 404);
    assert_eq!(http(off.addr, "GET", "/health", None).unwrap().status, 200);
    let help = crate::support::bin::succeeds(mlops().args(["serve", "--help"]));
    assert!(
        help.contains("--no-ui") && help.contains("MLOPS_NO_UI"),
        "{help}"
    );
}
