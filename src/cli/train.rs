//! `mlops train`: load a CSV, train, evaluate, and write `model.cbor` and `metrics.json`.
//!
//! Everything is validated and computed in memory first; only then are the two files
//! written, together and atomically (metrics.json names the model's hash, so one must
//! never be replaced without the other).

use std::io::{self, Write};
use std::path::Path;

use super::errors::hint;
use super::if_changed::{self, Plan};
use super::progress;
pub use super::train_args::TrainArgs;
use crate::atomic;
use crate::dataset::{Columns, Dataset, DatasetError};
use crate::metrics::MetricsReport;
use crate::params::{Param, ParamError};
use crate::text::{name_list, printable};
use crate::training::{self, TrainError};

/// The source revision this binary was built from, when the build knew it: set by the
/// image builders (`MLOPS_SOURCE_REVISION`) or found by `build.rs` from git.
pub const SOURCE_REVISION: Option<&str> = match option_env!("MLOPS_SOURCE_REVISION") {
    Some(rev) => Some(rev),
    None => option_env!("MLOPS_GIT_REVISION"),
};

/// The flag that sets a parameter.
pub fn flag(param: Param) -> &'static str {
    match param {
        Param::Trees => "--trees",
        Param::MaxDepth => "--max-depth",
        Param::MinSamplesLeaf => "--min-samples-leaf",
        Param::FeaturesPerSplit => "--features-per-split",
        Param::TestFraction => "--test-fraction",
    }
}

/// A parameter error with the flag that sets the parameter.
pub fn param_error(e: ParamError) -> anyhow::Error {
    anyhow::anyhow!("invalid {}: {e}", flag(e.param))
}

/// A training error with the flag to change, where one would help.
pub fn train_error(e: TrainError) -> anyhow::Error {
    match e {
        TrainError::ClassTooSmall { .. } => hint(
            "see --test-fraction (0 trains on every row) or give a held-out file with --test-data",
        )(e),
        TrainError::MissingValues { .. } => hint("--learner cart takes them")(e),
        e => e.into(),
    }
}

/// Runs `mlops train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let mut out = Progress::new(io::stdout().lock());
    let planned;
    let args = match args.if_changed.then(|| if_changed::plan(args, &args.given)) {
        None => args,
        Some(Plan::Keep(why)) => {
            writeln!(out, "{why}")?;
            return Ok(());
        }
        Some(Plan::Train(recorded, why)) => {
            writeln!(out, "{why}")?;
            planned = recorded;
            &*planned
        }
    };
    let name = args.model_name()?;
    // Find out now, not after training (which can take hours), that the result can be
    // written.
    atomic::check_writable(&args.out).map_err(hint("choose another --out"))?;
    writeln!(out, "Loading {}", args.data.display())?;
    let columns = Columns::AllBut(&args.drop);
    let data =
        Dataset::load_columns(&args.data, args.label.as_deref(), columns).map_err(data_error)?;
    let test = load_test_data(args.test_data.as_deref(), &data)?;
    let mut params = args.params().check(data.width()).map_err(param_error)?;
    if let Some(threads) = args.threads {
        params = params.with_threads(usize::from(threads));
    }
    describe_data(&mut out, &data)?;
    warn_of_ids(&data);
    writeln!(
        out,
        "Training a random forest ({}, {} threads): {} trees, max depth {}, min samples per leaf {}, {} features per split, seed {}",
        params.learner.name(),
        params.threads(),
        params.trees,
        params
            .max_depth
            .map_or("unlimited".to_owned(), |d| d.to_string()),
        params.min_samples_leaf,
        params.features_per_split(),
        params.seed
    )?;
    let bar = progress::Bar::new(usize::from(params.trees), args.quiet);
    let source = training::Source {
        data: &data,
        test: test.as_ref(),
    };
    let trained = training::train(source, &params, &name, SOURCE_REVISION, &|done| {
        bar.tick(done)
    })
    .map_err(train_error)?;
    bar.finish();
    describe_result(&mut out, &trained.report, args.test_data.as_deref())?;
    let model_path = args.out.join("model.cbor");
    let metrics_path = args.out.join("metrics.json");
    let mut json = serde_json::to_vec_pretty(&trained.report)?;
    json.push(b'\n');
    atomic::ensure_dir(&args.out).map_err(hint("choose another --out"))?;
    atomic::write_all_atomic(&[(&model_path, &trained.model_bytes), (&metrics_path, &json)])
        .map_err(hint("choose another --out"))?;
    writeln!(out, "Wrote {} ({})", model_path.display(), trained.model.id)?;
    writeln!(out, "Wrote {}", metrics_path.display())?;
    Ok(())
}

