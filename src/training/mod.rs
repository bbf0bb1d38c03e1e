//! Training: a deterministic stratified split, smartcore's random forest, evaluation,
//! and the model body with its provenance.
//!
//! Determinism is the point: the split uses ChaCha8 (a generator whose output is fixed
//! by its specification, unlike `SmallRng`), smartcore is seeded from the same seed, and
//! everything recorded in the model is a pure function of the data, the parameters and
//! the mlops build. Two runs, in one process or two, give byte-identical model files.

pub mod cart;
pub mod smartcore;

use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::forest::ForestError;
use crate::metrics::{self, MetricsReport};
use crate::model::{
    DatasetInfo, GoldenRow, MetricsSummary, Model, ModelBody, ModelMetadata, TrainParams,
};

/// How many held-out rows are stored in the model to be replayed after loading.
pub const GOLDEN_ROWS: usize = 8;

/// Why training could not produce a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// A class has too few rows for the stratified split to put some on each side.
    #[error(
        "{path}: class '{class}' has {count} row(s); with --test-fraction {fraction} the stratified split needs at least one training and one test row per class: add rows of that class or change --test-fraction"
    )]
    ClassTooSmall {
        /// The dataset file.
        path: String,
        /// The class.
        class: String,
        /// Its row count.
        count: usize,
        /// The requested test fraction.
        fraction: f64,
    },
    /// smartcore refused the data.
    #[error("the learner failed: {0}")]
    Learner(String),
    /// The trained forest could not be converted.
    #[error(transparent)]
    Forest(#[from] ForestError),
}

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

/// Row indices of each side of the split, each in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Rows to train on.
    pub train: Vec<usize>,
    /// Rows held out for evaluation.
    pub test: Vec<usize>,
}

/// Checks parameters against the dataset's shape before any work is done.
pub fn check_params(params: &TrainParams, width: usize) -> Result<(), TrainError> {
    let bad = |m: String| Err(TrainError::InvalidParams(m));
    if params.trees == 0 {
        return bad("--trees must be at least 1".into());
    }
    if !(params.test_fraction > 0.0 && params.test_fraction < 1.0) {
        return bad(format!(
            "--test-fraction must be strictly between 0 and 1, got {}",
            params.test_fraction
        ));
    }
    if params.min_samples_leaf == 0 {
        return bad("--min-samples-leaf must be at least 1".into());
    }
    if params.max_depth == Some(0) {
        return bad("--max-depth must be at least 1".into());
    }
    if let Some(m) = params.features_per_split {
        if m == 0 || m > width {
            return bad(format!(
                "--features-per-split must be between 1 and the number of features ({width}), got {m}"
            ));
        }
    }
    Ok(())
}

