//! What the handlers share: the serving model, readiness, limits and metrics.
//!
//! The model sits in an [`ArcSwap`]: a request takes a snapshot with one atomic load and
//! keeps using that snapshot (model, digest, metadata) to the end, while a reload swaps in
//! a new [`Loaded`] for later requests. So a reload never blocks, never fails a request,
//! and the `x-model-digest` of a response always names the model that computed it.
//!
//! Everything a response needs about a model that does not depend on the request (the
//! `/model` document, the v2 metadata, the digest header, feature positions) is computed
//! once per load, off the hot path.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use axum::body::Bytes;
use axum::http::HeaderValue;
use prometheus_client::metrics::counter::Counter;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::config::Limits;
use super::metrics::Metrics;
use super::one_row::OneRowJson;
use super::rows::Features;
use super::v2_types::model_metadata_json;
use crate::model::{Model, ModelError};
use crate::text::name_list;

/// A verified model and everything precomputed from it.
#[derive(Debug)]
pub struct Loaded {
    /// The model.
    pub model: Model,
    /// `model.id` as a header value, for `x-model-digest`.
    pub digest: HeaderValue,
    /// The `/model` response body.
    pub model_json: Bytes,
    /// The `/v2/models/{name}` response body.
    pub v2_metadata_json: Bytes,
    /// The pieces of a one-row `/predict` answer, serialized once.
    pub one_row: OneRowJson,
    /// The model's features, indexed by name for checking rows.
    features: Features,
    /// Prediction counters by class index.
    class_counters: Vec<Counter>,
}

/// The `/model` document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelInfo<'a> {
    /// The model's identity: `sha256:<hex>` of the model file.
    pub id: &'a str,
    /// The model's metadata and provenance, as recorded by `mlops train`;
    /// `metrics.test_accuracy` is `null` for a model that was not evaluated (trained
    /// with `--test-fraction 0`).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The trainer's `metrics.json` when it sits next to the model file and belongs to
    /// this model; `null` otherwise.
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<&'a serde_json::Value>,
    /// The model file this server loaded (bytes that are not UTF-8 are shown as U+FFFD).
    pub path: &'a str,
    /// When this server loaded it, in seconds since the Unix epoch.
    pub loaded_at: u64,
}

impl Loaded {
    /// Loads and verifies `path` (format, checksum, golden rows), and reads the
    /// `metrics.json` beside it.
    pub fn load(path: &Path, metrics: &Metrics) -> Result<Loaded, ModelError> {
        let model = Model::load(path)?;
        let training_metrics = read_training_metrics(path, &model.id);
        Ok(Loaded::new(model, path, training_metrics, metrics))
    }

    /// Wraps an already verified model.
    pub fn new(
        model: Model,
        path: &Path,
        training_metrics: Option<serde_json::Value>,
        metrics: &Metrics,
    ) -> Loaded {
        let loaded_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // JSON text is UTF-8 and a path need not be: serde refuses such a `Path`, so the
        // path goes in lossily. With the path a string, serialising cannot fail: every
        // other field is a string, a number or a JSON value.
        let model_json = serde_json::to_vec(&ModelInfo {
            id: &model.id,
            metadata: model.metadata().to_json(),
            metrics: training_metrics.as_ref(),
            path: &path.to_string_lossy(),
            loaded_at,
        })
        .expect("strings, numbers and JSON values serialize to JSON");
        let v2_metadata_json = model_metadata_json(&model);
        let features = Features::new(model.features(), model.accepts_missing());
        let class_counters = metrics.class_counters(model.classes());
        let one_row = OneRowJson::new(model.classes(), &model.id);
        Loaded {
            // `sha256:` and hex digits, computed here, never read from the file.
            digest: HeaderValue::from_str(&model.id).expect("a sha256 id is a valid header value"),
            model_json: model_json.into(),
            v2_metadata_json,
            one_row,
            features,
            class_counters,
            model,
        }
    }

    /// The model's features, for checking rows against.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The most probable class of each row of row-major probabilities (ties to the
    /// class that sorts first), counted by class: the batch path of `/predict` and v2.
    pub fn name_most_probable(&self, probabilities: &[f64]) -> Vec<&str> {
        let names = self.model.classes();
        let classes: Vec<u32> = probabilities
            .chunks_exact(names.len())
            .map(crate::forest::argmax)
            .collect();
        self.count_predictions(&classes);
        classes
            .iter()
            .map(|&c| names[c as usize].as_str())
            .collect()
    }

    /// Counts one prediction of class `class`.
    pub fn count_prediction(&self, class: u32) {
        if let Some(c) = self.class_counters.get(class as usize) {
            c.inc();
        }
    }

    /// Counts a batch of predictions.
    pub fn count_predictions(&self, classes: &[u32]) {
        let mut tally = vec![0u64; self.class_counters.len()];
        for &c in classes {
            if let Some(t) = tally.get_mut(c as usize) {
                *t += 1;
            }
        }
        for (counter, n) in self.class_counters.iter().zip(tally) {
            if n > 0 {
                counter.inc_by(n);
            }
        }
    }
}

/// The largest `metrics.json` read beside a model (its confusion matrix grows with the
/// square of the classes: 10,000 classes take about 500 MB, so such a model shows none).
const MAX_METRICS_BYTES: u64 = 64 << 20;

