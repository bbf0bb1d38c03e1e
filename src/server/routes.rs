//! The whole application: the documented routes of [`super::openapi`], the answers for
//! pages for people ([`super::ui`], unless `--no-ui`), the answers for unknown paths and
//! methods, the body size limit and the observing middleware.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;

use super::middleware::{Observe, observe};
use super::openapi;
use super::ops::{method_not_allowed, not_found};
use super::state::AppState;
use super::ui;

/// The application, ready to serve, pages for people included.
pub fn app(state: AppState) -> Router {
    app_with(state, true)
}

/// The application; `pages` adds the model card and the API documentation.
pub fn app_with(state: AppState, pages: bool) -> Router {
    let api = openapi::api();
    let page_paths: &[&str] = if pages { &ui::PATHS } else { &[] };
    let labels = api.routes.iter().map(|r| (r.path.as_str(), r.limited));
    let labels = labels.chain(page_paths.iter().map(|p| (*p, true)));
    let observe_state = Observe::new(state.clone(), labels);
    let router = if pages {
        api.router.merge(ui::router())
    } else {
        api.router
    };
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(observe_state, observe))
        .layer(DefaultBodyLimit::max(state.limits().max_body_bytes))
        .with_state(state)
}
