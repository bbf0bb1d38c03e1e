//! Evaluation figures and the `metrics.json` report.
//!
//! The report answers "how good is this model, and which one is it": accuracy on train
//! and test, precision/recall/F1/support per class, the confusion matrix labelled with
//! class names, the model's and the dataset's sha256, and the parameters. Training time
//! is the only field that changes from run to run, which is why it lives here and never
//! in the model file.

use serde::{Deserialize, Serialize};

use crate::params::TrainParams;

/// Precision, recall, F1 and support of one class on the test rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// The class name.
    pub class: String,
    /// Of the rows predicted as this class, the fraction that were.
    pub precision: f64,
    /// Of the rows of this class, the fraction predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Test rows of this class.
    pub support: u64,
}

/// A confusion matrix: `matrix[actual][predicted]`, both indexed like `classes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Row and column labels.
    pub classes: Vec<String>,
    /// Counts; rows are actual classes, columns predicted ones.
    pub matrix: Vec<Vec<u64>>,
}

/// One feature's share of the forest's impurity decrease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// The feature's name.
    pub feature: String,
    /// Its importance; all features' sum to 1.
    pub importance: f64,
}

/// Importances paired with their feature names, most important first (ties in feature
/// order).
pub fn ranked_importances(features: &[String], importances: &[f64]) -> Vec<FeatureImportance> {
    let mut ranked: Vec<FeatureImportance> = features
        .iter()
        .zip(importances)
        .map(|(f, &i)| FeatureImportance {
            feature: f.clone(),
            importance: i,
        })
        .collect();
    ranked.sort_by(|a, b| b.importance.total_cmp(&a.importance));
    ranked
}

/// The content of `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// The model's name.
    pub model_name: String,
    /// `sha256:<hex>` of `model.cbor`.
    pub model_sha256: String,
    /// Hex sha256 of the training CSV.
    pub dataset_sha256: String,
    /// Accuracy on the training rows.
    pub train_accuracy: f64,
    /// Accuracy on the held-out rows; `null` when there are none (test fraction 0).
    pub test_accuracy: Option<f64>,
    /// Log loss (cross-entropy) of the held-out rows' probabilities; `null` when there
    /// are none.
    pub test_log_loss: Option<f64>,
    /// Out-of-bag accuracy on the training rows, when the learner measures it.
    pub oob_accuracy: Option<f64>,
    /// Feature importances (mean decrease in impurity, summing to 1), most important
    /// first, when the learner measures them.
    pub feature_importances: Option<Vec<FeatureImportance>>,
    /// Total data rows.
    pub rows: u64,
    /// Training rows.
    pub train_rows: u64,
    /// Held-out rows.
    pub test_rows: u64,
    /// Per-class figures on the held-out rows.
    pub per_class: Vec<ClassReport>,
    /// Confusion matrix on the held-out rows.
    pub confusion_matrix: ConfusionMatrix,
    /// The training parameters.
    pub params: TrainParams,
    /// Wall-clock training time in milliseconds (not reproducible by nature).
    pub training_time_ms: f64,
}

/// How a model did on labelled rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The most probable class of each row (ties to the lowest index).
    pub predicted: Vec<u32>,
    /// Fraction of rows predicted right.
    pub accuracy: f64,
    /// Mean negative log probability of each row's true class, as scikit-learn's
    /// `log_loss` (probabilities clipped to [1e-15, 1 - 1e-15]).
    pub log_loss: f64,
    /// Counts of (actual, predicted).
    pub confusion_matrix: ConfusionMatrix,
    /// Precision, recall and F1 per class.
    pub per_class: Vec<ClassReport>,
}

/// Evaluates row-major class probabilities (`classes.len()` per row) against labels.
pub fn evaluate(classes: &[String], actual: &[u32], probabilities: &[f64]) -> Evaluation {
    const EPS: f64 = 1e-15;
    let k = classes.len().max(1);
    let predicted: Vec<u32> = probabilities
        .chunks_exact(k)
        .map(crate::forest::argmax)
        .collect();
    let log_loss = if actual.is_empty() {
        0.0
    } else {
        let total: f64 = probabilities
            .chunks_exact(k)
            .zip(actual)
            .map(|(p, &a)| -p[a as usize].clamp(EPS, 1.0 - EPS).ln())
            .sum();
        total / actual.len() as f64
    };
    let confusion_matrix = confusion_matrix(classes, actual, &predicted);
    Evaluation {
        accuracy: accuracy(actual, &predicted),
        log_loss,
        per_class: per_class(&confusion_matrix),
        confusion_matrix,
        predicted,
    }
}

/// Fraction of equal entries; 0 for empty input.
pub fn accuracy(actual: &[u32], predicted: &[u32]) -> f64 {
    if actual.is_empty() {
        return 0.0;
    }
    let hits = actual.iter().zip(predicted).filter(|(a, p)| a == p).count();
    hits as f64 / actual.len() as f64
}

/// Counts `(actual, predicted)` pairs.
pub fn confusion_matrix(classes: &[String], actual: &[u32], predicted: &[u32]) -> ConfusionMatrix {
    let k = classes.len();
    let mut matrix = vec![vec![0u64; k]; k];
    for (&a, &p) in actual.iter().zip(predicted) {
        matrix[a as usize][p as usize] += 1;
    }
    ConfusionMatrix {
        classes: classes.to_vec(),
        matrix,
    }
}

/// Per-class precision, recall and F1 from a confusion matrix. A ratio whose
/// denominator is zero is reported as 0, as scikit-learn does by default.
pub fn per_class(cm: &ConfusionMatrix) -> Vec<ClassReport> {
    let ratio = |num: u64, den: u64| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    (0..cm.classes.len())
        .map(|c| {
            let tp = cm.matrix[c][c];
            let actual: u64 = cm.matrix[c].iter().sum();
            let predicted: u64 = cm.matrix.iter().map(|row| row[c]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, actual);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassReport {
                class: cm.classes[c].clone(),
                precision,
                recall,
                f1,
                support: actual,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_match_a_hand_computed_example() {
        let classes = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let actual = [0, 0, 1, 1, 1, 2];
        let predicted = [0, 1, 1, 1, 0, 0];
        assert!((accuracy(&actual, &predicted) - 0.5).abs() < 1e-12);
        let cm = confusion_matrix(&classes, &actual, &predicted);
        assert_eq!(cm.matrix, [[1, 1, 0], [1, 2, 0], [1, 0, 0]]);
        let r = per_class(&cm);
        assert!((r[0].precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((r[0].recall - 0.5).abs() < 1e-12);
        assert!((r[0].f1 - 0.4).abs() < 1e-12);
        assert!((r[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r[1].support, 3);
        assert_eq!(
            (r[2].precision, r[2].recall, r[2].f1, r[2].support),
            (0.0, 0.0, 0.0, 1)
        );
        assert_eq!(accuracy(&[], &[]), 0.0);
    }
}
