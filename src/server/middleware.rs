//! The one middleware every request goes through, in one pass rather than a stack of
//! layers (the single-row prediction is the hot path, and each layer costs a boxed future
//! and a header-map walk):
//!
//! * **request id**: echoes a sane incoming `x-request-id`, or assigns one (and puts it
//!   on the request, so handlers such as v2 `infer` can report it);
//! * **protocol checks**: the rules of RFC 9110/9112 that hyper leaves to the application
//!   ([`super::conformance`]: `Host`, transfer codings, `Expect`);
//! * **bounded concurrency**: the body of a limited request is received first, bounded in
//!   size and time ([`super::body`]), so a slow upload holds no permit; then, beyond
//!   `--max-in-flight` requests at once, answers 503 with `Retry-After` at once instead of
//!   queueing without limit (probes and `/metrics` are exempt, so a saturated server
//!   still tells the truth about itself);
//! * **timeouts**: receiving the body and answering each get `--request-timeout-ms`;
//!   beyond either, 408. On the v2 routes these errors take the Open Inference
//!   Protocol's error shape, as the handlers' own errors do;
//! * **headers**: `x-request-id`, and `x-model-digest` naming the serving model (handlers
//!   that predict set it themselves from the snapshot they predicted with);
//! * **metrics and the access log**: the request counter and latency histogram by route
//!   template for every request, and an access log line (method, path, status, latency)
//!   for one request in `--access-log-sample`, so that the log grows with a bounded
//!   share of the traffic; a request abandoned by its client is recorded with status 499.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::body;
use super::conformance;
use super::error::{ApiError, V2Error};
use super::headers::{MODEL_DIGEST, REQUEST_ID};
use super::state::AppState;

/// The route label used in logs and metrics for requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// What the middleware needs: the state, the route labels and the access-log sampler.
#[derive(Clone)]
pub struct Observe {
    state: AppState,
    routes: Arc<[Label]>,
    unmatched: Label,
    sampled: Arc<AccessSample>,
}

/// A route template as metrics and logs name it, and whether it counts against
/// `--max-in-flight`.
#[derive(Clone)]
struct Label {
    route: Arc<str>,
    limited: bool,
}

impl Observe {
    /// `routes` lists each route template with whether it is concurrency-limited.
    pub fn new<'a>(state: AppState, routes: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        let routes = routes
            .into_iter()
            .map(|(route, limited)| Label {
                route: route.into(),
                limited,
            })
            .collect();
        Observe {
            routes,
            unmatched: Label {
                route: UNMATCHED.into(),
                limited: true,
            },
            sampled: Arc::new(AccessSample {
                every: state.limits().access_log_sample,
                seen: AtomicU64::new(0),
            }),
            state,
        }
    }

    /// Whether the next request gets an access log line.
    fn sample(&self) -> bool {
        self.sampled.next()
    }

    /// The label of a matched route template (every unmatched request shares one, so a
    /// scanner cannot blow up the number of series).
    fn route(&self, matched: Option<&MatchedPath>) -> &Label {
        matched
            .and_then(|m| self.routes.iter().find(|l| *l.route == *m.as_str()))
            .unwrap_or(&self.unmatched)
    }
}

/// Which requests get an access log line: one in `every` (`--access-log-sample`),
/// counted across the process: the first, the `every + 1`-th, and so on; none for 0.
struct AccessSample {
    every: u64,
    seen: AtomicU64,
}

impl AccessSample {
    fn next(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        self.every != 0 && n % self.every == 0
    }
}

/// The process's request ids: the middleware's and those of the answers hyper makes
/// itself ([`super::hyper_errors`]) come from one counter, so no two answers share one.
static REQUEST_IDS: LazyLock<RequestIds> = LazyLock::new(RequestIds::new);

/// A new request id, `<8 hex digits>-<counter in hex>`.
pub fn assign_request_id() -> HeaderValue {
    REQUEST_IDS.assign()
}

/// Assigns request ids unique across restarts: a per-process prefix and a counter.
struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32);
        RequestIds {
            prefix: nanos ^ std::process::id().rotate_left(16),
            next: AtomicU64::new(1),
        }
    }

    fn assign(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n:x}", self.prefix))
            .expect("hex digits are a valid header value")
    }
}

/// An incoming id is echoed if it is short and printable; anything else is replaced.
fn acceptable_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// The status logged and counted for a request whose client went away before the answer
/// (nginx's convention; it is never sent).
pub const CLIENT_CLOSED: u16 = 499;