/// Reads `metrics.json` next to the model file, if it is there, is JSON and names this
/// model in its `model_sha256` (a stale file from another training run is left out, with
/// a warning).
fn read_training_metrics(model_path: &Path, model_id: &str) -> Option<serde_json::Value> {
    let path = model_path.with_file_name("metrics.json");
    if !path.exists() {
        return None;
    }
    // The same rules as the model file (a regular file, bounded), with a smaller bound.
    let bytes = match crate::model::read_regular(&path, MAX_METRICS_BYTES) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(
                "cannot read {}: {e}; /model will show no metrics",
                path.display()
            );
            return None;
        }
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value) if value["model_sha256"] == model_id => Some(value),
        Ok(_) => {
            tracing::warn!(
                "{} names another model in model_sha256 (it belongs to another training run); /model will show no metrics",
                path.display()
            );
            None
        }
        Err(e) => {
            tracing::warn!(
                "{} is not valid JSON ({e}); /model will show no metrics",
                path.display()
            );
            None
        }
    }
}

/// The state shared by all handlers; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    model_path: PathBuf,
    current: ArcSwap<Loaded>,
    draining: AtomicBool,
    limits: Limits,
    in_flight: Semaphore,
    metrics: Metrics,
    reload_lock: std::sync::Mutex<()>,
    /// Whether a reload may change the feature names (`--allow-feature-change`).
    allow_feature_change: AtomicBool,
}

/// What a successful reload replaced.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// The id of the model served before.
    pub old: String,
    /// The id of the model served now.
    pub new: String,
    /// The old and the new feature names, when they differ (and that was allowed).
    pub features_changed: Option<(Vec<String>, Vec<String>)>,
}

/// Why a reload left the previous model serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file cannot be used.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The new model takes other features: clients' rows would fail with 422.
    #[error(
        "the new model's features differ from the served model's (served: {}; new: {}); restart or reload with --allow-feature-change (MLOPS_ALLOW_FEATURE_CHANGE=true) to change them deliberately",
        name_list(.old), name_list(.new)
    )]
    FeaturesChanged {
        /// The served model's features.
        old: Vec<String>,
        /// The new model's features.
        new: Vec<String>,
    },
    /// Reading and checking the file took longer than the reload timeout.
    #[error(
        "reading and checking the model file took longer than {} s; is it on a stalled file system? The next SIGHUP waits for this reload to end, then reloads",
        .0.as_secs_f64()
    )]
    TimedOut(std::time::Duration),
    /// The reload task failed.
    #[error("the reload task failed: {0}")]
    Task(String),
}

impl AppState {
    /// Loads and verifies the model at `model_path` and builds the state around it.
    pub fn load(model_path: impl Into<PathBuf>, limits: Limits) -> Result<AppState, ModelError> {
        let model_path = model_path.into();
        let metrics = Metrics::new();
        let loaded = Loaded::load(&model_path, &metrics)?;
        metrics.set_model(&loaded.model.id, &loaded.model.metadata().name);
        Ok(AppState {
            inner: Arc::new(Inner {
                model_path,
                current: ArcSwap::from_pointee(loaded),
                draining: AtomicBool::new(false),
                in_flight: Semaphore::new(limits.max_in_flight),
                limits,
                metrics,
                reload_lock: std::sync::Mutex::new(()),
                allow_feature_change: AtomicBool::new(false),
            }),
        })
    }

    /// A snapshot of the serving model. The guard is cheap (no reference-count traffic
    /// in the common case) but meant to be short-lived: drop it before awaiting.
    pub fn current(&self) -> arc_swap::Guard<Arc<Loaded>> {
        self.inner.current.load()
    }

    /// Lets reloads change the feature names (`--allow-feature-change`); by default a
    /// reload onto other features is refused.
    pub fn allow_feature_change(&self, allow: bool) {
        self.inner
            .allow_feature_change
            .store(allow, Ordering::Relaxed);
    }

    /// Loads and verifies the model file again and swaps it in. On failure the current
    /// model keeps serving. Blocking (file I/O and the golden replay): run it off the
    /// async workers. Concurrent reloads are serialized.
    pub fn reload(&self) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self
            .inner
            .reload_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.finish_reload(self.load_candidate().map_err(ReloadError::from))
    }

    /// Loads and verifies the model file, without serving it: the blocking half of a
    /// reload, which [`AppState::finish_reload`] completes.
    pub fn load_candidate(&self) -> Result<Loaded, ModelError> {
        Loaded::load(&self.inner.model_path, &self.inner.metrics)
    }

    /// Swaps in a loaded model unless its features differ (and that is not allowed),
    /// and counts the reload's outcome.
    pub fn finish_reload(
        &self,
        candidate: Result<Loaded, ReloadError>,
    ) -> Result<Reloaded, ReloadError> {
        let result = candidate.and_then(|loaded| self.swap_in(loaded));
        self.inner.metrics.count_reload(result.is_ok());
        result
    }

    fn swap_in(&self, loaded: Loaded) -> Result<Reloaded, ReloadError> {
        let old_features = self.current().model.features().to_vec();
        let new_features = loaded.model.features();
        let features_changed =
            (old_features != new_features).then(|| (old_features, new_features.to_vec()));
        let allowed = self.inner.allow_feature_change.load(Ordering::Relaxed);
        if let (Some((old, new)), false) = (&features_changed, allowed) {
            return Err(ReloadError::FeaturesChanged {
                old: old.clone(),
                new: new.clone(),
            });
        }
        let new = loaded.model.id.clone();
        self.inner
            .metrics
            .set_model(&loaded.model.id, &loaded.model.metadata().name);
        let old = self.inner.current.swap(Arc::new(loaded));
        Ok(Reloaded {
            old: old.model.id.clone(),
            new,
            features_changed,
        })
    }

    /// The model file path.
    pub fn model_path(&self) -> &Path {
        &self.inner.model_path
    }

    /// Turns readiness off for good: shutdown has begun.
    pub fn begin_draining(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }

    /// True once shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    /// The configured limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The in-flight request permits.
    pub fn in_flight(&self) -> &Semaphore {
        &self.inner.in_flight
    }
}
