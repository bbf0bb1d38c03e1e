//! Requests through the in-process router: its middleware, limits and fallbacks run as
//! they do behind a socket, without one.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::fixture::{Fixture, SETOSA_BODY, trained};
use super::library::{App, Limits, app_with};

/// A server on a freshly trained Iris model (default training flags) with `limits`.
pub fn iris_app(limits: Limits) -> (Fixture, App) {
    let fx = trained(&[]);
    let app = app_with(&fx.model, limits);
    (fx, app)
}

/// A response from the in-process router.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error envelope's `code`, asserting the envelope's shape.
    pub fn error_code(&self) -> String {
        let v = self.json();
        let err = v["error"]
            .as_object()
            .unwrap_or_else(|| panic!("no error envelope: {v}"));
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        err["code"].as_str().unwrap().to_owned()
    }
}

/// Sends a request through the router, with a `Host` header as every HTTP/1.1 client
/// sends (the server refuses a request without one).
pub async fn send(app: &App, mut req: Request<Body>) -> Reply {
    req.headers_mut()
        .entry(axum::http::header::HOST)
        .or_insert(axum::http::HeaderValue::from_static("test"));
    let response = app.router().clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// A GET request.
pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// A POST with a JSON content type.
pub fn post_json(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

/// `POST /predict` with the reference service's example request.
pub async fn predict_setosa(app: &App) -> Reply {
    send(app, post_json("/predict", SETOSA_BODY)).await
}

/// Sends `req`, asserts an error `status` and `code` in the JSON envelope, and returns
/// the envelope.
pub async fn expect_error(app: &App, req: Request<Body>, status: StatusCode, code: &str) -> Value {
    let r = send(app, req).await;
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.error_code(), code);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()["error"].clone()
}
