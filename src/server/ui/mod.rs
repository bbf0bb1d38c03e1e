//! The pages for people: the model card at `GET /` and the API documentation at
//! `GET /docs` (Swagger UI). `--no-ui` leaves them out of the router.
//!
//! Both come from memory. The card is rendered by [`crate::card`] once per loaded model,
//! from the same model and `metrics.json` that `/model` shows, and re-rendered after a
//! reload; Swagger UI's assets are compiled in. Every page carries an `ETag` (the card's
//! starts with the model's digest) and answers a matching `If-None-Match` with 304,
//! `Cache-Control: no-cache` (revalidate each time, so a reload shows at once), a
//! Content-Security-Policy, `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: no-referrer`.

mod page;
mod swagger;

use std::sync::{Arc, OnceLock, Weak};

use arc_swap::ArcSwapOption;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use super::state::{AppState, Loaded};
use crate::card::{CardInput, Mode, render, served_policy};
use crate::metrics::MetricsReport;
use page::{Asset, Encoding};

/// The paths this module serves, for the access log's and the metrics' route labels.
pub const PATHS: [&str; 5] = [
    "/",
    "/docs",
    "/docs/swagger-ui.css",
    "/docs/swagger-ui-bundle.js",
    "/docs/swagger-initializer.js",
];

/// The card of one loaded model.
struct Card {
    /// The model it shows (weak: the card does not keep an old model alive, and a new
    /// load is a new allocation, so a stale card is never taken for a fresh one).
    model: Weak<Loaded>,
    asset: Asset,
}

/// The rendered card of the serving model, replaced when the model is.
#[derive(Clone, Default)]
struct Cards {
    current: Arc<ArcSwapOption<Card>>,
}

impl Cards {
    /// The card of `loaded`, rendered now if the one in memory shows another model.
    fn of(&self, loaded: &Arc<Loaded>) -> Asset {
        if let Some(card) = self.current.load().as_ref() {
            if Weak::ptr_eq(&card.model, &Arc::downgrade(loaded)) {
                return card.asset.clone();
            }
        }
        let asset = card_asset(loaded);
        self.current.store(Some(Arc::new(Card {
            model: Arc::downgrade(loaded),
            asset: asset.clone(),
        })));
        asset
    }
}

/// Renders the card of a loaded model. Its `metrics.json` is the one `/model` shows.
fn card_asset(loaded: &Loaded) -> Asset {
    let report = training_report(&loaded.model_json);
    let html = render(
        CardInput {
            model: &loaded.model,
            report: report.as_ref(),
        },
        Mode::Served,
    );
    let hex = loaded.model.id.trim_start_matches("sha256:");
    Asset::new(
        "text/html; charset=utf-8",
        served_policy(),
        Bytes::from(html),
        Encoding::Identity,
        &hex[..hex.len().min(16)],
    )
}

/// The training report inside a `/model` document, when it has one.
fn training_report(model_json: &[u8]) -> Option<MetricsReport> {
    #[derive(serde::Deserialize)]
    struct Doc {
        metrics: Option<MetricsReport>,
    }
    serde_json::from_slice::<Doc>(model_json).ok()?.metrics
}

/// The routes of the pages.
pub fn router() -> Router<AppState> {
    let cards = Cards::default();
    Router::new()
        .route(
            "/",
            get(move |State(state): State<AppState>, headers: HeaderMap| {
                let cards = cards.clone();
                async move { cards.of(&state.current()).answer(&headers) }
            }),
        )
        .route("/docs", get(docs_page))
        .route("/docs/swagger-ui.css", get(docs_css))
        .route("/docs/swagger-ui-bundle.js", get(docs_bundle))
        .route("/docs/swagger-initializer.js", get(docs_initializer))
}

/// `GET /docs`.
async fn docs_page(headers: HeaderMap) -> Response {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    let asset = ASSET.get_or_init(|| {
        let body = Bytes::from_static(swagger::PAGE.as_bytes());
        Asset::hashed(
            "text/html; charset=utf-8",
            swagger::POLICY,
            body,
            Encoding::Identity,
        )
    });
    asset.answer(&headers)
}

/// `GET /docs/swagger-initializer.js`.
async fn docs_initializer(headers: HeaderMap) -> Response {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    let asset = ASSET.get_or_init(|| {
        let body = Bytes::from_static(swagger::INITIALIZER.as_bytes());
        Asset::hashed(
            "text/javascript; charset=utf-8",
            swagger::POLICY,
            body,
            Encoding::Identity,
        )
    });
    asset.answer(&headers)
}

/// `GET /docs/swagger-ui-bundle.js`.
async fn docs_bundle(headers: HeaderMap) -> Response {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    static INFLATED: OnceLock<Bytes> = OnceLock::new();
    let asset = ASSET.get_or_init(|| {
        let gz = Bytes::from_static(swagger::BUNDLE_GZ);
        let inflate = || swagger::inflated(swagger::BUNDLE_GZ, &INFLATED);
        Asset::hashed(
            "text/javascript; charset=utf-8",
            swagger::POLICY,
            gz,
            Encoding::Gzip(inflate),
        )
    });
    asset.answer(&headers)
}

/// `GET /docs/swagger-ui.css`.
async fn docs_css(headers: HeaderMap) -> Response {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    static INFLATED: OnceLock<Bytes> = OnceLock::new();
    let asset = ASSET.get_or_init(|| {
        let gz = Bytes::from_static(swagger::CSS_GZ);
        let inflate = || swagger::inflated(swagger::CSS_GZ, &INFLATED);
        Asset::hashed(
            "text/css; charset=utf-8",
            swagger::POLICY,
            gz,
            Encoding::Gzip(inflate),
        )
    });
    asset.answer(&headers)
}
