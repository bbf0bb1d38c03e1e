//! The model file `model.cbor`: what a trained model is, how it is written, and how it
//! is checked when read back.
//!
//! The file is one CBOR document, an `Envelope`: a format tag, a format version, the
//! sha256 of the body, and the body itself as a byte string. The body ([`ModelBody`])
//! holds the metadata and provenance, a small golden set, and the forest. Wrapping the
//! body in bytes lets a reader refuse a foreign file, a newer format or a corrupted body
//! *before* it tries to decode anything else, each with its own clear message.
//!
//! Same inputs give the same bytes: every field is a struct field or a `Vec` (no maps
//! with iteration order, no timestamps); the training time lives in `metrics.json`.
//! The model's identity is the sha256 of the whole file, written `sha256:<hex>`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::forest::{Forest, ForestError};

/// The tag that marks an mlops model file.
pub const FORMAT_TAG: &str = "mlops-model";
/// The body layout this build writes and reads. Bump on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// The outer CBOR document.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    body_sha256: String,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

/// The hyperparameters of a training run, recorded so it can be repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Number of trees in the forest.
    pub trees: u16,
    /// Maximum tree depth; `None` grows trees until leaves are pure.
    pub max_depth: Option<u16>,
    /// Minimum number of samples in a leaf.
    pub min_samples_leaf: usize,
    /// Features considered at each split; `None` means ⌊√features⌋.
    pub features_per_split: Option<usize>,
    /// Seed for the split and the forest.
    pub seed: u64,
    /// Fraction of each class held out for evaluation.
    pub test_fraction: f64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            trees: 100,
            max_depth: None,
            min_samples_leaf: 1,
            features_per_split: None,
            seed: 42,
            test_fraction: 0.2,
        }
    }
}

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The file's name (not its full path, so that moving a checkout does not change the
    /// model's bytes).
    pub file_name: String,
    /// Hex sha256 of the file's bytes.
    pub sha256: String,
    /// The label column.
    pub label: String,
    /// Data rows in the file.
    pub rows: u64,
    /// Rows used for training.
    pub train_rows: u64,
    /// Rows held out for evaluation.
    pub test_rows: u64,
}

/// Accuracy figures stored with the model (the full report is in `metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    /// Accuracy on the training rows.
    pub train_accuracy: f64,
    /// Accuracy on the held-out rows.
    pub test_accuracy: f64,
}

/// Everything about a model except the trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// The model's name (the v2 protocol's model name); by default the dataset's stem.
    pub name: String,
    /// Feature names, in the order rows must give them.
    pub features: Vec<String>,
    /// Class names, indexed by the forest's class indices.
    pub classes: Vec<String>,
    /// The training parameters.
    pub params: TrainParams,
    /// The training data's provenance.
    pub dataset: DatasetInfo,
    /// The version of mlops that trained it.
    pub crate_version: String,
    /// The source revision of that mlops build, when the build knew it.
    pub source_revision: Option<String>,
    /// Train and test accuracy.
    pub metrics: MetricsSummary,
}

/// A held-out row and the class the trainer predicted for it: replaying these after a
/// load proves the loaded forest behaves like the one that was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldenRow {
    /// The row's features.
    pub features: Vec<f64>,
    /// The predicted class index.
    pub prediction: u32,
}

/// The body of the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBody {
    /// Metadata and provenance.
    pub metadata: ModelMetadata,
    /// Rows to replay after loading.
    pub golden: Vec<GoldenRow>,
    /// The trees, stored in format 1 (see [`crate::forest::v1`]).
    #[serde(with = "crate::forest::v1::as_v1")]
    pub forest: Forest,
}

/// Why a model file cannot be used. Every message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file is missing or unreadable.
    #[error(
        "cannot read model file '{path}': {source}; run `mlops train` first, or pass --model PATH"
    )]
    Unreadable {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not CBOR, or not our envelope.
    #[error(
        "'{path}' is not an mlops model file ({reason}); point --model at a file written by `mlops train`"
    )]
    NotAModel {
        /// The path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A format version this build cannot read.
    #[error(
        "'{path}' has model format version {found}, but this mlops reads version {FORMAT_VERSION}; retrain it with this version (`mlops train`) or use the mlops that wrote it"
    )]
    UnsupportedVersion {
        /// The path.
        path: String,
        /// The version found.
        found: u32,
    },
    /// The body does not match its checksum.
    #[error("'{path}' is corrupt: {reason}; retrain with `mlops train` or restore the file")]
    Corrupt {
        /// The path.
        path: String,
        /// What failed.
        reason: String,
    },
}

