//! `mlops train --if-changed`: keep the model in `--out` unless its inputs changed.
//!
//! This is how the compose stack trains: `docker compose up` runs the train service
//! every time, and a model trained by hand into the volume (`docker compose run --rm
//! train --data /data/mine.csv`) must survive it. So the existing model's recorded
//! provenance (data file and its sha256, label, name, held-out file, parameters) is the
//! request, and only what the run was given (on the command line or through its
//! `MLOPS_*` variable) overrides it; flags left at their defaults do not. A data file
//! not given is looked for under its recorded name in the directory of `--data`.
//!
//! The run then trains when there is no readable model, when a recorded file's content
//! changed, or when a given value differs from the recorded one; otherwise it keeps the
//! model. Either way it says which, and why.

use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::train_args::TrainArgs;
use crate::model::{Model, ModelMetadata};
use crate::text::printable;

/// What a `--if-changed` run does.
#[derive(Debug)]
pub enum Plan {
    /// Keep the model; the line says why.
    Keep(String),
    /// Train with these arguments (the model's recorded ones, overridden by the given
    /// ones); the line says why.
    Train(Box<TrainArgs>, String),
}

/// Decides whether to train, from the model in `args.out` and the flags in `given`
/// (clap ids of the flags given on the command line or by variable).
pub fn plan(args: &TrainArgs, given: &[String]) -> Plan {
    let model_path = args.out.join("model.cbor");
    if !model_path.exists() {
        return Plan::Train(
            Box::new(args.clone()),
            format!("No model in {} yet: training", args.out.display()),
        );
    }
    let model = match Model::load(&model_path) {
        Ok(model) => model,
        Err(e) => {
            return Plan::Train(
                Box::new(args.clone()),
                format!("Retraining: the model in --out cannot be used ({e})"),
            );
        }
    };
    let is_given = |id: &str| given.iter().any(|g| g == id);
    let meta = model.metadata();
    let effective = recorded_args(args, meta, &is_given);
    let mut changes = changed_params(&effective, meta);
    match file_change(
        &effective.data,
        &meta.dataset.file_name,
        &meta.dataset.sha256,
    ) {
        FileState::Same => {}
        FileState::Changed(why) => changes.insert(0, why),
        FileState::Missing if !is_given("data") => {
            return Plan::Keep(format!(
                "Keeping {}: its data file {} is not there to compare, so nothing says it changed",
                model_path.display(),
                effective.data.display()
            ));
        }
        FileState::Missing => changes.insert(0, format!("{} is missing", effective.data.display())),
    }
    if let (Some(recorded), Some(path)) = (&meta.test_data, &effective.test_data) {
        if let FileState::Changed(why) = file_change(path, &recorded.file_name, &recorded.sha256) {
            changes.push(why);
        }
    } else if meta.test_data.is_some() != effective.test_data.is_some() {
        changes.push("--test-data differs".to_owned());
    }
    if changes.is_empty() {
        return Plan::Keep(format!(
            "Keeping {} ({}): trained on {} (unchanged) with the same parameters; drop --if-changed to retrain anyway",
            model_path.display(),
            model.id,
            printable(&meta.dataset.file_name)
        ));
    }
    let why = format!("Retraining: {}", changes.join("; "));
    Plan::Train(Box::new(effective), why)
}

/// `args` with every flag that was not given replaced by the model's recorded value.
fn recorded_args(
    args: &TrainArgs,
    meta: &ModelMetadata,
    is_given: &dyn Fn(&str) -> bool,
) -> TrainArgs {
    let mut a = args.clone();
    let dir = args.data.parent().unwrap_or(Path::new(""));
    if !is_given("data") {
        a.data = dir.join(&meta.dataset.file_name);
    }
    if !is_given("test_data") {
        a.test_data = meta.test_data.as_ref().map(|t| dir.join(&t.file_name));
    }
    if !is_given("name") {
        a.name = Some(meta.name.clone());
    }
    if !is_given("label") {
        a.label = Some(meta.dataset.label.clone());
    }
    let p = &meta.params;
    let keep = |id: &str| !is_given(id);
    if keep("learner") {
        a.learner = p.learner;
    }
    if keep("trees") {
        a.trees = p.trees;
    }
    if keep("max_depth") {
        a.max_depth = p.max_depth;
    }
    if keep("min_samples_leaf") {
        a.min_samples_leaf = p.min_samples_leaf;
    }
    if keep("features_per_split") {
        a.features_per_split = p.features_per_split;
    }
    if keep("seed") {
        a.seed = p.seed;
    }
    if keep("test_fraction") {
        a.test_fraction = p.test_fraction;
    }
    a
}

/// The given values that differ from the recorded ones, as `--flag is X, the model has Y`.
fn changed_params(effective: &TrainArgs, meta: &ModelMetadata) -> Vec<String> {
    let mut changes = Vec::new();
    let ours = serde_json::to_value(effective.params()).unwrap_or_default();
    let theirs = serde_json::to_value(&meta.params).unwrap_or_default();
    if let (Some(ours), Some(theirs)) = (ours.as_object(), theirs.as_object()) {
        for (key, value) in ours {
            if theirs.get(key) != Some(value) {
                let recorded = theirs.get(key).cloned().unwrap_or_default();
                changes.push(format!(
                    "--{} is {value}, the model has {recorded}",
                    key.replace('_', "-")
                ));
            }
        }
    }
    if effective.label.as_deref() != Some(meta.dataset.label.as_str()) {
        changes.push("--label differs from the model's".to_owned());
    }
    if effective.name.as_deref() != Some(meta.name.as_str()) {
        changes.push("--name differs from the model's".to_owned());
    }
    changes
}

enum FileState {
    Same,
    Changed(String),
    Missing,
}

/// Whether the file at `path` is the one recorded as `name` with `sha256`.
fn file_change(path: &Path, name: &str, sha256: &str) -> FileState {
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file_name != name {
        return FileState::Changed(format!(
            "the model was trained on {}, this run reads {}",
            printable(name),
            path.display()
        ));
    }
    match sha256_hex(path) {
        Ok(hex) if hex == sha256 => FileState::Same,
        Ok(hex) => FileState::Changed(format!(
            "{} changed since the model was trained (sha256 {}, the model records {})",
            path.display(),
            &hex[..12],
            sha256.get(..12).unwrap_or(sha256)
        )),
        Err(_) => FileState::Missing,
    }
}

fn sha256_hex(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}
