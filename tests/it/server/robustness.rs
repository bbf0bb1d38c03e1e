//! The server against models and requests found to break it from the outside.

use axum::http::StatusCode;

use crate::support::bin::mlops;
use crate::support::fixture::{Fixture, train, trained};
use crate::support::library::{Limits, app_with};
use crate::support::router::{iris_app, post_json, send};
use crate::support::tcp::http;

/// A model with 30 features (`x0` … `x29`), trained by `mlops train`.
fn wide_model() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wide.csv");
    let names: Vec<String> = (0..30).map(|i| format!("x{i}")).collect();
    let mut text = format!("{},y\n", names.join(","));
    for row in 0..40 {
        let values: Vec<String> = (0..30).map(|i| ((row * 7 + i) % 11).to_string()).collect();
        text.push_str(&format!("{},{}\n", values.join(","), ["p", "q"][row % 2]));
    }
    std::fs::write(&data, text).unwrap();
    train(&data, dir.path(), &["--trees", "3"]);
    Fixture {
        model: dir.path().join("model.cbor"),
        dir,
    }
}

#[tokio::test]
async fn errors_of_a_wide_model_list_a_few_features_in_words_and_all_in_details() {
    // The message names a few features and counts the rest, so a 2,000-feature model
    // does not answer every 422 with a 28 KB message; `details` lists them all.
    let fx = wide_model();
    let app = app_with(&fx.model, Limits::default());
    for (path, body) in [
        ("/predict", r#"{"features":[1,2]}"#),
        ("/predict", r#"{"features":{"nope":1}}"#),
        (
            "/v2/models/wide/infer",
            r#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1,2]}]}"#,
        ),
    ] {
        let reply = send(&app, post_json(path, body)).await;
        assert!(reply.status.is_client_error(), "{path} {body}");
        let v = reply.json();
        let message = v["error"]["message"]
            .as_str()
            .or_else(|| v["error"].as_str())
            .unwrap();
        assert!(message.contains("x0, x1"), "{message}");
        assert!(message.contains("and 20 more"), "{message}");
        if let Some(expected) = v["error"]["details"]["expected"].as_array() {
            assert_eq!(expected.len(), 30);
        }
        assert_ne!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}

#[tokio::test]
async fn a_body_starting_with_a_byte_order_mark_is_read() {
    // Windows tools save JSON files with a UTF-8 BOM (`curl --data-binary @req.json`);
    // RFC 8259 lets a parser ignore it, and a 400 "expected value at column 1" would
    // puzzle the user.
    let (_, app) = iris_app(Limits::default());
    let body = "\u{feff}{\"features\":[5.1,3.5,1.4,0.2]}";
    let reply = send(&app, post_json("/predict", body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    assert_eq!(reply.json()["prediction"], "setosa");
}

#[test]
fn a_closed_log_pipe_does_not_turn_every_request_into_a_line_on_stderr() {
    // `mlops serve | grep -m1 ready` (wait for readiness in a script): once grep exits,
    // each log event fails to write; saying so on stderr, once per request, would flood it.
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let fx = trained(&[]);
    let mut child = mlops()
        .args(["serve", "--addr", "127.0.0.1:0", "--model"])
        .arg(&fx.model)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut addr = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            addr = rest.split_whitespace().next().map(|a| a.parse().unwrap());
        }
        if line.contains("ready") {
            break;
        }
    }
    drop(lines); // grep -m1 exits
    // Nothing may panic before the server is stopped: collect, stop, then assert.
    let statuses: Vec<_> = (0..3)
        .filter_map(|_| http(addr?, "GET", "/health", None).ok())
        .map(|r| r.status)
        .collect();
    let kill = std::process::Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(statuses, [200; 3]);
    assert!(stderr.is_empty(), "{stderr}");
}
