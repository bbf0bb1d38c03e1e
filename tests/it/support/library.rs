//! Every call the tests make into the `mlops` library. Everything else drives the built
//! binary or speaks HTTP, so a change of the library's API is fixed in this file alone;
//! the tests see plain values and the small wrappers below.

use std::path::Path;
use std::time::Duration;

use mlops::server::{AppState, openapi};

/// The id (`sha256:<hex>`) of the model file at `path`, as the library computes it.
pub fn model_id(path: &Path) -> String {
    mlops::model::Model::load(path).unwrap().id
}

/// The largest model file the library reads, in bytes.
pub fn max_model_bytes() -> u64 {
    mlops::model::MAX_MODEL_BYTES
}

/// The class name the model at `path` predicts for each row.
pub fn predict<R: AsRef<[f64]>>(path: &Path, rows: &[R]) -> Vec<String> {
    let model = mlops::model::Model::load(path).unwrap();
    rows.iter()
        .map(|row| model.predict_one(row.as_ref()).to_owned())
        .collect()
}

/// A CSV as the library's loader read it, in plain values.
#[derive(Debug)]
pub struct Table {
    /// Rows, as the loader counts them.
    pub rows: usize,
    /// Features per row, as the loader counts them.
    pub width: usize,
    /// Distinct class names.
    pub classes: Vec<String>,
    /// The feature values, row after row.
    pub features: Vec<f64>,
    /// One class index per row.
    pub labels: Vec<u32>,
    /// Each row's features, as the loader slices them.
    by_row: Vec<Vec<f64>>,
}

impl Table {
    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.by_row[i]
    }
}

/// Loads CSV bytes with the library's validation (`label` picks the label column);
/// the error is the message a user sees.
pub fn parse_csv(bytes: &[u8], label: Option<&str>) -> Result<Table, String> {
    let d = mlops::dataset::Dataset::parse(Path::new("p.csv"), bytes, label)
        .map_err(|e| e.to_string())?;
    Ok(Table {
        rows: d.rows(),
        width: d.width(),
        by_row: (0..d.rows()).map(|i| d.row(i).to_vec()).collect(),
        classes: d.classes,
        features: d.features,
        labels: d.labels,
    })
}

/// The server limits a test changes; the others keep the library's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: Option<usize>,
    /// Most rows in one batch.
    pub max_batch: Option<usize>,
    /// Time allowed to read and answer one request.
    pub request_timeout: Option<Duration>,
    /// Most requests handled at once.
    pub max_in_flight: Option<usize>,
}

impl Limits {
    fn to_library(self) -> mlops::server::Limits {
        let default = mlops::server::Limits::default();
        mlops::server::Limits {
            max_body_bytes: self.max_body_bytes.unwrap_or(default.max_body_bytes),
            max_batch: self.max_batch.unwrap_or(default.max_batch),
            request_timeout: self.request_timeout.unwrap_or(default.request_timeout),
            max_in_flight: self.max_in_flight.unwrap_or(default.max_in_flight),
            access_log_sample: default.access_log_sample,
        }
    }
}

/// The server's router on a model, with a handle on its state.
#[derive(Clone)]
pub struct App {
    state: AppState,
    router: axum::Router,
}

impl App {
    /// The router, for requests.
    pub fn router(&self) -> &axum::Router {
        &self.router
    }

    /// Begins shutdown, as the first SIGTERM does: readiness turns off for good.
    pub fn begin_draining(&self) {
        self.state.begin_draining();
    }

    /// Takes `n` of the `--max-in-flight` permits, as `n` requests being handled do,
    /// until the guard is dropped.
    pub fn occupy(&self, n: u32) -> impl Drop + '_ {
        self.state.in_flight().try_acquire_many(n).unwrap()
    }

    /// The metrics, in the text `/metrics` serves.
    pub fn metrics_text(&self) -> String {
        self.state.metrics().encode()
    }

    /// Lets reloads change the feature names, as `--allow-feature-change` does.
    pub fn allow_feature_change(&self) {
        self.state.allow_feature_change(true);
    }

    /// Reloads the model file, as SIGHUP does: the old and the new model ids, or why
    /// the file was refused.
    pub fn reload(&self) -> Result<(String, String), String> {
        self.state
            .reload()
            .map(|r| (r.old, r.new))
            .map_err(|e| e.to_string())
    }
}

/// A server on the model file at `model`, with `limits`.
pub fn app_with(model: &Path, limits: Limits) -> App {
    let state = AppState::load(model, limits.to_library()).unwrap();
    App {
        router: mlops::server::app(state.clone()),
        state,
    }
}

/// A server on the model file at `model` without the pages for people (`--no-ui`).
pub fn app_without_pages(model: &Path) -> App {
    let state = AppState::load(model, Limits::default().to_library()).unwrap();
    App {
        router: mlops::server::app_with(state.clone(), false),
        state,
    }
}

/// The server's route table, as (method, path) pairs.
pub fn route_table() -> Vec<(String, String)> {
    openapi::api()
        .routes
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect()
}
