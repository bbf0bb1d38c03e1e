//! The one middleware every request goes through, in one pass rather than a stack of
//! layers (the single-row prediction is the hot path, and each layer costs a boxed future
//! and a header-map walk):
//!
//! * **request id**: echoes a sane incoming `x-request-id`, or assigns one (and puts it
//!   on the request, so handlers such as v2 `infer` can report it);
//! * **bounded concurrency**: beyond `--max-in-flight` requests at once, answers 503 with
//!   `Retry-After` at once instead of queueing without limit (probes and `/metrics` are
//!   exempt, so a saturated server still tells the truth about itself);
//! * **timeout**: a request not answered within `--request-timeout-ms`, including the
//!   time to receive its body, gets 408 (on the v2 routes, these 408s and 503s take the
//!   Open Inference Protocol's error shape, as the handlers' own errors do);
//! * **headers**: `x-request-id`, and `x-model-digest` naming the serving model (handlers
//!   that predict set it themselves from the snapshot they predicted with);
//! * **metrics and the access log**: one log line per request with method, path, status
//!   and latency, and the request counter and latency histogram by route template; a
//!   request abandoned by its client is recorded with status 499.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, V2Error};
use super::headers::{MODEL_DIGEST, REQUEST_ID};
use super::state::AppState;

/// The route label used in logs and metrics for requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// What the middleware needs: the state, the route labels and the request-id source.
#[derive(Clone)]
pub struct Observe {
    state: AppState,
    routes: Arc<[Label]>,
    unmatched: Label,
    ids: Arc<RequestIds>,
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
            state,
            routes,
            unmatched: Label {
                route: UNMATCHED.into(),
                limited: true,
            },
            ids: Arc::new(RequestIds::new()),
        }
    }

    /// The label of a matched route template (every unmatched request shares one, so a
    /// scanner cannot blow up the number of series).
    fn route(&self, matched: Option<&MatchedPath>) -> &Label {
        matched
            .and_then(|m| self.routes.iter().find(|l| *l.route == *m.as_str()))
            .unwrap_or(&self.unmatched)
    }
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
}

impl<'a> Access<'a> {
    fn begin(
        state: &'a AppState,
        route: &'a Arc<str>,
        req: &Request,
        request_id: HeaderValue,
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
        }
    }

    fn record(&mut self, status: u16) {
        self.recorded = true;
        let elapsed = self.start.elapsed();
        self.state
            .metrics()
            .observe_request(self.route, status, elapsed.as_secs_f64());
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
            let id = obs.ids.assign();
            req.headers_mut().insert(REQUEST_ID, id.clone());
            id
        }
    };
    let state = &obs.state;
    let mut access = Access::begin(state, &label.route, &req, request_id.clone());

    let permit = if label.limited {
        state.in_flight().try_acquire().map(Some)
    } else {
        Ok(None)
    };
    let v2 = label.route.starts_with("/v2/") || *label.route == *"/v2";
    let render = |e: ApiError| {
        if v2 {
            V2Error(e).into_response()
        } else {
            e.into_response()
        }
    };
    let mut response = match permit {
        Err(_) => {
            let mut r = render(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                format!(
                    "more than {} requests in flight; retry shortly",
                    state.limits().max_in_flight
                ),
            ));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Ok(_permit) => {
            let timeout = state.limits().request_timeout;
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(r) => r,
                Err(_) => render(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "the request was not received and answered within {} ms",
                        timeout.as_millis()
                    ),
                )),
            }
        }
    };

    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, request_id);
    if !headers.contains_key(MODEL_DIGEST) {
        headers.insert(MODEL_DIGEST, state.current().digest.clone());
    }
    access.record(response.status().as_u16());
    response
}
