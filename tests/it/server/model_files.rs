//! Model files that are not what they claim, at start-up and on SIGHUP: FIFOs, devices,
//! huge files, paths that are not UTF-8, names that would forge log lines, and reloads
//! onto another schema.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;

use crate::support::bin::{mlops, output};
use crate::support::fixture::{Fixture, SETOSA_BODY, iris, replace_file, train, trained};
use crate::support::library::{Limits, app_with, max_model_bytes, model_id};
use crate::support::process::Server;
use crate::support::router::{get, predict_setosa, send};
use crate::support::tcp::{http, wait_until};

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo failed");
}

/// The id of the model a server is serving.
fn serving(addr: std::net::SocketAddr) -> String {
    let reply = http(addr, "GET", "/model", None).unwrap();
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// Iris with its columns renamed: a model of another schema.
fn renamed_model() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(iris()).unwrap();
    let (_, rows) = text.split_once('\n').unwrap();
    let data = dir.path().join("flowers.csv");
    std::fs::write(&data, format!("sl,sw,pl,pw,species\n{rows}")).unwrap();
    train(&data, dir.path(), &["--trees", "5"]);
    Fixture {
        model: dir.path().join("model.cbor"),
        dir,
    }
}

#[test]
fn a_fifo_at_the_model_path_is_refused_at_once_and_later_reloads_still_work() {
    let fx = trained(&[]);
    let other = trained(&["--seed", "7"]);
    let server = Server::start(&fx.model, &[]);
    // A FIFO with no writer: opening it for reading would block for good.
    std::fs::remove_file(&fx.model).unwrap();
    mkfifo(&fx.model);
    server.signal("HUP");
    let line = server.wait_for_log("reload failed");
    assert!(
        line.contains("is a FIFO (named pipe), not a regular file"),
        "{line}"
    );
    assert_eq!(
        http(server.addr, "POST", "/predict", Some(SETOSA_BODY))
            .unwrap()
            .status,
        200
    );
    // The next SIGHUP is handled: the reloader is not wedged.
    replace_file(&fx.model, &std::fs::read(&other.model).unwrap());
    server.signal("HUP");
    let second = model_id(&other.model);
    wait_until(
        || format!("the new model was never served: {:#?}", server.log()),
        || (serving(server.addr) == second).then_some(()),
    );
}

#[test]
fn devices_directories_and_oversized_files_are_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    // A sparse file one byte over the limit: its size is refused before any read.
    let huge = dir.path().join("huge.cbor");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(max_model_bytes() + 1).unwrap();
    let csv = iris();
    let csv = csv.to_str().unwrap();
    for (model, expected) in [
        (
            Path::new("/dev/zero"),
            "is a character device, not a regular file",
        ),
        (dir.path(), "is a directory, not a regular file"),
        (
            huge.as_path(),
            "more than the 268435456 bytes a model file may have",
        ),
    ] {
        let m = model.to_str().unwrap();
        let commands: [Vec<&str>; 5] = [
            vec!["inspect", m],
            vec!["verify", "--data", csv, m],
            vec!["predict", "--model", m, csv],
            vec!["evaluate", m, "--data", csv],
            vec!["serve", "--model", m, "--addr", "127.0.0.1:0"],
        ];
        for args in commands {
            let (out, stderr) = output(mlops().args(&args));
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
        }
    }
}

