//! What `mlops serve` is told on its command line: the options, their parsers, and the
//! request limits they describe.

use std::path::PathBuf;
use std::time::Duration;

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
    #[arg(long, env = "MLOPS_MAX_BODY_BYTES", default_value_t = Limits::DEFAULT.max_body_bytes, value_parser = at_least_one)]
    pub max_body_bytes: usize,
    /// Most rows in one batch request (413 beyond).
    #[arg(long, env = "MLOPS_MAX_BATCH", default_value_t = Limits::DEFAULT.max_batch, value_parser = at_least_one)]
    pub max_batch: usize,
    /// Time allowed to receive one request's body, and again to answer it, in
    /// milliseconds (408 beyond).
    #[arg(long, env = "MLOPS_REQUEST_TIMEOUT_MS", default_value_t = Limits::DEFAULT.request_timeout.as_millis() as u64,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Most requests handled at once; beyond it, 503 with Retry-After (probes exempt).
    #[arg(long, env = "MLOPS_MAX_IN_FLIGHT", default_value_t = Limits::DEFAULT.max_in_flight, value_parser = in_flight_limit)]
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
    /// Let a SIGHUP reload serve a model whose feature names differ from the served
    /// one's (logged at WARN with both lists); without it such a reload is refused.
    #[arg(long, env = "MLOPS_ALLOW_FEATURE_CHANGE")]
    pub allow_feature_change: bool,
    /// Time a response may wait for its client to read it, in milliseconds; a connection
    /// whose writes make no progress for this long is closed.
    #[arg(long, env = "MLOPS_WRITE_TIMEOUT_MS", default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub write_timeout_ms: u64,
    /// Most requests on one connection (pipelined or not); the answer to the last one
    /// says `Connection: close`, and the client reconnects.
    #[arg(long, env = "MLOPS_MAX_REQUESTS_PER_CONNECTION", default_value_t = 1000, value_parser = at_least_one)]
    pub max_requests_per_connection: usize,
    /// Log one request in N in the access log (1: every request, 0: none); metrics count
    /// every request either way.
    #[arg(long, env = "MLOPS_ACCESS_LOG_SAMPLE", default_value_t = Limits::DEFAULT.access_log_sample)]
    pub access_log_sample: u64,
    /// Worker threads; 0 means one per CPU, 1 runs everything on one thread.
    #[arg(long, env = "MLOPS_WORKERS", default_value_t = 0, value_parser = worker_count)]
    pub workers: usize,
    /// Leave out the pages for people: the model card at / and the API documentation
    /// at /docs (both 404 then).
    #[arg(long, env = "MLOPS_NO_UI")]
    pub no_ui: bool,
}

impl ServeArgs {
    /// The request limits these options describe.
    pub fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            max_batch: self.max_batch,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_in_flight: self.max_in_flight,
            access_log_sample: self.access_log_sample,
        }
    }
}

/// Request limits of the service (see `mlops serve --help`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Most rows in one batch (413 beyond).
    pub max_batch: usize,
    /// Longest time to receive a request's body, and again to answer it (408 beyond).
    pub request_timeout: Duration,
    /// Most requests handled at once, probes excepted (503 + Retry-After beyond).
    pub max_in_flight: usize,
    /// One request in this many gets an access log line (0: none).
    pub access_log_sample: u64,
}

impl Limits {
    /// The defaults, which `mlops serve`'s flags show and use.
    pub const DEFAULT: Limits = Limits {
        max_body_bytes: 1 << 20,
        max_batch: 1000,
        request_timeout: Duration::from_secs(10),
        max_in_flight: 256,
        access_log_sample: 100,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
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
