//! `mlops evaluate`: how a model does on labelled data it has not seen.
//!
//! The file's columns are matched to the model's features by name, its label column is
//! the one the model was trained on, and its classes must be the model's. The report has
//! the layout of `metrics.json`'s evaluation fields: accuracy, log loss, per-class
//! precision, recall and F1, and the confusion matrix.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::errors::hint;
use crate::atomic;
use crate::dataset::{Columns, Dataset};
use crate::metrics::{self, ClassReport, ConfusionMatrix};
use crate::model::Model;
use crate::text::printable;

/// Options of `mlops evaluate`.
#[derive(Debug, Clone, Args)]
pub struct EvaluateArgs {
    /// The model file.
    pub model: PathBuf,
    /// The labelled CSV to evaluate on.
    #[arg(long, env = "MLOPS_DATA")]
    pub data: PathBuf,
    /// Also write the report as JSON to this file (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The evaluation report (`--out`).
#[derive(Debug, Serialize)]
pub struct EvaluationReport {
    /// The model's name.
    pub model_name: String,
    /// `sha256:<hex>` of the model file.
    pub model_sha256: String,
    /// Hex sha256 of the evaluated CSV.
    pub dataset_sha256: String,
    /// Rows evaluated.
    pub rows: u64,
    /// Fraction predicted right.
    pub accuracy: f64,
    /// Log loss of the probabilities.
    pub log_loss: f64,
    /// Per-class figures.
    pub per_class: Vec<ClassReport>,
    /// Counts of (actual, predicted).
    pub confusion_matrix: ConfusionMatrix,
}

/// Runs `mlops evaluate`.
pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model).map_err(hint("check the MODEL path"))?;
    let meta = model.metadata();
    // Only the model's features are read: other columns (an ID, text) need not be numbers.
    let columns = Columns::Only(&meta.features);
    let data = Dataset::load_columns(&args.data, Some(&meta.dataset.label), columns)
        .map_err(hint("see --data"))?;
    let sha256 = data.sha256.clone();
    let mut data = data
        .aligned_to(&meta.features, &meta.classes)
        .map_err(hint("see --data"))?;
    if !model.accepts_missing() {
        if let Some(at) = data.first_missing.take() {
            anyhow::bail!(
                "{}:{}:{}: feature '{}' is missing, and this model cannot take missing values (retrain it with --learner cart)",
                args.data.display(),
                at.line,
                at.column,
                printable(&at.name)
            );
        }
    }
    let probabilities = model.predict_proba_batch(&data.features);
    let eval = metrics::evaluate(&meta.classes, &data.labels, &probabilities);
    let report = EvaluationReport {
        model_name: meta.name.clone(),
        model_sha256: model.id.clone(),
        dataset_sha256: sha256,
        rows: data.rows() as u64,
        accuracy: eval.accuracy,
        log_loss: eval.log_loss,
        per_class: eval.per_class,
        confusion_matrix: eval.confusion_matrix,
    };
    write_text(&mut std::io::stdout().lock(), &report)?;
    if let Some(out) = &args.out {
        let mut json = serde_json::to_vec_pretty(&report)?;
        json.push(b'\n');
        atomic::write_all_atomic(&[(out, &json)]).map_err(hint("choose another --out"))?;
    }
    Ok(())
}

fn write_text(out: &mut impl Write, r: &EvaluationReport) -> std::io::Result<()> {
    writeln!(
        out,
        "model       {} ({})",
        printable(&r.model_name),
        r.model_sha256
    )?;
    writeln!(out, "rows        {}", r.rows)?;
    writeln!(out, "accuracy    {:.4}", r.accuracy)?;
    writeln!(out, "log loss    {:.4}", r.log_loss)?;
    writeln!(
        out,
        "{:<20} {:>9} {:>9} {:>9} {:>9}",
        "class", "precision", "recall", "f1", "support"
    )?;
    for c in &r.per_class {
        writeln!(
            out,
            "{:<20} {:>9.4} {:>9.4} {:>9.4} {:>9}",
            printable(&c.class),
            c.precision,
            c.recall,
            c.f1,
            c.support
        )?;
    }
    Ok(())
}
