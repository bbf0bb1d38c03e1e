//! What a model file holds: metadata and provenance, golden rows, and the forest.

use serde::{Deserialize, Serialize};

use crate::forest::Forest;
use crate::params::TrainParams;

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

/// A held-out data file, by name and content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutInfo {
    /// The file's name.
    pub file_name: String,
    /// Hex sha256 of the file's bytes.
    pub sha256: String,
}

/// Accuracy figures stored with the model (the full report is in `metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    /// Accuracy on the training rows.
    pub train_accuracy: f64,
    /// Accuracy on the held-out rows; 0 when nothing was held out, so read it through
    /// [`ModelMetadata::test_accuracy`], which says "not evaluated" then.
    pub test_accuracy: f64,
    /// Out-of-bag accuracy on the training rows, when the learner measures it.
    pub oob_accuracy: Option<f64>,
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
    /// The training parameters, the learner among them.
    pub params: TrainParams,
    /// The learner's algorithm version: the same data, parameters and version give the
    /// same forest.
    pub learner_version: u32,
    /// Feature importances (mean decrease in impurity, summing to 1), in feature order,
    /// when the learner measures them.
    pub importances: Option<Vec<f64>>,
    /// The training data's provenance.
    pub dataset: DatasetInfo,
    /// The held-out file the model was evaluated on, when it was not a split of
    /// `dataset`.
    pub test_data: Option<HeldOutInfo>,
    /// The version of mlops that trained it.
    pub crate_version: String,
    /// The source revision of that mlops build, when the build knew it.
    pub source_revision: Option<String>,
    /// Train and test accuracy.
    pub metrics: MetricsSummary,
}

impl ModelMetadata {
    /// The accuracy on held-out rows, or `None` when the model was not evaluated
    /// (`--test-fraction 0`: no held-out rows). The file stores 0 then, as it always has,
    /// so files keep their bytes; what is shown comes from here.
    pub fn test_accuracy(&self) -> Option<f64> {
        (self.dataset.test_rows > 0).then_some(self.metrics.test_accuracy)
    }

    /// The metadata as JSON, as `/model` and `mlops inspect --json` show it: the stored
    /// fields, with `metrics.test_accuracy` `null` when the model was not evaluated (as
    /// in `metrics.json`).
    pub fn to_json(&self) -> serde_json::Value {
        // Strings, numbers and lists of them always serialize.
        let mut json = serde_json::to_value(self).unwrap_or_default();
        if self.test_accuracy().is_none() {
            json["metrics"]["test_accuracy"] = serde_json::Value::Null;
        }
        json
    }
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
    /// The trees.
    pub forest: Forest,
}