/// ciborium's error in words. Its `Display` is its `Debug` (`Io(Error { kind:
/// UnexpectedEof, .. })`, `Syntax(41)`), which tells a user nothing; the common case, a
/// copy cut short, deserves to be named.
fn cbor_problem(e: &ciborium::de::Error<std::io::Error>) -> String {
    use ciborium::de::Error;
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "it ends in the middle of the data (truncated?)".to_owned()
        }
        Error::Io(io) => io.to_string(),
        Error::Syntax(offset) => format!("invalid CBOR at byte {offset}"),
        Error::Semantic(Some(offset), what) => format!("{what} (at byte {offset})"),
        Error::Semantic(None, what) => what.clone(),
        Error::RecursionLimitExceeded => "it is nested too deeply".to_owned(),
    }
}

/// A model ready to predict: its body plus its identity.
#[derive(Debug, Clone)]
pub struct Model {
    /// Metadata, golden rows and forest.
    pub body: ModelBody,
    /// `sha256:<hex>` of the file's bytes.
    pub id: String,
}

impl Model {
    /// Encodes a body into the model file's bytes, deterministically.
    pub fn encode(body: &ModelBody) -> Vec<u8> {
        let mut body_bytes = Vec::new();
        ciborium::into_writer(body, &mut body_bytes).expect("writing CBOR to memory cannot fail");
        let envelope = Envelope {
            format: FORMAT_TAG.to_owned(),
            version: FORMAT_VERSION,
            body_sha256: hex::encode(Sha256::digest(&body_bytes)),
            body: body_bytes,
        };
        let mut out = Vec::new();
        ciborium::into_writer(&envelope, &mut out).expect("writing CBOR to memory cannot fail");
        out
    }

    /// Decodes and checks model file bytes; `path` is only used in messages.
    ///
    /// Checks, in order: the envelope, the tag, the version, the body checksum, the
    /// body's structure, the forest's indices, and the metadata's consistency with the
    /// forest. The golden rows are replayed separately by [`Model::verify_golden`].
    pub fn decode(path: &str, bytes: &[u8]) -> Result<Model, ModelError> {
        let not_a_model = |reason: String| ModelError::NotAModel {
            path: path.to_owned(),
            reason,
        };
        let corrupt = |reason: String| ModelError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        if bytes.is_empty() {
            return Err(not_a_model("the file is empty (0 bytes)".into()));
        }
        let envelope: Envelope = ciborium::from_reader(bytes).map_err(|e| {
            not_a_model(format!(
                "cannot decode it as an mlops CBOR envelope: {}",
                cbor_problem(&e)
            ))
        })?;
        if envelope.format != FORMAT_TAG {
            return Err(not_a_model(format!(
                "its format tag is '{}'",
                envelope.format
            )));
        }
        if envelope.version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion {
                path: path.to_owned(),
                found: envelope.version,
            });
        }
        let actual = hex::encode(Sha256::digest(&envelope.body));
        if actual != envelope.body_sha256 {
            return Err(corrupt(format!(
                "its body's sha256 is {actual}, but the file records {}",
                envelope.body_sha256
            )));
        }
        let body: ModelBody = ciborium::from_reader(&envelope.body[..]).map_err(|e| {
            corrupt(format!(
                "cannot decode the model body: {}",
                cbor_problem(&e)
            ))
        })?;
        body.forest
            .validate()
            .map_err(|e: ForestError| corrupt(e.to_string()))?;
        let meta = &body.metadata;
        if meta.features.len() != body.forest.n_features()
            || meta.classes.len() != body.forest.n_classes()
        {
            return Err(corrupt(
                "the metadata's features or classes do not match the forest".into(),
            ));
        }
        if body
            .golden
            .iter()
            .any(|g| g.features.len() != meta.features.len())
        {
            return Err(corrupt(
                "a golden row has the wrong number of features".into(),
            ));
        }
        Ok(Model {
            body,
            id: digest_id(bytes),
        })
    }

    /// Reads and checks a model file, including the golden-row replay.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Unreadable {
            path: shown.clone(),
            source,
        })?;
        let model = Model::decode(&shown, &bytes)?;
        model
            .verify_golden()
            .map_err(|reason| ModelError::Corrupt {
                path: shown,
                reason,
            })?;
        Ok(model)
    }

    /// Replays the golden rows; an error says which row disagreed.
    pub fn verify_golden(&self) -> Result<(), String> {
        for (i, g) in self.body.golden.iter().enumerate() {
            let got = self.body.forest.predict_row(&g.features);
            if got != g.prediction {
                return Err(format!(
                    "golden row {i} predicts class {got}, but the trainer recorded {}",
                    g.prediction
                ));
            }
        }
        Ok(())
    }

    /// The metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.body.metadata
    }

    /// Feature names, in input order.
    pub fn features(&self) -> &[String] {
        &self.body.metadata.features
    }

    /// Class names.
    pub fn classes(&self) -> &[String] {
        &self.body.metadata.classes
    }

    /// Predicts the class name of one row of `features().len()` values.
    pub fn predict_one(&self, row: &[f64]) -> &str {
        &self.classes()[self.body.forest.predict_row(row) as usize]
    }

    /// Predicts the class index of one row.
    pub fn predict_index(&self, row: &[f64]) -> u32 {
        self.body.forest.predict_row(row)
    }
}

