//! Requests hyper cannot parse, over real TCP: its own 400, 414 and 431 answers come
//! with the API's error envelope, `x-request-id` and `x-model-digest`, and close the
//! connection; a `Content-Length` too large for hyper is a 413.

use super::hardening::{assert_envelope, raw, read_until_closed};
use crate::support::fixture::trained;
use crate::support::process::Server;
use crate::support::tcp::{Conn, HttpResponse, http};

/// Sends `bytes` on a new connection; the one answer, after which the server closes it.
fn refused(addr: std::net::SocketAddr, bytes: &str, status: u16, code: &str) -> HttpResponse {
    let mut conn = Conn::open(addr).unwrap();
    conn.write(bytes.as_bytes()).unwrap();
    let r = conn.read_response().unwrap();
    assert_envelope(&r, status, code);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(read_until_closed(&mut conn), 0, "bytes after the answer");
    r
}

/// A request declaring a `Content-Length` of `value`.
fn huge_length(value: &str) -> String {
    format!("POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: {value}\r\n\r\n")
}

#[test]
fn requests_hyper_cannot_parse_get_the_envelope_and_the_connection_closes() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &[]);
    let addr = server.addr;
    let digest = http(addr, "GET", "/health", None).unwrap();
    let digest = digest.header("x-model-digest").unwrap().to_owned();
    let mut ids = Vec::new();
    for (request, status, code) in [
        // A malformed request line, a header field without a colon, a Content-Length
        // that is not a number.
        (
            "GET /health HTTX/1.1\r\nHost: t\r\n\r\n".to_owned(),
            400,
            "malformed_request",
        ),
        (
            "GET /health HTTP/1.1\r\nHost t\r\n\r\n".to_owned(),
            400,
            "malformed_request",
        ),
        (
            "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n".to_owned(),
            400,
            "malformed_request",
        ),
        // A request target over 65,534 bytes.
        (
            format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(70_000)),
            414,
            "uri_too_long",
        ),
        // More than 100 header fields.
        (
            format!(
                "GET /health HTTP/1.1\r\nHost: t\r\n{}\r\n",
                "x-a: 1\r\n".repeat(101)
            ),
            431,
            "headers_too_large",
        ),
        // A Content-Length hyper cannot represent (it uses 2^64-2 and 2^64-1 itself, and
        // a larger one overflows): a body larger than the server takes.
        (
            huge_length("18446744073709551614"),
            413,
            "payload_too_large",
        ),
        (
            huge_length("18446744073709551615"),
            413,
            "payload_too_large",
        ),
        (
            huge_length("99999999999999999999999"),
            413,
            "payload_too_large",
        ),
    ] {
        let r = refused(addr, &request, status, code);
        assert_eq!(r.header("x-model-digest"), Some(digest.as_str()));
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(!message.is_empty(), "{code}");
        ids.push(r.header("x-request-id").unwrap().to_owned());
    }
    // Fresh ids, in the middleware's form.
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    let good = http(addr, "GET", "/health", None).unwrap();
    let prefix = |id: &str| id.split('-').next().unwrap().to_owned();
    assert_eq!(
        prefix(&ids[0]),
        prefix(good.header("x-request-id").unwrap())
    );
    // The limit is the one the details name: 65,534 bytes are a request.
    let target = |len: usize| format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(len - 1));
    let r = refused(addr, &target(65_535), 414, "uri_too_long");
    assert_eq!(r.json()["error"]["details"]["max_uri_bytes"], 65_534);
    assert_envelope(&raw(addr, &target(65_534)), 404, "not_found");
}

#[test]
fn an_answer_before_a_bad_pipelined_request_is_unchanged() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &[]);
    let mut conn = Conn::open(server.addr).unwrap();
    let good = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
    conn.write(format!("{good}{good}GET /health HTTX/1.1\r\n\r\n").as_bytes())
        .unwrap();
    for _ in 0..2 {
        let r = conn.read_response().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["status"], "ok", "{r:?}");
    }
    let r = conn.read_response().unwrap();
    assert_envelope(&r, 400, "malformed_request");
    assert_eq!(read_until_closed(&mut conn), 0);
}

#[test]
fn a_huge_content_length_after_other_requests_is_a_413() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &[]);
    let good = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
    let post = "POST /predict HTTP/1.1\r\nHost: t\r\ncontent-type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    // Pipelined in one write, and one after the other on a kept-alive connection.
    for pipelined in [true, false] {
        let mut conn = Conn::open(server.addr).unwrap();
        let requests = [good, post, &huge_length("18446744073709551615")];
        if pipelined {
            conn.write(requests.concat().as_bytes()).unwrap();
        }
        for (i, request) in requests.iter().enumerate() {
            if !pipelined {
                conn.write(request.as_bytes()).unwrap();
            }
            let r = conn.read_response().unwrap();
            match i {
                0 => assert_eq!(r.status, 200, "{r:?}"),
                1 => assert_eq!(r.status, 422, "{r:?}"),
                _ => {
                    assert_envelope(&r, 413, "payload_too_large");
                    assert_eq!(r.header("connection"), Some("close"));
                    assert!(r.header("x-request-id").is_some(), "{r:?}");
                }
            }
        }
        assert_eq!(read_until_closed(&mut conn), 0);
    }
}

#[test]
fn a_head_too_large_stays_a_431_whatever_its_content_length() {
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &[]);
    // More header fields than hyper takes, before and after the Content-Length.
    let many = "x-a: 1\r\n".repeat(101);
    let huge = "Content-Length: 18446744073709551615\r\n";
    for fields in [format!("{many}{huge}"), format!("{huge}{many}")] {
        let request = format!("POST /predict HTTP/1.1\r\nHost: t\r\n{fields}\r\n");
        let r = refused(server.addr, &request, 431, "headers_too_large");
        assert!(r.header("x-request-id").is_some(), "{r:?}");
    }
}

#[test]
fn a_head_answer_without_a_body_passes_unchanged() {
    use std::io::BufRead;
    let fx = trained(&[]);
    let server = Server::start(&fx.model, &[]);
    let mut conn = Conn::open(server.addr).unwrap();
    conn.write(b"HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        conn.reader().read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        head.push(line);
    }
    assert_eq!(head[0], "HTTP/1.1 200 OK\r\n", "{head:?}");
    assert!(
        head.iter().any(|l| l.starts_with("x-request-id: ")),
        "{head:?}"
    );
    assert!(head.last().unwrap().starts_with("date: "), "{head:?}");
    // The connection stays open for the next request.
    assert_eq!(conn.request("GET", "/health", None).unwrap().status, 200);
}
