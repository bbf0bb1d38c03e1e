//! Start-up, signals and shutdown of `mlops serve`.
//!
//! * **Start-up** loads and verifies the model *before* binding the port: a missing,
//!   corrupt or incompatible file exits non-zero at once with the model module's message
//!   (which says how to fix it), and a server that accepts connections always has a
//!   verified model, so readiness is honest from the first request.
//! * **SIGTERM/SIGINT** (the server is PID 1 in its container): readiness turns 503 at
//!   once; after `--shutdown-delay-ms` (default 0) the listener closes, idle keep-alive
//!   connections are closed and in-flight requests finish; the process exits 0 when they
//!   have, or after `--shutdown-timeout-ms` at the latest. A second signal exits at once.
//! * **SIGHUP** reloads the model file (module [`super::reload`]): on a blocking thread,
//!   within a timeout, swapped in atomically; a file that fails verification, or whose
//!   features differ without `--allow-feature-change`, is refused with a logged reason,
//!   and the old model keeps serving.
//!
//! The runtime is built here, not by the CLI: one worker per CPU by default, or a
//! single-threaded runtime with `--workers 1` (see BENCHMARKS.md for the comparison).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use super::config::{LogFormat, ServeArgs};
use super::hyper_errors::{Stamp, Stamper};
use super::listener;
use super::logging::EscapedFields;
use super::middleware::assign_request_id;
use super::reload::{self, RELOAD_TIMEOUT};
use super::routes::app_with;
use super::state::AppState;

/// Where shutdown stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Serving.
    Running,
    /// Listener closed, waiting for in-flight requests.
    Closing,
    /// A second signal: stop waiting.
    Forced,
}

/// Runs the server until shutdown.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    init_logging(args.log_format);
    let state = AppState::load(&args.model, args.limits())?;
    state.allow_feature_change(args.allow_feature_change);
    {
        let loaded = state.current();
        let meta = loaded.model.metadata();
        tracing::info!(
            model = %loaded.model.id,
            name = %meta.name,
            features = meta.features.len(),
            classes = meta.classes.len(),
            trees = loaded.model.forest().n_trees(),
            path = %args.model.display(),
            "model loaded and verified"
        );
    }
    let runtime = build_runtime(args.workers)?;
    let result = runtime.block_on(serve(args, state, started));
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

fn build_runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if workers > 1 {
            b.worker_threads(workers);
        }
        b
    };
    builder
        .enable_all()
        .thread_name("mlops-worker")
        // Blocking threads only ever run model reloads.
        .max_blocking_threads(2)
        .build()
        .context("cannot start the async runtime")
}

/// Why `--addr` cannot be listened on, with the fix that fits: "free that port" helps
/// with a port in use, not with `localhost:80x`.
fn bind_problem(addr: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind::{AddrInUse, AddrNotAvailable, InvalidInput, PermissionDenied};
    let fix = match e.kind() {
        AddrInUse => "free that port or choose another with --addr",
        InvalidInput => "--addr takes HOST:PORT, such as 0.0.0.0:8000 or 127.0.0.1:0",
        AddrNotAvailable => "this machine has no such address; use 0.0.0.0 or one of its own",
        PermissionDenied => "ports below 1024 need privileges; choose another with --addr",
        _ => "choose another with --addr (HOST:PORT)",
    };
    format!("cannot listen on {addr}: {e}; {fix}")
}

/// Installs the global log subscriber (once; later calls are no-ops).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        // A log line that cannot be written (stdout closed, as after `mlops serve |
        // grep -m1 ready`) is dropped: tracing-subscriber would otherwise report each
        // one on stderr, a line per request, and serving is what matters.
        .log_internal_errors(false)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        LogFormat::Human => builder.fmt_fields(EscapedFields).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

async fn serve(args: ServeArgs, state: AppState, started: Instant) -> anyhow::Result<()> {
    // Signal handlers first: a signal sent as soon as "ready" is logged must be handled.
    let term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;

    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| anyhow::anyhow!(bind_problem(&args.addr, &e)))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;

    tokio::spawn(reload::on_signals(state.clone(), hup, RELOAD_TIMEOUT));

    let delay = Duration::from_millis(args.shutdown_delay_ms);
    let phase_rx = shut_down_on_signals(state.clone(), delay, term, int);

    let mut closing = phase_rx.clone();
    let stop = async move {
        let _ = closing.wait_for(|p| *p >= Phase::Closing).await;
    };
    let limits = listener::ConnectionLimits {
        header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
        write_timeout: Duration::from_millis(args.write_timeout_ms),
        max_requests: args.max_requests_per_connection,
    };
    let stamp = stamper(state.clone());
    let app = app_with(state, !args.no_ui);
    let accepting = listener::serve_until(listener, app, limits, stamp, stop);
    tracing::info!("listening on {local}");
    // Rounded to 10 µs: the log shows `2.17`, not `2.1748499999999997`.
    let startup_ms = (started.elapsed().as_secs_f64() * 1e5).round() / 100.0;
    tracing::info!(
        startup_ms,
        "ready: serving predictions on http://{local}/predict"
    );
    // Serve until the listener closes, then give open connections a bounded time.
    let connections = accepting.await;
    let open = connections.count();
    let timeout = Duration::from_millis(args.shutdown_timeout_ms);
    let mut phase = phase_rx;
    tokio::select! {
        () = connections.shutdown() => {
            tracing::info!(
                open_connections = open,
                "listener closed, all requests finished; exiting"
            );
        }
        _ = tokio::time::sleep(timeout) => {
            tracing::warn!(
                "requests still in flight after --shutdown-timeout-ms={}; exiting anyway",
                args.shutdown_timeout_ms
            );
        }
        _ = phase.wait_for(|p| *p >= Phase::Forced) => {}
    }
    Ok(())
}

/// The headers of hyper's own error answers: a request id from the middleware's
/// generator and the digest of the model serving at that moment.
fn stamper(state: AppState) -> Stamper {
    Arc::new(move || Stamp {
        request_id: assign_request_id(),
        model_digest: state.current().digest.clone(),
    })
}

/// Runs the shutdown sequence on SIGTERM/SIGINT (see the module documentation) in a task
/// of its own, and returns where it stands.
fn shut_down_on_signals(
    state: AppState,
    delay: Duration,
    mut term: Signal,
    mut int: Signal,
) -> watch::Receiver<Phase> {
    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        state.begin_draining();
        tracing::info!("{name} received: readiness is off; finishing in-flight requests");
        // A second signal, during the delay or the drain, means "now".
        let early = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = term.recv() => true,
            _ = int.recv() => true,
        };
        if !early {
            let _ = phase_tx.send(Phase::Closing);
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        tracing::warn!("second signal: exiting without waiting for in-flight requests");
        let _ = phase_tx.send(Phase::Forced);
    });
    phase_rx
}
