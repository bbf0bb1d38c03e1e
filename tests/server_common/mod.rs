//! Shared helpers of the server tests: a trained Iris model in a temporary directory, a
//! request helper for the in-process router, a minimal HTTP/1.1 client over real TCP, and
//! a handle on a `mlops serve` child process.
//!
//! The TCP client is hand-written on purpose: the shutdown, timeout and overload tests
//! must hold a request half-sent (headers and part of the body) at a chosen moment, which
//! ordinary clients do not allow.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use clap::Parser;
use tower::ServiceExt;

/// The Iris CSV shipped with the repository.
pub fn iris_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv")
}

/// A model trained by `mlops train` in a temporary directory.
pub struct Fixture {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// `<dir>/model.cbor`.
    pub model: PathBuf,
}

/// Trains Iris (in-process, a few milliseconds) with extra `mlops train` flags.
pub fn trained(extra: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    train_into(dir.path(), extra);
    Fixture {
        model: dir.path().join("model.cbor"),
        dir,
    }
}

/// Runs `mlops train --data data/iris.csv --out <dir> <extra>` in-process.
pub fn train_into(dir: &Path, extra: &[&str]) {
    train_data_into(&iris_csv(), dir, extra);
}

/// Runs `mlops train --data <data> --out <dir> <extra>` in-process.
pub fn train_data_into(data: &Path, dir: &Path, extra: &[&str]) {
    let mut argv = vec![
        "mlops",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ];
    argv.extend_from_slice(extra);
    let cli = mlops::cli::Cli::try_parse_from(argv).unwrap();
    let mlops::cli::Command::Train(args) = cli.command else {
        unreachable!()
    };
    mlops::cli::train::run(&args).unwrap();
}

/// The state and router of a server on `fx`'s model with `limits`.
pub fn app_with(
    fx: &Fixture,
    limits: mlops::server::Limits,
) -> (mlops::server::AppState, axum::Router) {
    let state = mlops::server::AppState::load(&fx.model, limits).unwrap();
    (state.clone(), mlops::server::app(state))
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
    pub fn json(&self) -> serde_json::Value {
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

/// Sends a request through the router.
pub async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let response = app.clone().oneshot(req).await.unwrap();
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

// ---------------------------------------------------------------- real TCP

/// How long to wait for things that take milliseconds; reaching it fails the test.
pub const BOUND: Duration = Duration::from_secs(30);

/// Polls `check` every few milliseconds until it gives a value; panics with `what()`
/// after [`BOUND`]. (A bound on failure, not a timed assertion.)
pub fn wait_until<T>(what: impl Fn() -> String, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {}", what());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A response read from a socket.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to `addr` (with a generous read timeout, so a hung server fails the test
    /// instead of hanging it).
    pub fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// Writes a request's head for a JSON body of `content_length` bytes, and the first
    /// `sent` bytes of `body`.
    pub fn start_post(&mut self, path: &str, body: &[u8], sent: usize) -> std::io::Result<()> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.write(head.as_bytes())?;
        self.write(&body[..sent])
    }

    /// Sends a whole request and reads the response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> std::io::Result<HttpResponse> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        if let Some(b) = body {
            head += &format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            );
        }
        head += "\r\n";
        self.write(head.as_bytes())?;
        if let Some(b) = body {
            self.write(b.as_bytes())?;
        }
        self.read_response()
    }

    /// Reads one response (content-length bodies only, which is all the server sends).
    pub fn read_response(&mut self) -> std::io::Result<HttpResponse> {
        let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header {l:?}")))?;
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| bad("no content-length".into()))?;
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// One request on a fresh connection.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    Conn::open(addr)?.request(method, path, body)
}

/// A `mlops serve` child process on an ephemeral 127.0.0.1 port.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

// The `mlops` binary with no `MLOPS_*` variable from the caller changing a default:
// the command-line tests' helper, shared rather than copied.
#[path = "../cli_common/mod.rs"]
mod cli_common;
pub use cli_common::mlops;

impl Server {
    /// Starts `mlops serve --model <model> --addr 127.0.0.1:0 <extra>` and waits for its
    /// "listening on" log line.
    pub fn start(model: &Path, extra: &[&str]) -> Server {
        let mut child = mlops()
            .args([
                "serve",
                "--model",
                model.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let addr = rest
                            .split(|c: char| c == '"' || c.is_whitespace())
                            .next()
                            .unwrap();
                        let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let addr = match rx.recv_timeout(BOUND) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start: {:#?}", log.lock().unwrap());
            }
        };
        Server { child, addr, log }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `INT`, `HUP`) to this server only.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {name} failed");
    }

    /// The log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`, and returns it.
    pub fn wait_for_log(&self, needle: &str) -> String {
        wait_until(
            || format!("no log line with {needle:?}: {:#?}", self.log()),
            || self.log().into_iter().find(|l| l.contains(needle)),
        )
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let log = self.log.clone();
        let child = &mut self.child;
        wait_until(
            || format!("server did not exit: {:#?}", log.lock().unwrap()),
            || child.try_wait().unwrap(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only our own child, by its handle.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Replaces `path` atomically with `bytes` (as `mlops train` does), so a reload never
/// sees a half-written file.
pub fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
