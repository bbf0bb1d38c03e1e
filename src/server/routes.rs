//! The whole application: the documented routes of [`super::openapi`], the answers for
//! unknown paths and methods, the body size limit and the observing middleware.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;

use super::middleware::{Observe, observe};
use super::openapi;
use super::ops::{method_not_allowed, not_found};
use super::state::AppState;

/// The application, ready to serve.
pub fn app(state: AppState) -> Router {
    let api = openapi::api();
    let labels = api.routes.iter().map(|r| (r.path.as_str(), r.limited));
    let observe_state = Observe::new(state.clone(), labels);
    api.router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(observe_state, observe))
        .layer(DefaultBodyLimit::max(state.limits().max_body_bytes))
        .with_state(state)
}
