//! Training: the pipeline from a loaded data set to a model file and its report.
//!
//! [`train`] runs the steps in order: the held-out [`split`], the learner's [`fit`],
//! evaluation on both sides, and the model body with its provenance. Each learner has
//! one file here ([`smartcore`]); [`fit`] is the only place that chooses between them.
//!
//! Determinism is the point: the split and every learner are seeded from the recorded
//! seed with generators whose output is fixed by their specification, and everything
//! recorded in the model is a pure function of the data, the parameters and the mlops
//! build. Two runs, in one process or two, give byte-identical model files.

pub mod cart;
mod error;
pub mod smartcore;
pub mod split;

pub use error::TrainError;

use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::dataset::Dataset;
use crate::forest::{Forest, MAX_CLASSES, MAX_NODES, argmax};
use crate::metrics::{self, Evaluation, MetricsReport};
use crate::model::{
    DatasetInfo, GoldenRow, HeldOutInfo, MAX_MODEL_BYTES, MetricsSummary, Model, ModelBody,
    ModelMetadata,
};
use crate::params::{Learner, ValidParams};

/// How many held-out rows are stored in the model to be replayed after loading.
pub const GOLDEN_ROWS: usize = 8;

/// A trained model: the file's bytes, its decoded form, and the evaluation report.
#[derive(Debug)]
pub struct Trained {
    /// The bytes of `model.cbor`.
    pub model_bytes: Vec<u8>,
    /// The same model, ready to predict.
    pub model: Model,
    /// The content of `metrics.json`.
    pub report: MetricsReport,
}

/// Row-major feature values and class labels of a set of rows.
struct Rows {
    x: Vec<f64>,
    y: Vec<u32>,
}

impl Rows {
    fn gather(data: &Dataset, rows: &[usize]) -> Rows {
        Rows {
            x: rows
                .iter()
                .flat_map(|&r| data.row(r).iter().copied())
                .collect(),
            y: rows.iter().map(|&r| data.labels[r]).collect(),
        }
    }
}

/// What a learner returns: the forest, and what it measured while growing it.
pub struct Fitted {
    /// The forest.
    pub forest: Forest,
    /// The learner's algorithm version, recorded in the model.
    pub version: u32,
    /// Feature importances, when the learner measures them.
    pub importances: Option<Vec<f64>>,
    /// Out-of-bag accuracy, when the learner measures it.
    pub oob_accuracy: Option<f64>,
}

/// Fits a forest on row-major `x` (`width` columns) and labels `y` below `n_classes`,
/// with the learner the parameters name: the one place that chooses a learner.
/// `progress(trees_done)` is called as trees finish.
pub fn fit(
    x: &[f64],
    y: &[u32],
    width: usize,
    n_classes: usize,
    params: &ValidParams,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Fitted, TrainError> {
    match params.learner {
        Learner::Cart => {
            let columns = column_major(x, width);
            let data = cart::Columns::new(&columns, y.len(), width, y, n_classes);
            let fitted = cart::fit(&data, &cart_params(params), progress);
            Ok(Fitted {
                forest: fitted.forest,
                version: cart::ALGORITHM_VERSION,
                importances: Some(fitted.importances),
                oob_accuracy: fitted.oob_accuracy,
            })
        }
        Learner::Smartcore => Ok(Fitted {
            forest: smartcore::fit(x, y, width, n_classes, params)?,
            version: smartcore::ALGORITHM_VERSION,
            importances: None,
            oob_accuracy: None,
        }),
    }
}

fn cart_params(params: &ValidParams) -> cart::CartParams {
    cart::CartParams {
        trees: usize::from(params.trees),
        max_depth: params.max_depth.map(usize::from),
        min_samples_leaf: params.min_samples_leaf,
        features_per_split: params.features_per_split(),
        seed: params.seed,
        threads: params.threads(),
    }
}

/// The same values, one feature after another.
fn column_major(x: &[f64], width: usize) -> Vec<f64> {
    let rows = x.len() / width;
    let mut columns = vec![0.0; x.len()];
    for (r, row) in x.chunks_exact(width).enumerate() {
        for (f, &v) in row.iter().enumerate() {
            columns[f * rows + r] = v;
        }
    }
    columns
}

/// What a model is trained and evaluated on: a data file, and optionally a separate
/// held-out file (then every row of `data` trains, and `test` evaluates).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The training file.
    pub data: &'a Dataset,
    /// A held-out file whose features and classes are aligned to `data`'s
    /// ([`Dataset::aligned_to`]); without it, `params.test_fraction` of `data` is held out.
    pub test: Option<&'a Dataset>,
}

