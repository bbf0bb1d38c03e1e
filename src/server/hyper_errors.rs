//! The answers hyper writes itself, given the API's error envelope and headers.
//!
//! When a request's head cannot be parsed, hyper answers before the application sees a
//! request: `Server::on_error` in hyper's `proto::h1::role` maps the parse error to 400
//! (request line, method, version or a header field, an unparsable `Content-Length`
//! included), 414 (a request target over 65,534 bytes) or 431 (a head over the read
//! buffer, over 100 header fields, or a `Content-Length` of 2^64 - 2 or more), and
//! `Conn::on_parse_error` writes a head with no header of ours, then closes the
//! connection. hyper has no hook for that answer (no setting changes it, and the service
//! is never called), so this module recognises it on the way out and writes the API's
//! answer in its place.
//!
//! [`Enveloped`] wraps each connection's stream. hyper's head is always exactly
//!
//! ```text
//! HTTP/1.x <400|414|431> <reason>\r\n
//! [connection: close\r\n]           (hyper's `enforce_version`: keep-alive is off;
//!  or connection: keep-alive\r\n)    to an HTTP/1.0 client, when it is on)
//! content-length: 0\r\n
//! date: <29 bytes> GMT\r\n\r\n
//! ```
//!
//! and it is the last thing hyper writes on the connection. The application's own
//! answers never end like that: they carry `x-request-id` (and a content type) between
//! the status line and `content-length`, and their bodies are JSON (no raw line
//! breaks), HTML, text or numbers, so a status line right before `content-length: 0`
//! at the very end of a write is hyper's. (The one body that could in theory end with
//! such bytes is a v2 binary `label` output whose last class name is a whole HTTP head,
//! put there by whoever trained the model.) Each write costs one 8-byte comparison of
//! its last bytes (`" GMT\r\n\r\n"`, which only body-less heads end with); only a
//! match is looked at further. The head need not start the write: after a pipelined
//! request, hyper may flush the previous answer and its own head together, so the
//! bytes before the head go out first, as they are. A vectored write is looked at only
//! when one of its slices holds bytes: hyper writes its head into its head buffer with
//! the body queue empty, so a write of head and body slices is never hyper's error.
//!
//! Looking at the *start* of each answer instead would need to know where answers
//! start, which the stream can only learn by following each answer's framing
//! (`content-length`, chunks): more work on every answer, for the same result.
//!
//! The replacement is a complete answer: the same status line, `content-type:
//! application/json`, a correct `content-length`, `connection: close`, a fresh
//! `x-request-id` from the middleware's generator, the serving model's
//! `x-model-digest`, hyper's `date`, and the envelope (`malformed_request`,
//! `uri_too_long`, `headers_too_large` or `payload_too_large`). hyper is told its head
//! was written; the replacement's bytes are written by the next `poll_write`,
//! `poll_flush` or `poll_shutdown` (hyper flushes and shuts down after its head), so a
//! partial write of it is resumed, never lost or duplicated.
//!
//! A `Content-Length` of 2^64 - 2 or more is valid syntax (RFC 9110 §8.6) that hyper
//! cannot represent: it answers 431 up to 2^64 - 1 (values it uses as sentinels) and
//! 400 beyond (the numeral overflows). Such a body is larger than the server takes, so
//! the answer is 413 `payload_too_large`. hyper's head does not say why it refused, so
//! the stream also keeps the first bytes read since its last answer (up to
//! [`RETAINED_BYTES`]; one bounded copy per read, no scanning), and only when it
//! replaces a 400 or 431 does [`declares_huge_length`] read them. The first read after
//! an answer starts them over, so they begin at the next request whenever hyper has
//! taken every byte read before (requests that are not pipelined), and pipelined
//! requests read together are walked in order by their lengths. The bytes are a hint:
//! when they cannot be followed (a head over the cap, a head that arrived in pieces
//! across an answer), hyper's own status stands. Scanning each read for
//! `content-length` instead would cost every request, to serve only refused ones.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::http::{HeaderValue, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::ApiError;
use super::huge_length::{RETAINED_BYTES, declares_huge_length};

/// The longest request target hyper takes (its `MAX_URI_LEN`), in bytes.
pub const MAX_URI_BYTES: usize = 65_534;
/// The most header fields hyper takes in a request (its default).
pub const MAX_HEADER_FIELDS: usize = 100;
/// The largest request head hyper reads (its default read buffer, which the listener
/// sets explicitly), in bytes.
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// The headers that tie an answer to the server: a request id and the model's digest.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// A new `x-request-id`.
    pub request_id: HeaderValue,
    /// The serving model's `x-model-digest`.
    pub model_digest: HeaderValue,
}

/// Makes a [`Stamp`] for each answer; shared by every connection.
pub type Stamper = Arc<dyn Fn() -> Stamp + Send + Sync>;

