//! `mlops serve` against clients that attack its availability, over real TCP: slow
//! uploads, pipelines that are never read, requests that break HTTP's rules, and
//! traffic that would grow the access log without bound.

use std::io::{BufRead, Read};
use std::time::Duration;

use crate::support::fixture::{SETOSA_BODY, trained};
use crate::support::process::Server;
use crate::support::tcp::{Conn, HttpResponse, http, wait_until};

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

#[test]
fn slow_uploads_hold_no_permit_and_fast_clients_get_200() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &["--max-in-flight", "2"]);
    // Eight uploads stalled after a few body bytes: four times --max-in-flight.
    let mut slow: Vec<Conn> = (0..8)
        .map(|_| {
            let mut c = Conn::open(server.addr).unwrap();
            c.start_post("/predict", SETOSA_BODY.as_bytes(), 5).unwrap();
            c
        })
        .collect();
    wait_until(
        || "the uploads never became in flight".into(),
        || (in_flight(server.addr) > 8).then_some(()),
    );
    // Fast clients are answered while the uploads are stalled.
    for _ in 0..5 {
        let r = http(server.addr, "POST", "/predict", Some(SETOSA_BODY)).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["prediction"], "setosa");
    }
    // The uploads complete normally once their bytes arrive.
    for c in &mut slow {
        c.write(&SETOSA_BODY.as_bytes()[5..]).unwrap();
        assert_eq!(c.read_response().unwrap().status, 200);
    }
}

/// Reads from `conn` until the server closes it; panics if it stays open (the client's
/// read timeout, 30 s, ends the wait).
pub(super) fn read_until_closed(conn: &mut Conn) -> usize {
    let mut total = 0;
    let mut buf = vec![0; 1 << 16];
    loop {
        match conn.reader().read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return total,
            Err(e) => panic!("the server kept the connection open: {e} after {total} bytes"),
        }
    }
}

#[test]
fn a_client_that_never_reads_its_answers_is_disconnected() {
    let fx = trained(&[]);
    let server = Server::start(
        &fx.model,
        &[
            "--write-timeout-ms",
            "100",
            "--max-requests-per-connection",
            "1000000",
        ],
    );
    let size = http(server.addr, "GET", "/openapi.json", None)
        .unwrap()
        .body
        .len();
    // Enough pipelined requests for their answers to fill both sockets' buffers (tens
    // of megabytes on loopback at most), sent without reading a byte.
    let count = (64 << 20) / size + 1;
    let mut conn = Conn::open(server.addr).unwrap();
    let request = b"GET /openapi.json HTTP/1.1\r\nHost: test\r\n\r\n";
    let mut sent = 0;
    while sent < count {
        if conn.write(request).is_err() {
            break; // the server closed the connection already
        }
        sent += 1;
    }
    // Give the server's write timeout time to fire before reading anything.
    std::thread::sleep(Duration::from_secs(2));
    let read = read_until_closed(&mut conn);
    assert!(
        read < count * size,
        "all {count} answers were sent ({read} bytes): nothing was cut"
    );
    // Other clients are unaffected.
    assert_eq!(
        http(server.addr, "GET", "/ready", None).unwrap().status,
        200
    );
}

#[test]
fn a_connection_serves_at_most_max_requests_then_closes() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &["--max-requests-per-connection", "3"]);
    let mut conn = Conn::open(server.addr).unwrap();
    // Five requests pipelined at once.
    let request = "GET /health HTTP/1.1\r\nHost: test\r\n\r\n".repeat(5);
    conn.write(request.as_bytes()).unwrap();
    for i in 1..=3 {
        let r = conn.read_response().unwrap();
        assert_eq!(r.status, 200);
        let close = r.header("connection").map(str::to_ascii_lowercase);
        assert_eq!(
            close.as_deref() == Some("close"),
            i == 3,
            "response {i}: {close:?}"
        );
    }
    assert_eq!(read_until_closed(&mut conn), 0, "answers after the third");
    // A new connection is served again.
    assert_eq!(
        http(server.addr, "GET", "/health", None).unwrap().status,
        200
    );
}

