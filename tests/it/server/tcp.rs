//! `mlops serve` and `mlops probe` as processes, over real TCP on ephemeral 127.0.0.1
//! ports: the acceptance path (train, serve, predict), start-up refusals, timeouts, JSON logs, graceful shutdown with requests in flight, and SIGHUP reloads
//! under concurrent load.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::bin::mlops;
use crate::support::fixture::{SETOSA_BODY, iris, replace_file, trained};
use crate::support::library::model_id;
use crate::support::process::Server;
use crate::support::tcp::{Conn, HttpResponse, http, wait_until};

/// The entries of a CBOR map.
type CborMap = Vec<(ciborium::Value, ciborium::Value)>;

/// Runs a command that must terminate, with a bound.
fn run_bounded(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        || format!("{cmd:?} did not terminate"),
        || child.try_wait().unwrap(),
    );
    child.wait_with_output().unwrap()
}

/// Runs `mlops probe` on `url`: true when it exits 0 (the URL answered 200).
fn probe(url: &str) -> bool {
    run_bounded(mlops().args(["probe", "--url", url, "--timeout-ms", "2000"]))
        .status
        .success()
}

/// The value of the in-flight gauge.
fn in_flight(addr: std::net::SocketAddr) -> u64 {
    let r = http(addr, "GET", "/metrics", None).unwrap();
    let text = String::from_utf8(r.body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("mlops_http_requests_in_flight "))
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits until at least `n` requests are in flight (the /metrics request included).
fn wait_in_flight(addr: std::net::SocketAddr, n: u64) {
    wait_until(
        || "requests never became in flight".into(),
        || (in_flight(addr) >= n).then_some(()),
    );
}

#[test]
fn train_then_serve_then_predict_like_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_bounded(mlops().args([
        "train",
        "--data",
        iris().to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let model = dir.path().join("model.cbor");
    let id = model_id(&model);
    let server = Server::start(&model, &[]);
    let r = http(server.addr, "POST", "/predict", Some(SETOSA_BODY)).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["prediction"], "setosa");
    assert_eq!(r.json()["model"], json!(id));
    assert!(r.json()["probabilities"]["setosa"].as_f64() > Some(0.5));
    assert_eq!(r.header("x-model-digest"), Some(id.as_str()));
    assert!(r.header("x-request-id").is_some());
    // Keep-alive: many requests on one connection.
    let mut conn = Conn::open(server.addr).unwrap();
    for _ in 0..20 {
        assert_eq!(conn.request("GET", "/health", None).unwrap().status, 200);
    }
    // The probe: 0 on 200, 1 otherwise.
    assert!(probe(&format!("http://{}/ready", server.addr)));
    assert!(!probe(&format!("http://{}/no-such-route", server.addr)));
    // The startup log line says how long start-up took.
    let ready = server.wait_for_log("ready: serving predictions");
    assert!(ready.contains("startup_ms="), "{ready}");
}

#[test]
fn start_up_refuses_missing_corrupt_and_incompatible_models_with_a_fix() {
    let fx = trained(&[]);
    let dir = fx.dir.path();
    let serve = |model: &Path| {
        let out = run_bounded(mlops().args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--model",
            model.to_str().unwrap(),
        ]));
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = serve(&dir.join("missing.cbor"));
    assert!(err.contains("run `mlops train` first"), "{err}");

    let garbage = dir.join("garbage.cbor");
    std::fs::write(&garbage, b"definitely not CBOR").unwrap();
    let err = serve(&garbage);
    assert!(
        err.contains("not an mlops model file") && err.contains("mlops train"),
        "{err}"
    );

    // Re-encode the envelope with another format version, and with a flipped body byte.
    let bytes = std::fs::read(&fx.model).unwrap();
    let envelope: ciborium::Value = ciborium::from_reader(&bytes[..]).unwrap();
    let rewrite = |f: &dyn Fn(&mut CborMap)| {
        let mut map = envelope.as_map().unwrap().clone();
        f(&mut map);
        let mut out = Vec::new();
        ciborium::into_writer(&ciborium::Value::Map(map), &mut out).unwrap();
        out
    };
    let newer = dir.join("newer.cbor");
    std::fs::write(
        &newer,
        rewrite(&|m| {
            for (k, v) in m.iter_mut() {
                if k.as_text() == Some("version") {
                    *v = ciborium::Value::Integer(99.into());
                }
            }
        }),
    )
    .unwrap();
    let err = serve(&newer);
    assert!(
        err.contains("version 99") && err.contains("retrain"),
        "{err}"
    );

    let corrupt = dir.join("corrupt.cbor");
    std::fs::write(
        &corrupt,
        rewrite(&|m| {
            for (k, v) in m.iter_mut() {
                if k.as_text() == Some("body") {
                    let mut b = v.as_bytes().unwrap().clone();
                    let last = b.len() - 1;
                    b[last] ^= 1;
                    *v = ciborium::Value::Bytes(b);
                }
            }
        }),
    )
    .unwrap();
    let err = serve(&corrupt);
    assert!(
        err.contains("corrupt") && err.contains("mlops train"),
        "{err}"
    );

    // A port that is taken is refused with a fix too.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_bounded(mlops().args([
        "serve",
        "--addr",
        &addr,
        "--model",
        fx.model.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen on") && err.contains("--addr"),
        "{err}"
    );
}

