//! `mlops predict`: stream a CSV to stdout with a `prediction` column added.
//!
//! Columns are matched to the model's features by name (see
//! [`FeatureReader`]), so their order may differ from training and other columns (an id,
//! the label) pass through as written. Memory stays flat whatever the file's length.

use std::io;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::errors::hint;
use crate::dataset::FeatureReader;
use crate::model::Model;

/// Options of `mlops predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// The model file.
    #[arg(long, env = "MLOPS_MODEL", default_value = "models/model.cbor")]
    pub model: PathBuf,
    /// The CSV to predict; its header must name every feature of the model.
    pub input: PathBuf,
    /// Add one column per class, `probability_<class>`, after `prediction`.
    #[arg(long, env = "MLOPS_PROBABILITIES")]
    pub probabilities: bool,
}

const TO_STDOUT: &str = "cannot write the predictions to stdout";

/// Runs `mlops predict`.
pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model).map_err(hint("check --model"))?;
    if args.input.is_dir() {
        anyhow::bail!(
            "'{}' is a directory, not a CSV file; give the path of the CSV to predict",
            crate::text::printable(&args.input.display().to_string())
        );
    }
    let mut rows = FeatureReader::open(&args.input, model.features())?;
    if !model.accepts_missing() {
        rows = rows.refuse_missing();
    }
    let stdout = io::stdout().lock();
    let mut writer = csv::Writer::from_writer(io::BufWriter::with_capacity(64 * 1024, stdout));
    let mut out_header = rows.header().clone();
    out_header.push_field("prediction");
    if args.probabilities {
        for class in model.classes() {
            out_header.push_field(&format!("probability_{class}"));
        }
    }
    writer.write_record(&out_header).context(TO_STDOUT)?;
    let mut out_record = csv::StringRecord::new();
    while let Some(row) = rows.next_row() {
        let (record, features) = row?;
        out_record.clone_from(record);
        let probabilities = model.predict_proba_row(features);
        out_record.push_field(&model.classes()[crate::forest::argmax(&probabilities) as usize]);
        if args.probabilities {
            for p in probabilities {
                out_record.push_field(&p.to_string());
            }
        }
        writer.write_record(&out_record).context(TO_STDOUT)?;
    }
    writer.flush().context(TO_STDOUT)?;
    Ok(())
}
