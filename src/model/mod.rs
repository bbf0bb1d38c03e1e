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

mod body;
mod checks;
mod error;
mod file;
mod v1;

pub use body::{DatasetInfo, GoldenRow, HeldOutInfo, MetricsSummary, ModelBody, ModelMetadata};
pub use error::ModelError;
pub use file::{FileProblem, MAX_MODEL_BYTES, read_regular};

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::forest::Forest;
use crate::params::Learner;
use error::cbor_problem;

/// The tag that marks an mlops model file.
pub const FORMAT_TAG: &str = "mlops-model";
/// The body layout this build writes. Bump on any incompatible change; older versions
/// stay readable (version 1: smartcore's majority-vote forests).
pub const FORMAT_VERSION: u32 = 2;

/// The outer CBOR document.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    body_sha256: String,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

/// A model ready to predict: its body plus its identity. The body is private so that
/// callers depend on what a model does (predict, describe itself), not on its layout.
#[derive(Debug, Clone)]
pub struct Model {
    body: ModelBody,
    /// `sha256:<hex>` of the file's bytes.
    pub id: String,
    version: u32,
}

impl Model {
    /// A new model from a trained body: the file's bytes and the model they identify.
    pub fn from_body(body: ModelBody) -> (Vec<u8>, Model) {
        let bytes = Model::encode(&body);
        let id = digest_id(&bytes);
        let version = FORMAT_VERSION;
        (bytes, Model { body, id, version })
    }

    /// Encodes a body into the model file's bytes, deterministically.
    pub fn encode(body: &ModelBody) -> Vec<u8> {
        envelope(FORMAT_VERSION, body)
    }

    /// This model's body in the file format `version`, when that version can hold it:
    /// how `mlops verify` compares a retrained model with an older file.
    pub fn encode_as(&self, version: u32) -> Option<Vec<u8>> {
        match version {
            FORMAT_VERSION => Some(Model::encode(&self.body)),
            1 => v1::Body::from_current(&self.body).map(|b| envelope(1, &b)),
            _ => None,
        }
    }

    /// The format version of the file this model was read from (or is written as).
    pub fn format_version(&self) -> u32 {
        self.version
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
        let envelope: Envelope = decode_all(bytes)
            .map_err(|e| not_a_model(format!("cannot decode it as an mlops CBOR envelope: {e}")))?;
        if envelope.format != FORMAT_TAG {
            return Err(not_a_model(format!(
                "its format tag is '{}'",
                crate::text::shown(&envelope.format)
            )));
        }
        if !(1..=FORMAT_VERSION).contains(&envelope.version) {
            return Err(ModelError::UnsupportedVersion {
                path: path.to_owned(),
                found: envelope.version,
                newest: FORMAT_VERSION,
            });
        }
        let actual = hex::encode(Sha256::digest(&envelope.body));
        if actual != envelope.body_sha256 {
            return Err(corrupt(format!(
                "its body's sha256 is {actual}, but the file records {}",
                crate::text::shown(&envelope.body_sha256)
            )));
        }
        let body: ModelBody = match envelope.version {
            1 => decode_all::<v1::Body>(&envelope.body).map(ModelBody::from),
            _ => decode_all::<ModelBody>(&envelope.body),
        }
        .map_err(|e| corrupt(format!("cannot decode the model body: {e}")))?;
        checks::check_body(&body).map_err(corrupt)?;
        Ok(Model {
            body,
            id: digest_id(bytes),
            version: envelope.version,
        })
    }

    /// Reads and checks a model file, including the golden-row replay. Only a regular
    /// file of at most [`MAX_MODEL_BYTES`] is read.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let shown = path.display().to_string();
        let bytes = file::read_bounded(path, &shown, MAX_MODEL_BYTES)?;
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

    /// Predicts the class index of every row of a row-major matrix of
    /// `features().len()` columns.
    pub fn predict_batch(&self, rows: &[f64]) -> Vec<u32> {
        self.body.forest.predict_batch(rows)
    }

    /// Whether rows may have missing values (NaN): only when the learner recorded where
    /// each split sends them.
    pub fn accepts_missing(&self) -> bool {
        self.body.metadata.params.learner == Learner::Cart
    }

    /// Class probabilities of one row, summing to 1.
    pub fn predict_proba_row(&self, row: &[f64]) -> Vec<f64> {
        let mut p = vec![0.0; self.classes().len()];
        self.body.forest.predict_proba_row(row, &mut p);
        p
    }

    /// Class probabilities of every row of a row-major matrix: `classes().len()` values
    /// per row, each row summing to 1.
    pub fn predict_proba_batch(&self, rows: &[f64]) -> Vec<f64> {
        self.body.forest.predict_proba_batch(rows)
    }

    /// The held-out rows replayed after loading.
    pub fn golden(&self) -> &[GoldenRow] {
        &self.body.golden
    }

    /// The forest, for descriptions (tree and node counts) and comparisons.
    pub fn forest(&self) -> &Forest {
        &self.body.forest
    }
}

/// The model file's bytes: the envelope around a body in format `version`.
fn envelope<B: Serialize>(version: u32, body: &B) -> Vec<u8> {
    let mut body_bytes = Vec::new();
    ciborium::into_writer(body, &mut body_bytes).expect("writing CBOR to memory cannot fail");
    let envelope = Envelope {
        format: FORMAT_TAG.to_owned(),
        version,
        body_sha256: hex::encode(Sha256::digest(&body_bytes)),
        body: body_bytes,
    };
    let mut out = Vec::new();
    ciborium::into_writer(&envelope, &mut out).expect("writing CBOR to memory cannot fail");
    out
}

/// Decodes one CBOR item that must fill `bytes`: bytes after it are refused, so that
/// nothing can ride along in a file (or a body) that otherwise checks out.
fn decode_all<B: DeserializeOwned>(bytes: &[u8]) -> Result<B, String> {
    let mut rest = bytes;
    let value = ciborium::from_reader(&mut rest).map_err(|e| cbor_problem(&e))?;
    if !rest.is_empty() {
        return Err(format!(
            "{} unexpected byte(s) follow its end at byte {}",
            rest.len(),
            bytes.len() - rest.len()
        ));
    }
    Ok(value)
}

/// The `sha256:<hex>` identity of some bytes.
pub fn digest_id(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests;