impl<'a> Source<'a> {
    /// `data` alone: the held-out rows are a stratified split of it.
    pub fn split(data: &'a Dataset) -> Source<'a> {
        Source { data, test: None }
    }
}

/// Trains, evaluates and packages a model. `name` is the model's name; `source_revision`
/// the mlops build's source revision, when known; `progress(trees_done)` is called as
/// trees finish.
pub fn train(
    source: Source,
    params: &ValidParams,
    name: &str,
    source_revision: Option<&str>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Trained, TrainError> {
    let started = Instant::now();
    let data = source.data;
    check_missing(data, params)?;
    if let Some(test) = source.test {
        check_missing(test, params)?;
    }
    check_classes(data)?;
    let (train_rows, test_rows) = held_out(source, params)?;
    let width = data.width();
    let n_classes = data.classes.len();
    let fitted = fit(
        &train_rows.x,
        &train_rows.y,
        width,
        n_classes,
        params,
        progress,
    )?;
    // The checks every reader makes, the size limits among them: a model that could
    // not be loaded is refused here, not at the first `serve`.
    let nodes = fitted.forest.n_nodes();
    if nodes > MAX_NODES {
        return Err(too_large("nodes", nodes as u64, MAX_NODES as u64));
    }
    fitted.forest.validate()?;
    let train_proba = parallel_proba(&fitted.forest, &train_rows.x, params.threads());
    let train_pred: Vec<u32> = train_proba.chunks_exact(n_classes).map(argmax).collect();
    let test_proba = parallel_proba(&fitted.forest, &test_rows.x, params.threads());
    let eval = metrics::evaluate(&data.classes, &test_rows.y, &test_proba);
    let summary = MetricsSummary {
        train_accuracy: metrics::accuracy(&train_rows.y, &train_pred),
        test_accuracy: eval.accuracy,
        oob_accuracy: fitted.oob_accuracy,
    };
    let golden = golden_rows(&train_rows, &train_pred, &test_rows, &eval.predicted, width);
    let outcome = Outcome {
        train_rows: train_rows.y.len() as u64,
        test_rows: test_rows.y.len() as u64,
        metrics: summary,
        learner_version: fitted.version,
        importances: fitted.importances,
    };
    let body = ModelBody {
        metadata: metadata(source, params, name, source_revision, outcome),
        golden,
        forest: fitted.forest,
    };
    let (model_bytes, model) = Model::from_body(body);
    if model_bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(too_large(
            "bytes",
            model_bytes.len() as u64,
            MAX_MODEL_BYTES,
        ));
    }
    let report = report(&model, data, eval, started.elapsed());
    Ok(Trained {
        model_bytes,
        model,
        report,
    })
}

/// The rows a loaded model replays to check itself: the first held-out rows, or, when
/// nothing is held out (test fraction 0), the first training rows, so such a model is
/// checked on load too.
fn golden_rows(
    train: &Rows,
    train_pred: &[u32],
    test: &Rows,
    test_pred: &[u32],
    width: usize,
) -> Vec<GoldenRow> {
    let (rows, predicted) = if test.y.is_empty() {
        (train, train_pred)
    } else {
        (test, test_pred)
    };
    rows.x
        .chunks_exact(width)
        .zip(predicted)
        .take(GOLDEN_ROWS)
        .map(|(row, &p)| GoldenRow {
            features: row.to_vec(),
            prediction: p,
        })
        .collect()
}

/// The content of `metrics.json`.
fn report(model: &Model, data: &Dataset, eval: Evaluation, took: Duration) -> MetricsReport {
    let meta = model.metadata();
    let evaluated = meta.dataset.test_rows > 0;
    MetricsReport {
        model_name: meta.name.clone(),
        model_sha256: model.id.clone(),
        dataset_sha256: data.sha256.clone(),
        train_accuracy: meta.metrics.train_accuracy,
        test_accuracy: meta.test_accuracy(),
        test_log_loss: evaluated.then_some(eval.log_loss),
        oob_accuracy: meta.metrics.oob_accuracy,
        feature_importances: meta
            .importances
            .as_deref()
            .map(|i| metrics::ranked_importances(&meta.features, i)),
        rows: data.rows() as u64,
        train_rows: meta.dataset.train_rows,
        test_rows: meta.dataset.test_rows,
        per_class: eval.per_class,
        confusion_matrix: eval.confusion_matrix,
        params: meta.params.clone(),
        training_time_ms: took.as_secs_f64() * 1000.0,
    }
}

/// The probabilities of many rows, on `threads` threads: the same values as
/// [`Forest::predict_proba_batch`], which each chunk of rows runs.
fn parallel_proba(forest: &Forest, x: &[f64], threads: usize) -> Vec<f64> {
    const CHUNK_ROWS: usize = 8192;
    let width = forest.n_features().max(1);
    let work = || -> Vec<f64> {
        x.par_chunks(CHUNK_ROWS * width)
            .flat_map_iter(|rows| forest.predict_proba_batch(rows))
            .collect()
    };
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// Refuses a label with more classes than a model may have, before any training.
fn check_classes(data: &Dataset) -> Result<(), TrainError> {
    if data.classes.len() <= MAX_CLASSES {
        return Ok(());
    }
    Err(TrainError::TooManyClasses {
        path: data.source.display().to_string(),
        label: data.label_name.clone(),
        count: data.classes.len(),
        limit: MAX_CLASSES,
    })
}

fn too_large(what: &'static str, count: u64, limit: u64) -> TrainError {
    TrainError::TooLarge { what, count, limit }
}

/// Refuses missing values for a learner that cannot take them, naming the first.
fn check_missing(data: &Dataset, params: &ValidParams) -> Result<(), TrainError> {
    match (&data.first_missing, params.learner) {
        (Some(at), Learner::Smartcore) => Err(TrainError::MissingValues {
            path: data.source.display().to_string(),
            line: at.line,
            column: at.column,
            name: at.name.clone(),
            learner: params.learner.name(),
        }),
        _ => Ok(()),
    }
}

/// The training rows and the held-out rows.
fn held_out(source: Source, params: &ValidParams) -> Result<(Rows, Rows), TrainError> {
    let data = source.data;
    match source.test {
        Some(test) => {
            let all: Vec<usize> = (0..data.rows()).collect();
            let test_all: Vec<usize> = (0..test.rows()).collect();
            Ok((Rows::gather(data, &all), Rows::gather(test, &test_all)))
        }
        None => {
            let split = split::stratified(data, params.test_fraction, params.seed)?;
            Ok((
                Rows::gather(data, &split.train),
                Rows::gather(data, &split.test),
            ))
        }
    }
}

/// What fitting and evaluating produced, as the metadata records it.
struct Outcome {
    train_rows: u64,
    test_rows: u64,
    metrics: MetricsSummary,
    learner_version: u32,
    importances: Option<Vec<f64>>,
}

/// The model's metadata: what it reads, what it predicts, and where it came from.
fn metadata(
    source: Source,
    params: &ValidParams,
    name: &str,
    source_revision: Option<&str>,
    outcome: Outcome,
) -> ModelMetadata {
    let data = source.data;
    ModelMetadata {
        name: name.to_owned(),
        features: data.feature_names.clone(),
        classes: data.classes.clone(),
        params: params.requested().clone(),
        learner_version: outcome.learner_version,
        importances: outcome.importances,
        dataset: DatasetInfo {
            file_name: file_name(data),
            sha256: data.sha256.clone(),
            label: data.label_name.clone(),
            rows: data.rows() as u64,
            train_rows: outcome.train_rows,
            test_rows: outcome.test_rows,
        },
        test_data: source.test.map(|t| HeldOutInfo {
            file_name: file_name(t),
            sha256: t.sha256.clone(),
        }),
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        source_revision: source_revision.map(str::to_owned),
        metrics: outcome.metrics,
    }
}

/// The file's name, not its path: moving a checkout must not change the model's bytes.
fn file_name(data: &Dataset) -> String {
    data.source
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::TrainParams;
    use std::path::Path;

    fn iris() -> Dataset {
        Dataset::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
            None,
        )
        .unwrap()
    }

    #[test]
    fn same_inputs_give_identical_bytes_and_good_accuracy() {
        let d = iris();
        let p = TrainParams {
            trees: 20,
            ..TrainParams::default()
        };
        let source = Source::split(&d);
        let train =
            |p: &TrainParams| super::train(source, &p.check(4).unwrap(), "iris", None, &|_| ());
        let a = train(&p).unwrap();
        let b = train(&p).unwrap();
        assert_eq!(a.model_bytes, b.model_bytes);
        let accuracy = a.report.test_accuracy.unwrap();
        assert!(accuracy >= 0.9, "{accuracy}");
        let c = train(&TrainParams { seed: 7, ..p }).unwrap();
        assert_ne!(a.model_bytes, c.model_bytes);
        let decoded = Model::decode("m", &a.model_bytes).unwrap();
        decoded.verify_golden().unwrap();
        assert_eq!(decoded.golden().len(), GOLDEN_ROWS);
    }

    #[test]
    fn a_label_with_more_classes_than_a_model_holds_is_refused_before_training() {
        let rows = crate::forest::MAX_CLASSES + 1;
        let mut d = crate::dataset::synthetic(rows, 2, 2, 1);
        d.classes = (0..rows).map(|i| format!("c{i}")).collect();
        d.labels = (0..rows as u32).collect();
        let p = TrainParams::default().check(2).unwrap();
        let e = super::train(Source::split(&d), &p, "wide", None, &|_| ()).err();
        let e = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("10001 distinct values, more than the 10000 classes"),
            "{e}"
        );
        assert!(e.contains("--label"), "{e}");
    }

    #[test]
    fn batch_probabilities_equal_row_probabilities_bit_for_bit() {
        let mut d = crate::dataset::synthetic(3000, 4, 3, 9);
        for (i, v) in d.features.iter_mut().enumerate() {
            if i % 7 == 3 {
                *v = f64::NAN;
            }
        }
        let p = TrainParams {
            trees: 12,
            ..TrainParams::default()
        };
        let trained =
            super::train(Source::split(&d), &p.check(4).unwrap(), "s", None, &|_| ()).unwrap();
        let forest = trained.model.forest();
        let batch = forest.predict_proba_batch(&d.features);
        let mut row_p = [0.0; 3];
        for (row, expected) in d.features.chunks_exact(4).zip(batch.chunks_exact(3)) {
            forest.predict_proba_row(row, &mut row_p);
            let bits = |p: &[f64]| p.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&row_p), bits(expected), "{row:?}");
        }
        assert_eq!(parallel_proba(forest, &d.features, 2), batch);
    }
}