#[test]
fn a_request_slower_than_the_timeout_gets_408() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &["--request-timeout-ms", "200"]);
    let mut conn = Conn::open(server.addr).unwrap();
    conn.start_post("/predict", SETOSA_BODY.as_bytes(), 5)
        .unwrap();
    let r = conn.read_response().unwrap();
    assert_eq!(r.status, 408);
    assert_eq!(r.json()["error"]["code"], "request_timeout");
}

#[test]
fn slow_headers_and_idle_connections_are_closed_after_the_header_timeout() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &["--header-read-timeout-ms", "200"]);
    // The server must hang up (EOF or reset) well before this client gives up waiting.
    let hung_up = |r: std::io::Result<HttpResponse>| match r {
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ),
        Ok(_) => false,
    };
    // Half a request head, then silence.
    let mut slow = Conn::open(server.addr).unwrap();
    slow.write(b"GET /health HTTP/1.1\r\nHost: te").unwrap();
    assert!(hung_up(slow.read_response()));
    // A keep-alive connection that stays idle after a request.
    let mut idle = Conn::open(server.addr).unwrap();
    assert_eq!(idle.request("GET", "/health", None).unwrap().status, 200);
    assert!(hung_up(idle.read_response()));
    // The server itself is fine.
    assert_eq!(
        http(server.addr, "GET", "/ready", None).unwrap().status,
        200
    );
}

#[test]
fn json_logs_have_one_line_per_request() {
    let fx = trained(&[]);
    let server = Server::start(
        &fx.model,
        &["--log-format", "json", "--access-log-sample", "1"],
    );
    let mut conn = Conn::open(server.addr).unwrap();
    let mut ids = Vec::new();
    for (method, path, body) in [
        ("POST", "/predict", Some(SETOSA_BODY)),
        ("GET", "/health", None),
        ("GET", "/missing", None),
    ] {
        let r = conn.request(method, path, body).unwrap();
        ids.push((
            method,
            path,
            r.status,
            r.header("x-request-id").unwrap().to_owned(),
        ));
    }
    for (method, path, status, id) in ids {
        let line = server.wait_for_log(&id);
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["method"], method, "{v}");
        assert_eq!(v["path"], path, "{v}");
        assert_eq!(v["status"], status, "{v}");
        assert!(v["latency_us"].is_u64(), "{v}");
        assert_eq!(v["level"], "INFO");
        let count = server.log().iter().filter(|l| l.contains(&id)).count();
        assert_eq!(count, 1, "one line per request");
    }
    // Every line is JSON, start-up lines included.
    for line in server.log() {
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let fx = trained(&[]);
    let mut server = Server::start(&fx.model, &[]);
    // An idle keep-alive connection, and four predictions half-sent.
    let mut idle = Conn::open(server.addr).unwrap();
    assert_eq!(idle.request("GET", "/health", None).unwrap().status, 200);
    let mut held: Vec<Conn> = (0..4)
        .map(|_| {
            let mut c = Conn::open(server.addr).unwrap();
            c.start_post("/predict", SETOSA_BODY.as_bytes(), 12)
                .unwrap();
            c
        })
        .collect();
    wait_in_flight(server.addr, 5);
    server.signal("TERM");
    server.wait_for_log("SIGTERM received");
    // The listener closes: new connections are refused.
    wait_until(
        || "the listener stayed open".into(),
        || TcpStream::connect(server.addr).is_err().then_some(()),
    );
    // The requests in flight complete, with their predictions.
    for c in &mut held {
        c.write(&SETOSA_BODY.as_bytes()[12..]).unwrap();
        let r = c.read_response().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["prediction"], "setosa");
    }
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{:#?}", server.log());
    // The idle connection was closed, not left hanging.
    assert!(idle.request("GET", "/health", None).is_err());
}

