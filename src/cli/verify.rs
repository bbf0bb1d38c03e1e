//! `mlops verify`: retrain from a model's recorded provenance and compare the bytes.
//!
//! On a mismatch it says which part differs (metadata fields, golden rows, how many
//! trees), so the cause can be found.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::errors::hint;
use super::train::{load_test_data, param_error, train_error};
use crate::dataset::{Columns, Dataset};
use crate::model::Model;
use crate::text::printable;
use crate::training;

/// Options of `mlops verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The model file to check.
    pub model: PathBuf,
    /// The training CSV it was made from.
    #[arg(long, env = "MLOPS_DATA")]
    pub data: PathBuf,
    /// The held-out CSV it was evaluated on, for a model trained with --test-data.
    #[arg(long, env = "MLOPS_TEST_DATA")]
    pub test_data: Option<PathBuf>,
}

/// Runs `mlops verify`.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model).map_err(hint("check the MODEL path"))?;
    let meta = model.metadata();
    let columns = Columns::AllBut(&meta.params.drop);
    let mut data = Dataset::load_columns(&args.data, Some(&meta.dataset.label), columns)
        .map_err(hint("see --data"))?;
    if data.sha256 != meta.dataset.sha256 {
        bail!(
            "'{}' is not the training data of this model: its sha256 is {}, the model records {} ({})",
            args.data.display(),
            data.sha256,
            meta.dataset.sha256,
            meta.dataset.file_name
        );
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Retraining '{}' from {} with the recorded parameters (seed {})",
        printable(&meta.name),
        args.data.display(),
        meta.params.seed
    )?;
    // The data is identified by its sha256, checked above; its file name is incidental
    // (a renamed copy, another mount point), so replay the recorded one too.
    data.source = data.source.with_file_name(&meta.dataset.file_name);
    let params = meta.params.check(data.width()).map_err(param_error)?;
    // Replay the recorded revision so that the comparison is about the forest; a
    // different mlops build is reported below if the bytes then differ.
    let test = held_out(args, &model, &data)?;
    let source = training::Source {
        data: &data,
        test: test.as_ref(),
    };
    let retrained = training::train(
        source,
        &params,
        &meta.name,
        meta.source_revision.as_deref(),
        &|_| (),
    )
    .map_err(train_error)?;
    // The id is the sha256 of the file's bytes: equal ids mean identical bytes. An older
    // file is compared in its own format.
    let version = model.format_version();
    let bytes = retrained.model.encode_as(version);
    if bytes.is_some_and(|b| crate::model::digest_id(&b) == model.id) {
        writeln!(out, "OK: identical bytes, {}", model.id)?;
        return Ok(());
    }
    let mut differences = differing_parts(&model, &retrained.model);
    if meta.crate_version != env!("CARGO_PKG_VERSION") {
        differences.push(format!(
            "the model was trained by mlops {}, this is {}",
            meta.crate_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    bail!(
        "{} does not reproduce: the retrained model is {}; differences: {}",
        args.model.display(),
        retrained.model.id,
        if differences.is_empty() {
            "only the encoding".to_owned()
        } else {
            differences.join("; ")
        }
    )
}

/// The held-out file of a model trained with `--test-data`, checked by its sha256 and
/// named as recorded.
fn held_out(args: &VerifyArgs, model: &Model, data: &Dataset) -> anyhow::Result<Option<Dataset>> {
    let recorded = &model.metadata().test_data;
    let (Some(recorded), path) = (recorded, &args.test_data) else {
        return Ok(None);
    };
    let Some(path) = path else {
        bail!(
            "the model was evaluated on a separate file ({}); give it with --test-data",
            recorded.file_name
        );
    };
    let Some(mut test) = load_test_data(Some(path), data)? else {
        return Ok(None);
    };
    if test.sha256 != recorded.sha256 {
        bail!(
            "'{}' is not the held-out data of this model: its sha256 is {}, the model records {}",
            path.display(),
            test.sha256,
            recorded.sha256
        );
    }
    test.source = test.source.with_file_name(&recorded.file_name);
    Ok(Some(test))
}

fn differing_parts(a: &Model, b: &Model) -> Vec<String> {
    let mut parts = Vec::new();
    let ma = serde_json::to_value(a.metadata()).unwrap_or_default();
    let mb = serde_json::to_value(b.metadata()).unwrap_or_default();
    if let (Some(ma), Some(mb)) = (ma.as_object(), mb.as_object()) {
        for (key, va) in ma {
            if mb.get(key) != Some(va) {
                parts.push(format!(
                    "metadata.{key}: recorded {va}, retrained {}",
                    mb[key]
                ));
            }
        }
    }
    if a.golden() != b.golden() {
        parts.push("the golden rows".to_owned());
    }
    let (fa, fb) = (a.forest(), b.forest());
    let trees = fa.trees_differing_from(fb);
    if trees > 0 {
        parts.push(format!(
            "the forest ({trees} of {} trees differ)",
            fa.n_trees()
        ));
    }
    parts
}