/// Splits every class in the same proportion, deterministically from `seed`.
pub fn stratified_split(
    data: &Dataset,
    test_fraction: f64,
    seed: u64,
) -> Result<Split, TrainError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); data.classes.len()];
    for (row, &label) in data.labels.iter().enumerate() {
        by_class[label as usize].push(row);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (class, mut rows) in by_class.into_iter().enumerate() {
        let n_test = (rows.len() as f64 * test_fraction).round() as usize;
        if n_test == 0 || n_test >= rows.len() {
            return Err(TrainError::ClassTooSmall {
                path: data.source.display().to_string(),
                class: data.classes[class].clone(),
                count: rows.len(),
                fraction: test_fraction,
            });
        }
        rows.shuffle(&mut rng);
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

/// Trains, evaluates and packages a model. `name` is the model's name; `source_revision`
/// the mlops build's source revision, when known.
pub fn train(
    data: &Dataset,
    params: &TrainParams,
    name: &str,
    source_revision: Option<&str>,
) -> Result<Trained, TrainError> {
    let started = Instant::now();
    check_params(params, data.width())?;
    let split = stratified_split(data, params.test_fraction, params.seed)?;
    let width = data.width();
    let gather = |rows: &[usize]| -> Vec<f64> {
        rows.iter()
            .flat_map(|&r| data.row(r).iter().copied())
            .collect()
    };
    let labels_of = |rows: &[usize]| -> Vec<u32> { rows.iter().map(|&r| data.labels[r]).collect() };

    let x_train = gather(&split.train);
    let y_train = labels_of(&split.train);
    let forest = smartcore::fit(&x_train, &y_train, width, data.classes.len(), params)?;

    let x_test = gather(&split.test);
    let y_test = labels_of(&split.test);
    let train_pred = forest.predict_batch(&x_train);
    let test_pred = forest.predict_batch(&x_test);
    let train_accuracy = metrics::accuracy(&y_train, &train_pred);
    let test_accuracy = metrics::accuracy(&y_test, &test_pred);

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
    let file_name = data
        .source
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let body = ModelBody {
        metadata: ModelMetadata {
            name: name.to_owned(),
            features: data.feature_names.clone(),
            classes: data.classes.clone(),
            params: params.clone(),
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
            metrics: MetricsSummary {
                train_accuracy,
                test_accuracy,
            },
        },
        golden,
        forest,
    };
    let model_bytes = Model::encode(&body);
    let model = Model {
        id: crate::model::digest_id(&model_bytes),
        body,
    };
    let cm = metrics::confusion_matrix(&data.classes, &y_test, &test_pred);
    let report = MetricsReport {
        model_name: name.to_owned(),
        model_sha256: model.id.clone(),
        dataset_sha256: data.sha256.clone(),
        train_accuracy,
        test_accuracy,
        rows: data.rows() as u64,
        train_rows: split.train.len() as u64,
        test_rows: split.test.len() as u64,
        per_class: metrics::per_class(&cm),
        confusion_matrix: cm,
        params: params.clone(),
        training_time_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    Ok(Trained {
        model_bytes,
        model,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn iris() -> Dataset {
        Dataset::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
            None,
        )
        .unwrap()
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let d = iris();
        let s = stratified_split(&d, 0.2, 42).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (120, 30));
        for class in 0..3 {
            let n = s.test.iter().filter(|&&r| d.labels[r] == class).count();
            assert_eq!(n, 10, "class {class}");
        }
        let mut all: Vec<_> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..150).collect::<Vec<_>>());
        assert_eq!(s, stratified_split(&d, 0.2, 42).unwrap());
        assert_ne!(s, stratified_split(&d, 0.2, 43).unwrap());
    }

    #[test]
    fn same_inputs_give_identical_bytes_and_good_accuracy() {
        let d = iris();
        let p = TrainParams {
            trees: 20,
            ..TrainParams::default()
        };
        let a = train(&d, &p, "iris", None).unwrap();
        let b = train(&d, &p, "iris", None).unwrap();
        assert_eq!(a.model_bytes, b.model_bytes);
        assert!(a.report.test_accuracy >= 0.9, "{}", a.report.test_accuracy);
        let c = train(&d, &TrainParams { seed: 7, ..p }, "iris", None).unwrap();
        assert_ne!(a.model_bytes, c.model_bytes);
        let decoded = Model::decode("m", &a.model_bytes).unwrap();
        decoded.verify_golden().unwrap();
        assert_eq!(decoded.body.golden.len(), GOLDEN_ROWS);
    }

    #[test]
    fn refuses_bad_params_and_tiny_classes() {
        let d = iris();
        let changes: [fn(&mut TrainParams); 6] = [
            |p| p.trees = 0,
            |p| p.test_fraction = 1.0,
            |p| p.test_fraction = 0.0,
            |p| p.min_samples_leaf = 0,
            |p| p.features_per_split = Some(5),
            |p| p.max_depth = Some(0),
        ];
        for change in changes {
            let mut p = TrainParams::default();
            change(&mut p);
            let result = train(&d, &p, "x", None);
            assert!(matches!(result, Err(TrainError::InvalidParams(_))), "{p:?}");
        }
        let small = Dataset::parse(
            Path::new("s.csv"),
            b"a,y\n1,p\n2,p\n3,q\n4,q\n5,q\n6,q\n",
            None,
        )
        .unwrap();
        let e = stratified_split(&small, 0.2, 1).unwrap_err().to_string();
        assert!(e.contains("class 'p' has 2 row(s)"), "{e}");
    }
}