#[test]
fn readiness_turns_503_while_draining_and_a_second_signal_exits_at_once() {
    let fx = trained(&[]);
    let mut server = Server::start(&fx.model, &["--shutdown-delay-ms", "60000"]);
    assert_eq!(
        http(server.addr, "GET", "/ready", None).unwrap().status,
        200
    );
    server.signal("INT");
    server.wait_for_log("SIGINT received");
    let r = http(server.addr, "GET", "/ready", None).unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], "not_ready");
    assert_eq!(
        http(server.addr, "GET", "/v2/health/ready", None)
            .unwrap()
            .status,
        503
    );
    assert!(!probe(&format!("http://{}/ready", server.addr)));
    // Still serving during the delay.
    assert_eq!(
        http(server.addr, "GET", "/health", None).unwrap().status,
        200
    );
    assert_eq!(
        http(server.addr, "POST", "/predict", Some(SETOSA_BODY))
            .unwrap()
            .status,
        200
    );
    server.signal("TERM");
    assert_eq!(server.wait_exit().code(), Some(0));
}

#[test]
fn sighup_reloads_under_load_without_a_single_failed_request() {
    let fx = trained(&[]);
    let first = model_id(&fx.model);
    let other = trained(&["--seed", "7"]);
    let second = model_id(&other.model);
    assert_ne!(first, second);
    let server = Server::start(&fx.model, &[]);
    let addr = server.addr;

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (stop, done, failures, seen) =
                (stop.clone(), done.clone(), failures.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let body = if i % 2 == 0 {
                        SETOSA_BODY.to_owned()
                    } else {
                        json!({"instances": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]})
                            .to_string()
                    };
                    match conn.request("POST", "/predict", Some(&body)) {
                        Ok(r) if r.status == 200 => {
                            let digest = r.header("x-model-digest").unwrap().to_owned();
                            assert_eq!(
                                r.json()["model"],
                                digest.as_str(),
                                "the digest names the model that answered"
                            );
                            seen.lock().unwrap().insert(digest);
                        }
                        Ok(r) => failures.lock().unwrap().push(format!(
                            "{}: {}",
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        )),
                        Err(e) => {
                            failures.lock().unwrap().push(e.to_string());
                            conn = Conn::open(addr).unwrap();
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let wait_requests = |n: usize| {
        let target = done.load(Ordering::Relaxed) + n;
        wait_until(
            || "clients made no progress".into(),
            || (done.load(Ordering::Relaxed) >= target).then_some(()),
        );
    };
    let serving = || {
        http(addr, "GET", "/model", None).unwrap().json()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    wait_requests(200);

    // 1. A new model: swapped in.
    replace_file(&fx.model, &std::fs::read(&other.model).unwrap());
    server.signal("HUP");
    wait_until(
        || format!("the new model was never served: {:#?}", server.log()),
        || (serving() == second).then_some(()),
    );
    server.wait_for_log("model reloaded");
    wait_requests(200);

    // 2. A corrupt file: refused, the previous model keeps serving.
    replace_file(&fx.model, b"\xa1garbage");
    server.signal("HUP");
    let line = server.wait_for_log("reload failed");
    assert!(line.contains("not an mlops model file"), "{line}");
    wait_requests(200);
    assert_eq!(serving(), second);

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed requests: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let seen = seen.lock().unwrap();
    assert!(seen.contains(&first) && seen.contains(&second), "{seen:?}");
    assert_eq!(seen.len(), 2);
    assert_eq!(http(addr, "GET", "/ready", None).unwrap().status, 200);
}