#[tokio::test]
async fn a_model_path_that_is_not_utf8_is_served() {
    let fx = trained(&[]);
    let odd = fx.dir.path().join(OsStr::from_bytes(b"model-\xff.cbor"));
    std::fs::copy(&fx.model, &odd).unwrap();
    let app = app_with(&odd, Limits::default());
    let reply = send(&app, get("/model")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let path = reply.json()["path"].as_str().unwrap().to_owned();
    assert!(path.ends_with("model-\u{fffd}.cbor"), "{path}");
    assert_eq!(predict_setosa(&app).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_reload_onto_other_features_is_refused_unless_allowed() {
    let fx = trained(&[]);
    let app = app_with(&fx.model, Limits::default());
    let old = model_id(&fx.model);
    let renamed = renamed_model();
    let new = model_id(&renamed.model);
    replace_file(&fx.model, &std::fs::read(&renamed.model).unwrap());
    let err = app.reload().unwrap_err();
    assert!(
        err.contains("features differ")
            && err.contains("served: sepal_length, sepal_width, petal_length, petal_width")
            && err.contains("new: sl, sw, pl, pw")
            && err.contains("--allow-feature-change"),
        "{err}"
    );
    assert_eq!(predict_setosa(&app).await.json()["model"], old);
    app.allow_feature_change();
    assert_eq!(app.reload(), Ok((old, new.clone())));
    assert_eq!(predict_setosa(&app).await.json()["model"], new);
}

#[test]
fn schema_changes_on_sighup_are_logged_at_warn_with_both_lists() {
    let renamed = renamed_model();
    for (flag, needle) in [
        (None, "reload refused, still serving the previous model"),
        (
            Some("--allow-feature-change"),
            "model reloaded with different features",
        ),
    ] {
        let fx = trained(&["--trees", "5"]);
        let server = Server::start(&fx.model, flag.as_slice());
        replace_file(&fx.model, &std::fs::read(&renamed.model).unwrap());
        server.signal("HUP");
        let line = server.wait_for_log(needle);
        assert!(
            line.contains("WARN")
                && line
                    .contains("old_features=sepal_length, sepal_width, petal_length, petal_width")
                && line.contains("new_features=sl, sw, pl, pw"),
            "{line}"
        );
        let serving_now = serving(server.addr);
        if flag.is_some() {
            assert_eq!(serving_now, model_id(&renamed.model));
        } else {
            assert_ne!(serving_now, model_id(&renamed.model));
        }
    }
}

#[test]
fn a_model_name_cannot_forge_log_lines_or_reach_the_terminal_raw() {
    let fx = trained(&[
        "--name",
        "iris\n2026-01-01T00:00:00Z  INFO forged \u{1b}[2J",
    ]);
    let server = Server::start(&fx.model, &[]);
    let line = server.wait_for_log("model loaded and verified");
    assert!(
        line.contains(r"name=iris\n2026-01-01T00:00:00Z  INFO forged \u{1b}[2J"),
        "{line}"
    );
    let log = server.log();
    assert!(
        !log.iter()
            .any(|l| l.starts_with("2026-01-01") || l.contains('\u{1b}')),
        "{log:#?}"
    );
}

#[test]
fn predict_errors_print_escape_sequences_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("\u{1b}]0;pwned\u{7}.cbor");
    let (out, stderr) = output(
        mlops()
            .arg("predict")
            .arg("--model")
            .arg(&model)
            .arg(iris()),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(stderr.contains(r"\u{1b}]0;pwned\u{7}.cbor"), "{stderr}");
}

#[tokio::test]
async fn a_fifo_in_place_of_metrics_json_is_skipped_not_waited_on() {
    let fx = trained(&["--trees", "5"]);
    let metrics = fx.dir.path().join("metrics.json");
    std::fs::remove_file(&metrics).unwrap();
    mkfifo(&metrics);
    let app = app_with(&fx.model, Limits::default());
    let reply = send(&app, get("/model")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json()["metrics"].is_null(), "{}", reply.json());
}

#[test]
fn serve_starts_on_a_model_path_that_is_not_utf8() {
    use std::io::{BufRead, BufReader};
    let fx = trained(&["--trees", "5"]);
    let odd = fx.dir.path().join(OsStr::from_bytes(b"model-\xff.cbor"));
    std::fs::copy(&fx.model, &odd).unwrap();
    let mut child = mlops()
        .arg("serve")
        .arg("--model")
        .arg(&odd)
        .args(["--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Ends at "ready", or at EOF if the process dies.
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.contains("ready: serving"))
        .collect();
    let exited = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(exited.is_none(), "serve exited: {exited:?} {lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("listening on")),
        "{lines:#?}"
    );
}
