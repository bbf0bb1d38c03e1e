//! Accepting connections and serving HTTP/1.1 on them, with graceful shutdown.
//!
//! This is what `axum::serve` does, plus one thing it cannot be told: a timer for hyper,
//! so that `--header-read-timeout-ms` applies. Without it a client could open connections
//! and dribble header bytes forever (each one a task and its buffers), and idle
//! keep-alive connections would never be closed; hyper's timer covers both, because it
//! starts whenever a connection waits for the next request's head. The per-request
//! timeout (`--request-timeout-ms`) starts once the head has arrived and is enforced by
//! the middleware.
//!
//! Two more bounds apply per connection, so that a client that sends requests and never
//! reads the answers cannot pin memory (hyper answers pipelined requests one after the
//! other, and each answer waits in the socket's send buffer):
//!
//! * a **write timeout** (`--write-timeout-ms`): a connection whose writes make no
//!   progress for that long is closed (tokio-io-timeout's `TimeoutStream`);
//! * a **request cap** (`--max-requests-per-connection`): the answer to the last request
//!   allowed says `Connection: close`, and hyper closes the connection after it, so a
//!   pipeline of thousands of requests is cut short.
//!
//! hyper's own answers to requests it cannot parse (400, 414, 431) get the API's error
//! envelope and headers on the way out: each stream is wrapped in
//! [`super::hyper_errors::Enveloped`].
//!
//! Shutdown uses hyper-util's `GracefulShutdown`: once the listener is closed, every
//! connection is told to finish its current request (if any) and close.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_io_timeout::TimeoutStream;

use super::hyper_errors::{Enveloped, MAX_HEAD_BYTES, Stamper};
use super::self_wake;

/// The bounds on each connection (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// For a request's head to arrive, and for an idle keep-alive connection.
    pub header_read_timeout: Duration,
    /// For a write to make progress.
    pub write_timeout: Duration,
    /// Requests served on one connection.
    pub max_requests: usize,
}

/// Accepts connections and serves `app` on them until `stop` completes; returns the
/// handle that drains the open connections. `stamp` gives hyper's own error answers
/// their `x-request-id` and `x-model-digest`.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stamp: Stamper,
    stop: impl Future<Output = ()>,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper's default, set here so the limit that 431 answers name is ours.
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Small responses: do not let Nagle's algorithm hold them back.
        let _ = stream.set_nodelay(true);
        let service = capped(app.clone(), limits.max_requests);
        let io = TokioIo::new(Enveloped::new(
            with_write_timeout(stream, &limits),
            stamp.clone(),
        ));
        let connection = builder.serve_connection(io, service);
        let connection = self_wake::coalesced(graceful.watch(connection));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended with an error: {e}");
            }
        });
    }
    drop(listener);
    graceful
}

/// The connection's stream, closed by an error when a write makes no progress in time.
fn with_write_timeout(
    stream: TcpStream,
    limits: &ConnectionLimits,
) -> std::pin::Pin<Box<TimeoutStream<TcpStream>>> {
    let mut stream = TimeoutStream::new(stream);
    stream.set_write_timeout(Some(limits.write_timeout));
    Box::pin(stream)
}

/// The app as one connection's service: the answer to request number `max` carries
/// `Connection: close`, which makes hyper close the connection after writing it.
fn capped(
    app: Router,
    max: usize,
) -> impl Service<
    hyper::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    let app = TowerToHyperService::new(app);
    let served = Arc::new(AtomicUsize::new(0));
    hyper::service::service_fn(move |req| {
        let last = served.fetch_add(1, Ordering::Relaxed) + 1 >= max;
        let answer = app.call(req);
        async move {
            let mut response = answer.await?;
            if last {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    })
}

/// Errors of one connection are its own; running out of file descriptors is not, and
/// retrying at once would spin, so wait a little then.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
