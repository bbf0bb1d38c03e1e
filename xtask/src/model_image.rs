//! The model image: a trained model as an OCI artifact, `mlops-model:<short digest>`.
//!
//! One layer holding only `/models/model.cbor` and `/models/metrics.json`, the layout
//! that Kubernetes image volumes (mounted with `subPath: models`) and KServe's `oci://`
//! native mode expect. No binary, no shell: the image is data, pulled and mounted by the
//! kubelet. The tag is the first [`TAG_CHARS`] hex digits of the model's sha256, so a
//! model has an immutable reference, and the labels say which model, data and learner
//! it holds. The archive is written like the other images ([`crate::images`]): a
//! `docker save` archive and an OCI layout at once, byte-reproducible (the same two files
//! give the same bytes). `nix/model-image.nix` builds the same image with Nix.

use crate::images::{BuiltImage, manifest_and_index};
use crate::repro::{
    Entry, canonical_json, deterministic_tar, rfc3339, sha256_digest, sha256_hex, write_atomic,
};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The image's repository name.
pub const NAME: &str = "mlops-model";
/// Hex digits of the model's sha256 in the tag.
pub const TAG_CHARS: usize = 12;
/// Where the files are in the image.
pub const DIR: &str = "models";
/// The label keys naming the model, its data and its learner.
pub const LABEL_MODEL: &str = "io.mlops.model.sha256";
pub const LABEL_DATASET: &str = "io.mlops.model.dataset.sha256";
pub const LABEL_LEARNER: &str = "io.mlops.model.learner";
pub const LABEL_NAME: &str = "io.mlops.model.name";

/// What the labels record, read from `metrics.json` and checked against `model.cbor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// `sha256:<hex>` of `model.cbor`.
    pub model_sha256: String,
    pub dataset_sha256: String,
    pub learner: String,
    pub name: String,
}

impl ModelInfo {
    /// `mlops-model:<first 12 hex digits of the model's sha256>`.
    pub fn reference(&self) -> String {
        format!("{NAME}:{}", self.tag())
    }

    pub fn tag(&self) -> String {
        let hex = self.model_sha256.trim_start_matches("sha256:");
        hex[..TAG_CHARS.min(hex.len())].to_string()
    }
}

/// Reads what the labels need from `metrics.json`, and refuses a pair whose
/// `metrics.json` names another model than `model.cbor`.
pub fn model_info(model: &[u8], metrics: &[u8]) -> Result<ModelInfo> {
    let m: Value = serde_json::from_slice(metrics).context("metrics.json is not JSON")?;
    let field = |pointer: &str| {
        m.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("metrics.json has no string at {pointer}"))
    };
    let info = ModelInfo {
        model_sha256: field("/model_sha256")?,
        dataset_sha256: field("/dataset_sha256")?,
        learner: field("/params/learner")?,
        name: field("/model_name")?,
    };
    let actual = sha256_digest(model);
    ensure!(
        info.model_sha256 == actual,
        "metrics.json belongs to model {}, but model.cbor is {actual}; \
         use the two files one `mlops train` wrote together",
        info.model_sha256
    );
    Ok(info)
}

/// The one layer: `models/` with the two files, owned by root, world-readable.
fn layer(model: &[u8], metrics: &[u8], epoch: u64) -> Result<Vec<u8>> {
    let entries = vec![
        Entry::dir(DIR, 0o755, (0, 0)),
        Entry::file(&format!("{DIR}/model.cbor"), 0o644, model.to_vec()),
        Entry::file(&format!("{DIR}/metrics.json"), 0o644, metrics.to_vec()),
    ];
    deterministic_tar(entries, epoch)
}

/// The image config: labels only (no entrypoint; nothing in the image runs).
fn config(
    info: &ModelInfo,
    layer: &[u8],
    epoch: u64,
    common: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut labels = common.clone();
    let description = "A trained mlops model: /models/model.cbor and /models/metrics.json";
    let ours = [
        ("org.opencontainers.image.title", NAME),
        ("org.opencontainers.image.description", description),
        ("org.opencontainers.image.version", &info.tag()),
        (LABEL_MODEL, &info.model_sha256),
        (LABEL_DATASET, &info.dataset_sha256),
        (LABEL_LEARNER, &info.learner),
        (LABEL_NAME, &info.name),
    ];
    for (key, value) in ours {
        labels.insert(key.to_string(), value.to_string());
    }
    let created = rfc3339(epoch);
    canonical_json(&json!({
        "architecture": "amd64", "os": "linux", "created": created,
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(layer)]},
        "history": [{"created": created, "created_by": "cargo xtask images: model"}],
    }))
}

/// The archive's bytes and what it holds, for the model in `model` and `metrics`.
pub fn archive(
    model: &[u8],
    metrics: &[u8],
    epoch: u64,
    common: &BTreeMap<String, String>,
) -> Result<(Vec<u8>, BuiltImage, ModelInfo)> {
    let info = model_info(model, metrics)?;
    let layers = vec![layer(model, metrics, epoch)?];
    let config = config(&info, &layers[0], epoch, common)?;
    let reference = info.reference();
    let (manifest, index) = manifest_and_index(&config, &layers, &reference, &info.tag())?;
    let bytes = crate::images::archive(&config, &layers, &manifest, index, &reference, epoch)?;
    let built = BuiltImage {
        name: NAME.to_string(),
        // Data only: the config names amd64 because OCI requires an architecture.
        arch: "amd64".to_string(),
        reference,
        archive: PathBuf::new(),
        archive_sha256: sha256_hex(&bytes),
        archive_size: bytes.len() as u64,
        config_digest: sha256_digest(&config),
        manifest_digest: sha256_digest(&manifest),
        layer_digests: vec![sha256_digest(&layers[0])],
        uncompressed_size: layers[0].len() as u64,
    };
    Ok((bytes, built, info))
}