/// Sends raw bytes on a new connection and reads one response.
pub(super) fn raw(addr: std::net::SocketAddr, bytes: &str) -> HttpResponse {
    let mut conn = Conn::open(addr).unwrap();
    conn.write(bytes.as_bytes()).unwrap();
    conn.read_response().unwrap()
}

/// Asserts a JSON error envelope with `status` and `code`, and the usual headers.
pub(super) fn assert_envelope(r: &HttpResponse, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["code"], code);
    assert!(r.header("x-request-id").is_some(), "{:?}", r.headers);
    assert!(r.header("x-model-digest").is_some(), "{:?}", r.headers);
}

#[test]
fn requests_that_break_rfc_9110_and_9112_are_refused_with_the_envelope() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &[]);
    let body = SETOSA_BODY;
    let len = body.len();
    // HTTP/1.1 without Host, and with two.
    let r = raw(server.addr, "GET /health HTTP/1.1\r\n\r\n");
    assert_envelope(&r, 400, "invalid_host");
    let r = raw(
        server.addr,
        "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    );
    assert_envelope(&r, 400, "invalid_host");
    // HTTP/1.0 needs no Host.
    assert_eq!(raw(server.addr, "GET /health HTTP/1.0\r\n\r\n").status, 200);
    // A transfer coding other than chunked is not understood.
    let chunked = format!("{len:x}\r\n{body}\r\n0\r\n\r\n");
    let r = raw(
        server.addr,
        &format!(
            "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n{chunked}"
        ),
    );
    assert_envelope(&r, 501, "unsupported_transfer_coding");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gzip")
    );
    // Chunked alone is fine.
    let r = raw(
        server.addr,
        &format!(
            "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"
        ),
    );
    assert_eq!(r.status, 200);
    // An expectation other than 100-continue cannot be met.
    let r = raw(
        server.addr,
        &format!(
            "POST /predict HTTP/1.1\r\nHost: t\r\nExpect: 999-bogus\r\nContent-Length: {len}\r\n\r\n{body}"
        ),
    );
    assert_envelope(&r, 417, "expectation_failed");
    let mut conn = Conn::open(server.addr).unwrap();
    conn.write(
        format!("POST /predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: {len}\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let mut interim = String::new();
    conn.reader().read_line(&mut interim).unwrap();
    assert!(interim.starts_with("HTTP/1.1 100 "), "{interim}");
    conn.reader().read_line(&mut interim).unwrap();
    conn.write(body.as_bytes()).unwrap();
    assert_eq!(conn.read_response().unwrap().status, 200);
}

#[test]
fn the_access_log_has_one_line_per_sampled_request() {
    let fx = trained(&[]);
    let access_lines = |server: &Server| {
        server
            .log()
            .iter()
            .filter(|l| l.contains("mlops::access"))
            .count()
    };
    // The default: one request in 100.
    let server = Server::start(&fx.model, &[]);
    let mut conn = Conn::open(server.addr).unwrap();
    for _ in 0..150 {
        assert_eq!(conn.request("GET", "/health", None).unwrap().status, 200);
    }
    server.wait_for_log("mlops::access");
    let last = conn.request("GET", "/health", None).unwrap();
    let id = last.header("x-request-id").unwrap().to_owned();
    // The 101st request was logged: wait for its line, then count.
    wait_until(
        || format!("{:#?}", server.log()),
        || (access_lines(&server) >= 2).then_some(()),
    );
    assert_eq!(access_lines(&server), 2, "{:#?}", server.log());
    assert!(!server.log().iter().any(|l| l.contains(&id)));
    // One in 3.
    let server = Server::start(&fx.model, &["--access-log-sample", "3"]);
    let mut conn = Conn::open(server.addr).unwrap();
    let ids: Vec<String> = (0..9)
        .map(|_| {
            let r = conn.request("GET", "/health", None).unwrap();
            r.header("x-request-id").unwrap().to_owned()
        })
        .collect();
    server.wait_for_log(&ids[6]);
    let logged: Vec<bool> = ids
        .iter()
        .map(|id| server.log().iter().any(|l| l.contains(id.as_str())))
        .collect();
    assert_eq!(
        logged,
        [true, false, false, true, false, false, true, false, false]
    );
}