/// A connection's stream whose hyper-made error answers are replaced (see the module
/// documentation). Reads pass through; their first bytes since the last answer are kept.
pub struct Enveloped<S> {
    inner: S,
    stamp: Stamper,
    /// The replacement answer, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
    /// The first bytes read since the last answer, up to [`RETAINED_BYTES`]: what
    /// [`declares_huge_length`] looks at.
    read: Vec<u8>,
    /// Whether an answer was written since `read` started; the next read starts it over.
    answered: bool,
}

impl<S> Enveloped<S> {
    /// Wraps `inner`; `stamp` gives each replacement its headers.
    pub fn new(inner: S, stamp: Stamper) -> Self {
        Enveloped {
            inner,
            stamp,
            pending: None,
            read: Vec::new(),
            answered: false,
        }
    }
}

/// hyper's error head, found at the end of a write.
#[derive(Debug, PartialEq)]
struct Canned<'a> {
    /// Where the head starts in the write.
    start: usize,
    /// `HTTP/1.0` or `HTTP/1.1`.
    version: &'a [u8],
    status: StatusCode,
    /// The `date` header's value.
    date: &'a [u8],
}

/// What hyper's head ends with; nothing else we write does (its first check).
const END: &[u8] = b" GMT\r\n\r\n";
const DATE_LEN: usize = 29;
const LENGTH_AND_DATE: &[u8] = b"content-length: 0\r\ndate: ";
const CONNECTION: [&[u8]; 2] = [b"connection: close\r\n", b"connection: keep-alive\r\n"];
const STATUS_LINES: [(StatusCode, &[u8]); 3] = [
    (StatusCode::BAD_REQUEST, b" 400 Bad Request\r\n"),
    (StatusCode::URI_TOO_LONG, b" 414 URI Too Long\r\n"),
    (
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        b" 431 Request Header Fields Too Large\r\n",
    ),
];

/// hyper's error head, when `buf` ends with one.
fn find_canned(buf: &[u8]) -> Option<Canned<'_>> {
    if !buf.ends_with(END) {
        return None;
    }
    let date_start = buf.len().checked_sub(DATE_LEN + 4)?;
    let head = buf[..date_start].strip_suffix(LENGTH_AND_DATE)?;
    let head = CONNECTION
        .iter()
        .find_map(|c| head.strip_suffix(*c))
        .unwrap_or(head);
    STATUS_LINES.iter().find_map(|&(status, line)| {
        let before = head.strip_suffix(line)?;
        let start = before.len().checked_sub(8)?;
        let version = &before[start..];
        (version == b"HTTP/1.1" || version == b"HTTP/1.0").then_some(Canned {
            start,
            version,
            status,
            date: &buf[date_start..date_start + DATE_LEN],
        })
    })
}

/// The API's error for hyper's status.
fn api_error(status: StatusCode) -> ApiError {
    use serde_json::json;
    match status {
        StatusCode::URI_TOO_LONG => ApiError::new(
            status,
            "uri_too_long",
            format!("the request target is longer than {MAX_URI_BYTES} bytes; send large inputs in a POST body"),
        )
        .with_details(json!({"max_uri_bytes": MAX_URI_BYTES})),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::new(
            status,
            "headers_too_large",
            format!(
                "the request head is too large: more than {MAX_HEADER_FIELDS} header fields or {MAX_HEAD_BYTES} bytes; send fewer and smaller header fields"
            ),
        )
        .with_details(json!({"max_header_fields": MAX_HEADER_FIELDS, "max_head_bytes": MAX_HEAD_BYTES})),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            "payload_too_large",
            "the request's Content-Length (2^64-2 or more) is larger than the server's limit (--max-body-bytes); send fewer rows per request",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "the request is not valid HTTP/1.1 (or 1.0): its request line, a header field or its Content-Length cannot be parsed; fix the request (this connection is closed)",
        ),
    }
}

/// The status that replaces hyper's: 413 for a `Content-Length` too large for a `u64`
/// (hyper's 400 or 431), hyper's own otherwise. `read` holds the bytes read since the
/// last answer.
fn api_status(hyper: StatusCode, read: &[u8]) -> StatusCode {
    let refused_length = matches!(
        hyper,
        StatusCode::BAD_REQUEST | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    if refused_length && declares_huge_length(read, MAX_HEADER_FIELDS) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        hyper
    }
}

