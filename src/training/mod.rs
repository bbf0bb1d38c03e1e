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

mod error;
pub mod smartcore;
pub mod split;

pub use error::TrainError;

use std::time::Instant;

use crate::dataset::Dataset;
use crate::forest::Forest;
use crate::metrics::{self, MetricsReport};
use crate::model::{DatasetInfo, GoldenRow, MetricsSummary, Model, ModelBody, ModelMetadata};
use crate::params::ValidParams;

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

/// Fits a forest on row-major `x` (`width` columns) and labels `y` below `n_classes`.
pub fn fit(
    x: &[f64],
    y: &[u32],
    width: usize,
    n_classes: usize,
    params: &ValidParams,
) -> Result<Forest, TrainError> {
    smartcore::fit(x, y, width, n_classes, params)
}

/// Trains, evaluates and packages a model. `name` is the model's name; `source_revision`
/// the mlops build's source revision, when known.
pub fn train(
    data: &Dataset,
    params: &ValidParams,
    name: &str,
    source_revision: Option<&str>,
) -> Result<Trained, TrainError> {
    let started = Instant::now();
    if let Some(at) = &data.first_missing {
        return Err(TrainError::MissingValues {
            path: data.source.display().to_string(),
            line: at.line,
            column: at.column,
            name: at.name.clone(),
            learner: "smartcore",
        });
    }
    let split = split::stratified(data, params.test_fraction, params.seed)?;
    let (train_rows, test_rows) = (
        Rows::gather(data, &split.train),
        Rows::gather(data, &split.test),
    );
    let forest = fit(
        &train_rows.x,
        &train_rows.y,
        data.width(),
        data.classes.len(),
        params,
    )?;
    let train_pred = forest.predict_batch(&train_rows.x);
    let test_pred = forest.predict_batch(&test_rows.x);
    let summary = MetricsSummary {
        train_accuracy: metrics::accuracy(&train_rows.y, &train_pred),
        test_accuracy: metrics::accuracy(&test_rows.y, &test_pred),
    };
    let golden = split
        .test
        .iter()
        .zip(&test_pred)
        .take(GOLDEN_ROWS)
        .map(|(&r, &p)| GoldenRow {
            features: data.row(r).to_vec(),
            prediction: p,
        })
        .collect();
    let body = ModelBody {
        metadata: metadata(data, params, name, source_revision, &split, summary),
        golden,
        forest,
    };
    let (model_bytes, model) = Model::from_body(body);
    let cm = metrics::confusion_matrix(&data.classes, &test_rows.y, &test_pred);
    let summary = &model.metadata().metrics;
    let report = MetricsReport {
        model_name: name.to_owned(),
        model_sha256: model.id.clone(),
        dataset_sha256: data.sha256.clone(),
        train_accuracy: summary.train_accuracy,
        test_accuracy: summary.test_accuracy,
        rows: data.rows() as u64,
        train_rows: split.train.len() as u64,
        test_rows: split.test.len() as u64,
        per_class: metrics::per_class(&cm),
        confusion_matrix: cm,
        params: params.requested().clone(),
        training_time_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    Ok(Trained {
        model_bytes,
        model,
        report,
    })
}

/// The model's metadata: what it reads, what it predicts, and where it came from.
fn metadata(
    data: &Dataset,
    params: &ValidParams,
    name: &str,
    source_revision: Option<&str>,
    split: &split::Split,
    metrics: MetricsSummary,
) -> ModelMetadata {
    let file_name = data
        .source
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    ModelMetadata {
        name: name.to_owned(),
        features: data.feature_names.clone(),
        classes: data.classes.clone(),
        params: params.requested().clone(),
        dataset: DatasetInfo {
            file_name,
            sha256: data.sha256.clone(),
            label: data.label_name.clone(),
            rows: data.rows() as u64,
            train_rows: split.train.len() as u64,
            test_rows: split.test.len() as u64,
        },
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        source_revision: source_revision.map(str::to_owned),
        metrics,
    }
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
        let train = |p: &TrainParams| super::train(&d, &p.check(4).unwrap(), "iris", None);
        let a = train(&p).unwrap();
        let b = train(&p).unwrap();
        assert_eq!(a.model_bytes, b.model_bytes);
        assert!(a.report.test_accuracy >= 0.9, "{}", a.report.test_accuracy);
        let c = train(&TrainParams { seed: 7, ..p }).unwrap();
        assert_ne!(a.model_bytes, c.model_bytes);
        let decoded = Model::decode("m", &a.model_bytes).unwrap();
        decoded.verify_golden().unwrap();
        assert_eq!(decoded.golden().len(), GOLDEN_ROWS);
    }
}
