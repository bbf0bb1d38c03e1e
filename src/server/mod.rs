//! The HTTP prediction service (`mlops serve`), on axum and tokio. docs/http-api.md
//! describes the API; this module wires it together, in layers that only import
//! downwards (the integration test `layers` holds the whole library to that):
//!
//! * bottom: [`config`] (options and limits), [`headers`], [`error`] (the one JSON error
//!   envelope), [`body`] (receiving a body, bounded), [`conformance`] (RFC 9110/9112
//!   checks hyper leaves to us), [`hyper_errors`] (hyper's own error answers given the
//!   envelope) and [`huge_length`] (which of them is a 413), [`json`] (request bodies,
//!   with the API's statuses for bad ones), [`metrics`] (`/metrics`), [`listener`]
//!   (accepting connections, HTTP/1.1, write timeouts), [`self_wake`] (a connection's
//!   wake-ups to itself answered at once), [`logging`] (log fields escaped);
//! * messages and checks: [`v2_types`] (Open Inference Protocol messages),
//!   [`v2_binary`] (the protocol's binary tensor data), [`rows`] (rows and tensors
//!   checked against the model) and [`one_row`] (a one-row `/predict` answer, from
//!   pieces serialized once per model);
//! * [`state`]: the serving model behind an atomic pointer, readiness, limits;
//! * handlers: [`ops`] (health, readiness, model, metrics, fallbacks), [`predict`] and
//!   [`v2`] (the native and the Open Inference Protocol predictions);
//! * [`ui`]: the pages for people, the model card (`/`) and the API documentation
//!   (`/docs`);
//! * [`examples`]: the serving model's examples in the OpenAPI document;
//! * [`openapi`]: every route, registered once for the router and the OpenAPI document;
//! * [`middleware`]: request ids, bounded concurrency, timeouts, metrics, access log;
//! * [`routes`]: the application assembled from the routes, fallbacks and middleware;
//! * [`reload`]: SIGHUP reloads, one at a time, within a timeout;
//! * [`lifecycle`]: start-up, signals (graceful shutdown, SIGHUP reload) and logging.

pub mod body;
pub mod config;
pub mod conformance;
pub mod error;
pub mod examples;
pub mod headers;
pub mod huge_length;
pub mod hyper_errors;
pub mod json;
pub mod lifecycle;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub mod one_row;
pub mod openapi;
pub mod ops;
pub mod predict;
pub mod reload;
pub mod routes;
pub mod rows;
pub mod self_wake;
pub mod state;
pub mod ui;
pub mod v2;
pub mod v2_binary;
pub mod v2_types;

pub use config::{Limits, LogFormat, MAX_WORKERS, ServeArgs};
pub use headers::{MODEL_DIGEST, REQUEST_ID};
pub use routes::{app, app_with};
pub use state::{AppState, Loaded};

/// Runs the server until shutdown; an error (e.g. a missing model) means exit non-zero.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    lifecycle::run(args)
}
