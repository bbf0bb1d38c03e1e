//! The HTTP prediction service (`mlops serve`), on axum and tokio.
//!
//! The contract is DESIGN.md §4; this module wires it together:
//! * [`state`]: the serving model behind an atomic pointer, readiness, limits;
//! * [`routes`]: the route table, the router and the operational handlers;
//! * [`predict`] and [`v2`]: the native and the Open Inference Protocol predictions;
//! * [`json`]: request bodies, with the API's statuses for bad ones;
//! * [`error`]: the one JSON error envelope;
//! * [`middleware`]: request ids, bounded concurrency, timeouts, metrics, access log;
//! * [`metrics`] and [`openapi`]: `/metrics` and `/openapi.json`;
//! * [`lifecycle`]: start-up, signals (graceful shutdown, SIGHUP reload) and logging;
//! * [`listener`]: accepting connections and serving HTTP/1.1 on them.

pub mod error;
pub mod json;
pub mod lifecycle;
pub mod listener;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod predict;
pub mod routes;
pub mod state;
pub mod v2;

use std::path::PathBuf;

use axum::http::HeaderName;

pub use routes::app;
pub use state::{AppState, Limits, Loaded};

/// The response header naming the model that served a request (`sha256:<hex>`).
pub const MODEL_DIGEST: HeaderName = HeaderName::from_static("x-model-digest");
/// The request/response header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Options of `mlops serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The model file to serve (written by `mlops train`).
    #[arg(long, env = "MLOPS_MODEL", default_value = "models/model.cbor")]
    pub model: PathBuf,
    /// Address to listen on; port 0 picks a free port (the log says which).
    #[arg(long, env = "MLOPS_ADDR", default_value = "0.0.0.0:8000")]
    pub addr: String,
    /// Log format; the level comes from RUST_LOG (default: info).
    #[arg(long, env = "MLOPS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, env = "MLOPS_MAX_BODY_BYTES", default_value_t = 1 << 20, value_parser = at_least_one)]
    pub max_body_bytes: usize,
    /// Most rows in one batch request (413 beyond).
    #[arg(long, env = "MLOPS_MAX_BATCH", default_value_t = 1000, value_parser = at_least_one)]
    pub max_batch: usize,
    /// Time allowed to receive and answer one request, in milliseconds (408 beyond).
    #[arg(long, env = "MLOPS_REQUEST_TIMEOUT_MS", default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Most requests handled at once; beyond it, 503 with Retry-After (probes exempt).
    #[arg(long, env = "MLOPS_MAX_IN_FLIGHT", default_value_t = 256, value_parser = in_flight_limit)]
    pub max_in_flight: usize,
    /// Time allowed for a request's head to arrive, in milliseconds; also how long an
    /// idle keep-alive connection stays open.
    #[arg(long, env = "MLOPS_HEADER_READ_TIMEOUT_MS", default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,
    /// After SIGTERM/SIGINT, keep serving this long with readiness off (for load
    /// balancers to notice) before closing the listener, in milliseconds.
    #[arg(long, env = "MLOPS_SHUTDOWN_DELAY_MS", default_value_t = 0)]
    pub shutdown_delay_ms: u64,
    /// Longest wait for in-flight requests once the listener is closed, in milliseconds;
    /// then the process exits anyway.
    #[arg(long, env = "MLOPS_SHUTDOWN_TIMEOUT_MS", default_value_t = 5_000)]
    pub shutdown_timeout_ms: u64,
    /// Worker threads; 0 means one per CPU, 1 runs everything on one thread.
    #[arg(long, env = "MLOPS_WORKERS", default_value_t = 0, value_parser = worker_count)]
    pub workers: usize,
}

impl ServeArgs {
    /// The request limits these options describe.
    pub fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            max_batch: self.max_batch,
            request_timeout: std::time::Duration::from_millis(self.request_timeout_ms),
            max_in_flight: self.max_in_flight,
        }
    }
}

/// Parses a limit that must be positive (0 would refuse every request).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses `--max-in-flight`: positive, and within what a semaphore can count.
fn in_flight_limit(s: &str) -> Result<usize, String> {
    let n = at_least_one(s)?;
    if n > tokio::sync::Semaphore::MAX_PERMITS {
        return Err(format!(
            "must be at most {}",
            tokio::sync::Semaphore::MAX_PERMITS
        ));
    }
    Ok(n)
}

/// Most worker threads `--workers` accepts.
pub const MAX_WORKERS: usize = 1024;

/// Parses `--workers`: at most [`MAX_WORKERS`]. tokio panics (and the process aborts)
/// when the OS refuses a worker thread, which `--workers 100000` makes certain; a
/// prediction server gains nothing from more threads than a large machine has CPUs.
fn worker_count(s: &str) -> Result<usize, String> {
    let n = s.parse::<usize>().map_err(|e| e.to_string())?;
    if n > MAX_WORKERS {
        return Err(format!(
            "must be at most {MAX_WORKERS} (0 means one per CPU)"
        ));
    }
    Ok(n)
}

/// Runs the server until shutdown; an error (e.g. a missing model) means exit non-zero.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    lifecycle::run(args)
}