/// One request's bookkeeping: in the in-flight gauge while it lives, and recorded (metrics
/// and one access log line) exactly once, when answered or, if hyper drops the request
/// midway because its client went away, when dropped.
struct Access<'a> {
    state: &'a AppState,
    route: &'a Arc<str>,
    method: Method,
    uri: Uri,
    request_id: HeaderValue,
    start: Instant,
    recorded: bool,
    logged: bool,
}

impl<'a> Access<'a> {
    fn begin(
        state: &'a AppState,
        route: &'a Arc<str>,
        req: &Request,
        request_id: HeaderValue,
        logged: bool,
    ) -> Self {
        state.metrics().in_flight().inc();
        Access {
            state,
            route,
            method: req.method().clone(),
            uri: req.uri().clone(),
            request_id,
            start: Instant::now(),
            recorded: false,
            logged,
        }
    }

    fn record(&mut self, status: u16) {
        self.recorded = true;
        let elapsed = self.start.elapsed();
        self.state
            .metrics()
            .observe_request(self.route, status, elapsed.as_secs_f64());
        if !self.logged {
            return;
        }
        tracing::info!(
            target: "mlops::access",
            method = %self.method,
            path = self.uri.path(),
            status,
            latency_us = elapsed.as_micros() as u64,
            request_id = self.request_id.to_str().unwrap_or(""),
            "request"
        );
    }
}

impl Drop for Access<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            self.record(CLIENT_CLOSED);
        }
        self.state.metrics().in_flight().dec();
    }
}

/// The middleware function (see the module documentation).
pub async fn observe(State(obs): State<Observe>, mut req: Request, next: Next) -> Response {
    let label = obs.route(req.extensions().get::<MatchedPath>());
    let request_id = match req.headers().get(REQUEST_ID) {
        Some(v) if acceptable_id(v) => v.clone(),
        _ => {
            let id = assign_request_id();
            req.headers_mut().insert(REQUEST_ID, id.clone());
            id
        }
    };
    let state = &obs.state;
    let logged = obs.sample();
    let mut access = Access::begin(state, &label.route, &req, request_id.clone(), logged);
    let shape = Shape::of(&label.route);
    let mut response = match conformance::check(&req) {
        Err(e) => {
            let mut r = shape.render(e);
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
        Ok(()) if label.limited => limited(state, shape, req, next).await,
        Ok(()) => timed(state, shape, next.run(req)).await,
    };

    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, request_id);
    if !headers.contains_key(MODEL_DIGEST) {
        headers.insert(MODEL_DIGEST, state.current().digest.clone());
    }
    access.record(response.status().as_u16());
    response
}

/// A concurrency-limited request: its body is received first (bounded in size and
/// time, see [`super::body`]), and only then does it take a permit, so a slow upload
/// never holds one.
async fn limited(state: &AppState, shape: Shape, req: Request, next: Next) -> Response {
    let limits = state.limits();
    let req = match body::receive(req, limits.max_body_bytes, limits.request_timeout).await {
        Ok(req) => req,
        Err(e) => return shape.render(e),
    };
    let Ok(_permit) = state.in_flight().try_acquire() else {
        let mut r = shape.render(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!(
                "more than {} requests in flight; retry shortly",
                limits.max_in_flight
            ),
        ));
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    timed(state, shape, next.run(req)).await
}

/// Runs the handler within `--request-timeout-ms` (408 beyond).
async fn timed(
    state: &AppState,
    shape: Shape,
    handler: impl Future<Output = Response>,
) -> Response {
    let timeout = state.limits().request_timeout;
    match tokio::time::timeout(timeout, handler).await {
        Ok(r) => r,
        Err(_) => shape.render(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request was not answered within {} ms (--request-timeout-ms)",
                timeout.as_millis()
            ),
        )),
    }
}

/// The error shape of a route's answers from this layer: the API's envelope, or on the
/// v2 routes the Open Inference Protocol's `{"error": ...}`.
#[derive(Clone, Copy)]
enum Shape {
    Api,
    V2,
}

impl Shape {
    fn of(route: &str) -> Shape {
        if route == "/v2" || route.starts_with("/v2/") {
            Shape::V2
        } else {
            Shape::Api
        }
    }

    fn render(self, e: ApiError) -> Response {
        match self {
            Shape::Api => e.into_response(),
            Shape::V2 => V2Error(e).into_response(),
        }
    }
}
