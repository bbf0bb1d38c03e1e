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
//! Shutdown uses hyper-util's `GracefulShutdown`: once the listener is closed, every
//! connection is told to finish its current request (if any) and close.

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Accepts connections and serves `app` on them until `stop` completes; returns the
/// handle that drains the open connections.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    stop: impl Future<Output = ()>,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
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
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended with an error: {e}");
            }
        });
    }
    drop(listener);
    graceful
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