/// Writes `out_dir/mlops-model.tar` for the model in `model_dir` (its `model.cbor` and
/// `metrics.json`).
pub fn write(
    root: &Path,
    model_dir: &Path,
    out_dir: &Path,
    epoch: u64,
) -> Result<(BuiltImage, ModelInfo)> {
    let read = |file: &str| {
        let path = model_dir.join(file);
        std::fs::read(&path).with_context(|| {
            format!(
                "reading {} (train a model first: mlops train --out DIR)",
                path.display()
            )
        })
    };
    let (model, metrics) = (read("model.cbor")?, read("metrics.json")?);
    let common = crate::images::Declaration::load(root)?.common.labels;
    let source = "org.opencontainers.image.source";
    let common = common
        .into_iter()
        .filter(|(k, _)| k == source || k.ends_with(".licenses"))
        .collect();
    let (bytes, mut built, info) = archive(&model, &metrics, epoch, &common)
        .with_context(|| format!("packing the model in {}", model_dir.display()))?;
    built.archive = out_dir.join(format!("{NAME}.tar"));
    write_atomic(&built.archive, &bytes)?;
    Ok((built, info))
}

/// `cargo xtask images --model DIR`: writes the model image beside the others, adds it to
/// `SHA256SUMS`, and `docker load`s it with `--load`. Nothing without `--model`.
pub fn main(root: &Path, model_dir: Option<&Path>, load: bool) -> Result<()> {
    let Some(model_dir) = model_dir else {
        return Ok(());
    };
    let out_dir = root.join("target/images");
    let epoch = crate::repro::source_date_epoch()?;
    let (built, info) = write(root, model_dir, &out_dir, epoch)?;
    let sums_path = out_dir.join("SHA256SUMS");
    let file = format!("{NAME}.tar");
    let old = std::fs::read_to_string(&sums_path).unwrap_or_default();
    let mut sums: String = old
        .lines()
        .filter(|l| !l.ends_with(&format!("  {file}")))
        .map(|l| format!("{l}\n"))
        .collect();
    sums.push_str(&format!("{}  {file}\n", built.archive_sha256));
    write_atomic(&sums_path, sums.as_bytes())?;
    if load {
        let sh = xshell::Shell::new()?;
        let archive = &built.archive;
        let cmd = xshell::cmd!(sh, "docker load --input {archive}");
        let loaded = crate::run::read(cmd, std::time::Duration::from_secs(300));
        eprintln!(
            "{}",
            loaded.context("docker load (is a Docker engine running?)")?
        );
    }
    println!(
        "{}  {}  ({} bytes; image {}; {} = {}, data {}, learner {})",
        built.archive_sha256,
        built.archive.display(),
        built.archive_size,
        built.config_digest,
        built.reference,
        info.model_sha256,
        info.dataset_sha256,
        info.learner,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::read_tar;

    const MODEL: &[u8] = b"not really CBOR, but bytes with a digest";

    fn metrics(model: &[u8]) -> Vec<u8> {
        let m = json!({"model_name": "iris", "model_sha256": sha256_digest(model),
            "dataset_sha256": "c527", "params": {"learner": "cart"}, "training_time_ms": 3.5});
        serde_json::to_vec(&m).unwrap()
    }

    fn build(epoch: u64) -> (Vec<u8>, BuiltImage, ModelInfo) {
        archive(MODEL, &metrics(MODEL), epoch, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn same_files_same_bytes_and_the_tag_is_the_digest() {
        let (a, built, info) = build(1);
        assert_eq!(a, build(1).0);
        assert_ne!(a, build(2).0, "the epoch is in the bytes");
        let hex = sha256_hex(MODEL);
        assert_eq!(built.reference, format!("mlops-model:{}", &hex[..12]));
        assert_eq!(info.learner, "cart");
    }

    #[test]
    fn holds_only_the_two_files_and_labels_the_model() {
        let (bytes, built, _) = build(1);
        let files: BTreeMap<String, Vec<u8>> = read_tar(&bytes)
            .unwrap()
            .into_iter()
            .map(|(p, _, d)| (p, d))
            .collect();
        let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
        let layer = &files[manifest[0]["Layers"][0].as_str().unwrap()];
        let contents: Vec<(String, Vec<u8>)> = read_tar(layer)
            .unwrap()
            .into_iter()
            .map(|(p, _, d)| (p, d))
            .collect();
        let paths: Vec<&str> = contents.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["models/", "models/metrics.json", "models/model.cbor"]
        );
        assert_eq!(contents[2].1, MODEL);
        let config: Value =
            serde_json::from_slice(&files[manifest[0]["Config"].as_str().unwrap()]).unwrap();
        assert_eq!(
            sha256_digest(&files[manifest[0]["Config"].as_str().unwrap()]),
            built.config_digest
        );
        let labels = &config["config"]["Labels"];
        assert_eq!(labels[LABEL_MODEL], sha256_digest(MODEL));
        assert_eq!(labels[LABEL_DATASET], "c527");
        assert_eq!(labels[LABEL_LEARNER], "cart");
        assert!(config["config"].get("Entrypoint").is_none(), "nothing runs");
    }

    #[test]
    fn refuses_metrics_of_another_model_and_incomplete_metrics() {
        let other = metrics(b"another model");
        let err = archive(MODEL, &other, 1, &BTreeMap::new()).unwrap_err();
        assert!(format!("{err:#}").contains("belongs to model"), "{err:#}");
        let err = model_info(MODEL, br#"{"model_sha256": "x"}"#).unwrap_err();
        assert!(format!("{err:#}").contains("/dataset_sha256"), "{err:#}");
        assert!(model_info(MODEL, b"{").is_err());
    }
}
