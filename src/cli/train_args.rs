//! The flags of `mlops train`, in a module of their own so that `train` and
//! `if_changed` (which fills in the flags a run was not given from a model) can both
//! use them without importing each other.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::params::{DEFAULTS, Learner, TrainParams};

/// Options of `mlops train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The training CSV (header row; numeric features; a class label column).
    #[arg(long, env = "MLOPS_DATA", default_value = "data/iris.csv")]
    pub data: PathBuf,
    /// A held-out CSV to evaluate on (same feature and label columns, matched by name);
    /// then every row of --data trains, and --test-fraction is not used.
    #[arg(long, env = "MLOPS_TEST_DATA")]
    pub test_data: Option<PathBuf>,
    /// Directory to write model.cbor and metrics.json into.
    #[arg(long, env = "MLOPS_OUT", default_value = "models")]
    pub out: PathBuf,
    /// The model's name [default: the data file's stem, e.g. `iris`].
    #[arg(long, env = "MLOPS_NAME")]
    pub name: Option<String>,
    /// The label column [default: the last column].
    #[arg(long, env = "MLOPS_LABEL")]
    pub label: Option<String>,
    /// Columns to leave out of the features (an ID, free text), comma separated or
    /// repeated; the model records them, and `predict` passes them through.
    #[arg(
        long,
        env = "MLOPS_DROP",
        value_delimiter = ',',
        value_name = "COL[,COL]"
    )]
    pub drop: Vec<String>,
    /// The learner: `cart` (the crate's own) or `smartcore`.
    #[arg(long, env = "MLOPS_LEARNER", value_enum, default_value_t = DEFAULTS.learner)]
    pub learner: Learner,
    /// Threads that build trees [default: the CPUs this process may use]; the model's
    /// bytes do not depend on it.
    #[arg(long, env = "MLOPS_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// No progress bar or progress lines while the trees grow.
    #[arg(long, env = "MLOPS_QUIET")]
    pub quiet: bool,
    /// Number of trees.
    #[arg(long, env = "MLOPS_TREES", default_value_t = DEFAULTS.trees)]
    pub trees: u16,
    /// Maximum depth of a tree [default: unlimited].
    #[arg(long, env = "MLOPS_MAX_DEPTH")]
    pub max_depth: Option<u16>,
    /// Minimum number of samples in a leaf.
    #[arg(long, env = "MLOPS_MIN_SAMPLES_LEAF", default_value_t = DEFAULTS.min_samples_leaf)]
    pub min_samples_leaf: usize,
    /// Features considered at each split [default: ⌊√features⌋].
    #[arg(long, env = "MLOPS_FEATURES_PER_SPLIT")]
    pub features_per_split: Option<usize>,
    /// Seed of the split and the forest.
    #[arg(long, env = "MLOPS_SEED", default_value_t = DEFAULTS.seed)]
    pub seed: u64,
    /// Fraction of each class held out for evaluation; 0 trains on every row, without
    /// evaluation.
    #[arg(long, env = "MLOPS_TEST_FRACTION", default_value_t = DEFAULTS.test_fraction)]
    pub test_fraction: f64,
    /// Keep the model already in --out unless its data file's content or a given flag
    /// differs from what it records; flags not given keep the model's values.
    #[arg(long, env = "MLOPS_IF_CHANGED")]
    pub if_changed: bool,
    /// The ids of the flags given on the command line or by variable, for --if-changed
    /// (filled in after parsing).
    #[arg(skip)]
    pub given: Vec<String>,
}

impl TrainArgs {
    /// The hyperparameters these flags describe.
    pub fn params(&self) -> TrainParams {
        TrainParams {
            learner: self.learner,
            trees: self.trees,
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            features_per_split: self.features_per_split,
            seed: self.seed,
            test_fraction: self.test_fraction,
            drop: self.drop.clone(),
        }
    }

    /// The model's name: `--name`, else the data file's stem. A blank name is refused:
    /// it is how `MLOPS_NAME=${NAME}` with `NAME` unset arrives, and a model named ''
    /// has no usable v2 URL (`/v2/models//infer`).
    pub fn model_name(&self) -> anyhow::Result<String> {
        match &self.name {
            Some(name) if name.trim().is_empty() => bail!(
                "--name (MLOPS_NAME) is empty; give the model a name, or leave it unset to use the data file's name"
            ),
            Some(name) => Ok(name.clone()),
            None => Ok(self
                .data
                .file_stem()
                .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned())),
        }
    }
}