/// The whole answer, with `status`, that replaces `canned`.
fn replacement(canned: &Canned<'_>, status: StatusCode, stamp: &Stamp) -> Vec<u8> {
    let body = api_error(status).json();
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(canned.version);
    // The status line as hyper writes it (with the canonical reason).
    let reason = status.canonical_reason().unwrap_or_default();
    out.extend_from_slice(format!(" {} {reason}\r\n", status.as_u16()).as_bytes());
    out.extend_from_slice(b"content-type: application/json\r\ncontent-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\nconnection: close\r\nx-request-id: ");
    out.extend_from_slice(stamp.request_id.as_bytes());
    out.extend_from_slice(b"\r\nx-model-digest: ");
    out.extend_from_slice(stamp.model_digest.as_bytes());
    out.extend_from_slice(b"\r\ndate: ");
    out.extend_from_slice(canned.date);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&body);
    out
}

impl<S: AsyncWrite + Unpin> Enveloped<S> {
    /// Writes what is left of a replacement, if any.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
            if *written == bytes.len() {
                self.pending = None;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes bytes of an answer (not hyper's error head) as they are.
    fn write_answer(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.answered = true;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Enveloped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        match find_canned(buf) {
            None => this.write_answer(cx, buf),
            // What precedes the head goes out first, unchanged.
            Some(c) if c.start > 0 => this.write_answer(cx, &buf[..c.start]),
            Some(c) => {
                let status = api_status(c.status, &this.read);
                tracing::debug!(
                    hyper = c.status.as_u16(),
                    status = status.as_u16(),
                    "a request hyper could not parse gets the error envelope"
                );
                this.pending = Some((replacement(&c, status, &(this.stamp)()), 0));
                // The head is taken over: what the socket does not take now is
                // written by the next call (hyper flushes next).
                match this.poll_pending(cx) {
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    _ => Poll::Ready(Ok(buf.len())),
                }
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper's head sits alone in its write buffer's head slice (its body queue is
        // empty when it writes one), so only a write of one slice can hold it.
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            return self.poll_write(cx, only);
        }
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        this.answered = true;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Enveloped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        if this.answered && !new.is_empty() {
            // A read after an answer starts the next request (when hyper has taken
            // every byte before it, as it has unless requests are pipelined).
            this.read.clear();
            this.answered = false;
        }
        let room = RETAINED_BYTES - this.read.len();
        this.read.extend_from_slice(&new[..new.len().min(room)]);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    const DATE: &str = "Mon, 30 Nov 2026 01:56:21 GMT";

    /// A head as hyper writes it for a parse error (keep-alive is off by then).
    fn hyper_head(line: &str) -> String {
        format!("{line}\r\nconnection: close\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n")
    }

    fn stamper() -> Stamper {
        Arc::new(|| Stamp {
            request_id: HeaderValue::from_static("id-1"),
            model_digest: HeaderValue::from_static("sha256:ab"),
        })
    }

    /// A socket that takes at most `max` bytes per write, and gives `input` when read.
    struct Trickle {
        out: Vec<u8>,
        max: usize,
        input: std::collections::VecDeque<u8>,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = buf.remaining().min(self.input.len());
            let bytes: Vec<u8> = self.input.drain(..n).collect();
            buf.put_slice(&bytes);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.max);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn trickle(max: usize) -> Trickle {
        Trickle {
            out: vec![],
            max,
            input: Default::default(),
        }
    }

    /// What reaches the socket when `writes` are written (and flushed) through the
    /// wrapper, `max` bytes at a time.
    async fn through(writes: &[&[u8]], max: usize) -> String {
        let mut conn = Enveloped::new(trickle(max), stamper());
        for w in writes {
            conn.write_all(w).await.unwrap();
        }
        conn.flush().await.unwrap();
        conn.shutdown().await.unwrap();
        String::from_utf8(conn.inner.out).unwrap()
    }

    #[test]
    fn finds_each_of_hyper_s_heads_and_nothing_of_ours() {
        for (line, status) in [
            ("HTTP/1.1 400 Bad Request", 400),
            ("HTTP/1.1 414 URI Too Long", 414),
            ("HTTP/1.0 431 Request Header Fields Too Large", 431),
        ] {
            let head = hyper_head(line);
            let c = find_canned(head.as_bytes()).unwrap();
            assert_eq!((c.start, c.status.as_u16()), (0, status));
            assert_eq!(c.date, DATE.as_bytes());
            let after = format!("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{{}}{head}");
            assert_eq!(
                find_canned(after.as_bytes()).unwrap().start,
                after.len() - head.len()
            );
        }
        let bare =
            format!("HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n");
        assert!(find_canned(bare.as_bytes()).is_some());
        let keep_alive = format!(
            "HTTP/1.0 400 Bad Request\r\nconnection: keep-alive\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n"
        );
        assert!(find_canned(keep_alive.as_bytes()).is_some());
        // Our own answers, empty bodies included, carry our headers.
        for ours in [
            format!(
                "HTTP/1.1 400 Bad Request\r\nx-request-id: a\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n"
            ),
            format!("HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\ndate: {DATE}\r\n\r\n"),
            hyper_head("HTTP/1.1 200 OK"),
            hyper_head("HTTP/1.1 404 Not Found"),
            format!(
                "{{\"error\":\"{}\"}}",
                hyper_head("HTTP/1.1 400 Bad Request").escape_default()
            ),
        ] {
            assert_eq!(find_canned(ours.as_bytes()), None, "{ours}");
        }
    }

    #[tokio::test]
    async fn the_head_is_replaced_by_a_whole_answer_whatever_the_write_sizes() {
        let first = "HTTP/1.1 200 OK\r\nx-request-id: 1\r\ncontent-length: 2\r\n\r\n{}";
        let head = hyper_head("HTTP/1.1 431 Request Header Fields Too Large");
        let together = format!("{first}{head}");
        for max in [1, 7, 64, 1 << 20] {
            let out = through(&[together.as_bytes()], max).await;
            let (before, answer) = out.split_at(first.len());
            assert_eq!(before, first, "max {max}");
            let (head, body) = answer.split_once("\r\n\r\n").unwrap();
            assert!(
                head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
                "{head}"
            );
            for line in [
                "content-type: application/json".to_owned(),
                format!("content-length: {}", body.len()),
                "connection: close".to_owned(),
                "x-request-id: id-1".to_owned(),
                "x-model-digest: sha256:ab".to_owned(),
                format!("date: {DATE}"),
            ] {
                assert!(head.contains(&format!("\r\n{line}")), "{line} in {head}");
            }
            let json: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(json["error"]["code"], "headers_too_large", "{json}");
        }
    }

    #[tokio::test]
    async fn ordinary_answers_pass_unchanged_vectored_or_not() {
        let head = b"HTTP/1.1 200 OK\r\nx-request-id: 1\r\ncontent-length: 5\r\n\r\n";
        let out = through(&[head, b"hello"], 3).await;
        assert_eq!(out.as_bytes(), [&head[..], b"hello"].concat());
        let mut conn = Enveloped::new(trickle(1 << 20), stamper());
        let slices = [io::IoSlice::new(head), io::IoSlice::new(b"hello")];
        let n = conn.write_vectored(&slices).await.unwrap();
        assert_eq!(conn.inner.out, [&head[..], b"hello"].concat()[..n]);
    }

    /// The status and error code of the answer written after `exchanges` (bytes the
    /// client sends, then bytes hyper writes), each read or written whole.
    async fn answer_after(exchanges: &[(&str, &str)]) -> (u16, String) {
        use tokio::io::AsyncReadExt;
        let mut conn = Enveloped::new(trickle(1 << 20), stamper());
        for (sent, written) in exchanges {
            conn.inner.input.extend(sent.as_bytes());
            let mut buf = vec![0; sent.len()];
            conn.read_exact(&mut buf).await.unwrap();
            conn.write_all(written.as_bytes()).await.unwrap();
        }
        conn.flush().await.unwrap();
        let out = String::from_utf8(conn.inner.out).unwrap();
        let answer = out.rsplit("HTTP/1.1 ").next().unwrap();
        let json: serde_json::Value =
            serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
        let code = json["error"]["code"].as_str().unwrap().to_owned();
        (answer[..3].parse().unwrap(), code)
    }

    #[tokio::test]
    async fn a_content_length_past_u64_is_answered_413_whatever_hyper_said() {
        let huge = "POST /p HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n";
        let h431 = hyper_head("HTTP/1.1 431 Request Header Fields Too Large");
        let h400 = hyper_head("HTTP/1.1 400 Bad Request");
        let h414 = hyper_head("HTTP/1.1 414 URI Too Long");
        let ok = "HTTP/1.1 200 OK\r\nx-request-id: 1\r\ncontent-length: 2\r\n\r\n{}";
        let large = (413, "payload_too_large".to_owned());
        assert_eq!(answer_after(&[(huge, &h431)]).await, large);
        assert_eq!(answer_after(&[(huge, &h400)]).await, large);
        assert_eq!(answer_after(&[(huge, &h414)]).await.0, 414);
        // The bytes read before an answer are not taken for the next request's: this
        // first request's body never came, and would otherwise swallow the next head.
        let unsent_body = "POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\n";
        assert_eq!(
            answer_after(&[(unsent_body, ok), (huge, &h431)]).await,
            large
        );
        // A head too large stays 431, whatever its Content-Length.
        let padded = format!(
            "POST /p HTTP/1.1\r\nx: {}\r\n{}",
            "a".repeat(9000),
            &huge[18..]
        );
        assert_eq!(answer_after(&[(&padded, &h431)]).await.0, 431);
        let normal = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(answer_after(&[(normal, &h431)]).await.0, 431);
    }
}
