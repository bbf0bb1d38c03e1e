//! Training hyperparameters: their defaults, their checks, and the form a model records.
//!
//! Parameters come in two types, as in linfa: [`TrainParams`] is what a caller asks for
//! (and what a model file records, so a run can be repeated), and [`ValidParams`] is what
//! [`TrainParams::check`] returns once every value is in range for a data set of a given
//! width. Training takes only the checked type, so a check cannot be skipped or run
//! twice. The defaults live here once; the command line shows and uses them.

use serde::{Deserialize, Serialize};

/// The algorithm that grows the trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Learner {
    /// The crate's own exact-split CART: n·log n, all cores, probabilities, missing values.
    Cart,
    /// smartcore's random forest: majority votes, no missing values.
    Smartcore,
}

impl Learner {
    /// The name models and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Learner::Cart => "cart",
            Learner::Smartcore => "smartcore",
        }
    }
}

/// The hyperparameters of a training run, recorded in the model so it can be repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// The algorithm.
    pub learner: Learner,
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
    /// Fraction of each class held out for evaluation; 0 trains on every row and skips
    /// the evaluation.
    pub test_fraction: f64,
    /// Columns of the data left out of the features (an ID, free text), as given. Not a
    /// hyperparameter, but part of what a run needs to be repeated; a model without any
    /// records none, so its bytes are those of a model from before the field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// The defaults: a forest of 100 fully grown trees, as scikit-learn's.
pub const DEFAULTS: TrainParams = TrainParams {
    learner: Learner::Cart,
    trees: 100,
    max_depth: None,
    min_samples_leaf: 1,
    features_per_split: None,
    seed: 42,
    test_fraction: 0.2,
    drop: Vec::new(),
};

impl Default for TrainParams {
    fn default() -> Self {
        DEFAULTS
    }
}

/// The parameter a [`ParamError`] is about, so that a caller can name its own way of
/// setting it (a flag, a variable, a field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// [`TrainParams::trees`].
    Trees,
    /// [`TrainParams::max_depth`].
    MaxDepth,
    /// [`TrainParams::min_samples_leaf`].
    MinSamplesLeaf,
    /// [`TrainParams::features_per_split`].
    FeaturesPerSplit,
    /// [`TrainParams::test_fraction`].
    TestFraction,
}

/// A parameter out of range: which one, and the range it must be in.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{problem}")]
pub struct ParamError {
    pub param: Param,
    /// What is wrong, in words that do not assume a command line.
    pub problem: String,
}

/// Parameters checked against a data set's width, with defaults that depend on the data
/// resolved. Only [`TrainParams::check`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidParams {
    requested: TrainParams,
    features_per_split: usize,
    threads: usize,
}

impl TrainParams {
    /// Checks every value for a data set of `width` features.
    pub fn check(&self, width: usize) -> Result<ValidParams, ParamError> {
        let bad = |param, problem: String| Err(ParamError { param, problem });
        if self.trees == 0 {
            return bad(
                Param::Trees,
                "the number of trees must be at least 1".into(),
            );
        }
        if !(self.test_fraction >= 0.0 && self.test_fraction < 1.0) {
            return bad(
                Param::TestFraction,
                format!(
                    "the test fraction must be at least 0 and less than 1 (0 trains on every row, without evaluation), got {}",
                    self.test_fraction
                ),
            );
        }
        if self.min_samples_leaf == 0 {
            return bad(
                Param::MinSamplesLeaf,
                "the minimum number of samples per leaf must be at least 1".into(),
            );
        }
        if self.max_depth == Some(0) {
            return bad(
                Param::MaxDepth,
                "the maximum depth must be at least 1".into(),
            );
        }
        let features_per_split = match self.features_per_split {
            Some(m) if m == 0 || m > width => {
                return bad(
                    Param::FeaturesPerSplit,
                    format!(
                        "the features per split must be between 1 and the number of features ({width}), got {m}"
                    ),
                );
            }
            Some(m) => m,
            None => default_features_per_split(width),
        };
        Ok(ValidParams {
            requested: self.clone(),
            features_per_split,
            threads: default_threads(),
        })
    }
}

/// The CPUs this process may use (a container's CPU quota included), at least 1.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// ⌊√width⌋, at least 1: scikit-learn's and smartcore's default for classification.
pub fn default_features_per_split(width: usize) -> usize {
    (width as f64).sqrt().floor().max(1.0) as usize
}

impl ValidParams {
    /// The parameters as requested, which is what a model records.
    pub fn requested(&self) -> &TrainParams {
        &self.requested
    }

    /// Features considered at each split, with the default resolved.
    pub fn features_per_split(&self) -> usize {
        self.features_per_split
    }

    /// Threads that grow trees. Not recorded: the forest does not depend on it.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The same parameters, grown with `threads` threads (at least 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }
}

impl std::ops::Deref for ValidParams {
    type Target = TrainParams;

    fn deref(&self) -> &TrainParams {
        &self.requested
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_name_their_parameter() {
        type Change = (fn(&mut TrainParams), Param);
        let changes: [Change; 6] = [
            (|p| p.trees = 0, Param::Trees),
            (|p| p.test_fraction = 1.0, Param::TestFraction),
            (|p| p.test_fraction = -0.1, Param::TestFraction),
            (|p| p.min_samples_leaf = 0, Param::MinSamplesLeaf),
            (|p| p.features_per_split = Some(5), Param::FeaturesPerSplit),
            (|p| p.max_depth = Some(0), Param::MaxDepth),
        ];
        for (change, param) in changes {
            let mut p = TrainParams::default();
            change(&mut p);
            assert_eq!(p.check(4).unwrap_err().param, param, "{p:?}");
        }
    }

    #[test]
    fn the_default_features_per_split_is_the_floor_of_the_square_root() {
        let per_split = |width| DEFAULTS.check(width).unwrap().features_per_split();
        assert_eq!(
            [per_split(1), per_split(4), per_split(8), per_split(64)],
            [1, 2, 2, 8]
        );
        let fixed = TrainParams {
            features_per_split: Some(3),
            ..DEFAULTS
        };
        assert_eq!(fixed.check(4).unwrap().features_per_split(), 3);
    }
}