/// The `sha256:<hex>` identity of some bytes.
pub fn digest_id(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::v1;

    pub(crate) fn tiny_body() -> ModelBody {
        let leaf = |class| v1::Node {
            feature: 0,
            threshold: 0.0,
            true_child: 0,
            false_child: 0,
            class,
        };
        let root = v1::Node {
            feature: 1,
            threshold: 0.5,
            true_child: 1,
            false_child: 2,
            class: 0,
        };
        ModelBody {
            metadata: ModelMetadata {
                name: "tiny".into(),
                features: vec!["a".into(), "b".into()],
                classes: vec!["no".into(), "yes".into()],
                params: TrainParams::default(),
                dataset: DatasetInfo {
                    file_name: "tiny.csv".into(),
                    sha256: "00".repeat(32),
                    label: "y".into(),
                    rows: 4,
                    train_rows: 2,
                    test_rows: 2,
                },
                crate_version: "0.0.0".into(),
                source_revision: None,
                metrics: MetricsSummary {
                    train_accuracy: 1.0,
                    test_accuracy: 1.0,
                },
            },
            golden: vec![GoldenRow {
                features: vec![0.0, 1.0],
                prediction: 1,
            }],
            forest: Forest::from(v1::Forest {
                n_features: 2,
                n_classes: 2,
                trees: vec![v1::Tree {
                    nodes: vec![root, leaf(0), leaf(1)],
                }],
            }),
        }
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let body = tiny_body();
        let a = Model::encode(&body);
        assert_eq!(a, Model::encode(&body.clone()));
        let m = Model::decode("m", &a).unwrap();
        assert_eq!(m.body, body);
        assert_eq!(m.id, digest_id(&a));
        assert_eq!(m.predict_one(&[9.0, 0.1]), "no");
        assert_eq!(m.predict_one(&[9.0, 0.9]), "yes");
        m.verify_golden().unwrap();
    }

    #[test]
    fn refuses_foreign_newer_and_corrupt_files() {
        let err = |bytes: &[u8]| Model::decode("m", bytes).unwrap_err();
        assert!(matches!(err(b"hello"), ModelError::NotAModel { .. }));
        let reencode = |f: &dyn Fn(&mut Envelope)| {
            let mut env: Envelope =
                ciborium::from_reader(&Model::encode(&tiny_body())[..]).unwrap();
            f(&mut env);
            let mut out = Vec::new();
            ciborium::into_writer(&env, &mut out).unwrap();
            out
        };
        let foreign = reencode(&|e| e.format = "something-else".into());
        assert!(matches!(err(&foreign), ModelError::NotAModel { .. }));
        let newer = reencode(&|e| e.version = 2);
        let msg = err(&newer).to_string();
        assert!(
            msg.contains("version 2") && msg.contains("retrain"),
            "{msg}"
        );
        let flipped = reencode(&|e| {
            let last = e.body.len() - 1;
            e.body[last] ^= 1;
        });
        assert!(matches!(err(&flipped), ModelError::Corrupt { .. }));
    }

    #[test]
    fn golden_rows_catch_a_changed_forest() {
        let mut body = tiny_body();
        body.golden[0].prediction = 0;
        let m = Model::decode("m", &Model::encode(&body)).unwrap();
        assert!(m.verify_golden().unwrap_err().contains("golden row 0"));
    }
}