/// The held-out file, read like the training file and aligned to its columns and
/// classes.
pub fn load_test_data(path: Option<&Path>, data: &Dataset) -> anyhow::Result<Option<Dataset>> {
    let Some(path) = path else { return Ok(None) };
    // Only the features are read: other columns (an ID, text) need not be numbers.
    let columns = Columns::Only(&data.feature_names);
    let test = Dataset::load_columns(path, Some(&data.label_name), columns)
        .map_err(hint("see --test-data"))?;
    let aligned = test
        .aligned_to(&data.feature_names, &data.classes)
        .map_err(hint("see --test-data"))?;
    Ok(Some(aligned))
}

/// A data error with the flag to change: `--drop` for a column it names or one that
/// holds text (an ID, a comment), else `--data`.
pub fn data_error(e: DatasetError) -> anyhow::Error {
    match &e {
        DatasetError::BadDrop { .. } => hint("see --drop")(e),
        DatasetError::BadFeature { name, .. } => {
            let name = printable(name).into_owned();
            hint(format!(
                "see --data; if '{name}' is not a feature (an ID, text), leave it out with --drop '{name}'"
            ))(e)
        }
        _ => hint("see --data")(e),
    }
}

/// Warns of feature columns that look like row IDs: a model learns the rows' order
/// from them (on Iris sorted by class, an ID predicts the class outright).
fn warn_of_ids(data: &Dataset) {
    for name in data.id_like_columns() {
        let name = printable(name);
        eprintln!(
            "warning: feature '{name}' has a different whole number on every row; it looks like an ID, which predicts nothing on new rows: leave it out with --drop '{name}'"
        );
    }
}

/// The split and the accuracies; with no held-out rows, says that nothing was evaluated.
fn describe_result(out: &mut impl Write, r: &MetricsReport, test: Option<&Path>) -> io::Result<()> {
    match (test, r.test_accuracy) {
        (Some(path), _) => writeln!(
            out,
            "  {} train rows; {} test rows from {}",
            r.train_rows,
            r.test_rows,
            path.display()
        )?,
        (None, Some(_)) => writeln!(
            out,
            "  stratified split: {} train / {} test rows (test fraction {})",
            r.train_rows, r.test_rows, r.params.test_fraction
        )?,
        (None, None) => writeln!(
            out,
            "  no test set (test fraction 0): all {} rows train, and the model is not evaluated; give --test-data to evaluate it on another file",
            r.train_rows
        )?,
    }
    let test_accuracy = r
        .test_accuracy
        .map_or(String::new(), |a| format!(", test accuracy {a:.4}"));
    let oob = r
        .oob_accuracy
        .map_or(String::new(), |a| format!(", out of bag {a:.4}"));
    writeln!(
        out,
        "  train accuracy {:.4}{test_accuracy}{oob} ({:.1} ms)",
        r.train_accuracy, r.training_time_ms
    )
}

fn describe_data(out: &mut impl Write, data: &Dataset) -> io::Result<()> {
    let counts: Vec<String> = data
        .classes
        .iter()
        .zip(data.class_counts())
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    writeln!(
        out,
        "  {} rows x {} features, label '{}', {} classes ({})",
        data.rows(),
        data.width(),
        printable(&data.label_name),
        data.classes.len(),
        name_list(&counts)
    )
}

/// Progress lines that never stop the work they report on: `mlops train | head -1`, or
/// a log file on a full disk, must still get the model written (its result is the exit
/// code and the files). After the first failed write, lines are dropped.
struct Progress<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Progress<W> {
    fn new(inner: W) -> Self {
        Progress {
            inner,
            failed: false,
        }
    }
}

impl<W: Write> Write for Progress<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.failed {
            self.failed = self.inner.write_all(buf).is_err();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.failed {
            self.failed = self.inner.flush().is_err();
        }
        Ok(())
    }
}
