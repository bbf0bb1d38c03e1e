//! Why training can fail.

use crate::forest::ForestError;

/// Why training could not produce a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A class has too few rows for the stratified split to put some on each side.
    #[error(
        "{path}: class '{class}' has {count} row(s); with a test fraction of {fraction} the stratified split needs at least one training and one test row per class: add rows of that class or change the test fraction"
    )]
    ClassTooSmall {
        path: String,
        class: String,
        /// Its row count.
        count: usize,
        fraction: f64,
    },
    /// The learner refused the data.
    #[error("the learner failed: {0}")]
    Learner(String),
    /// The trained forest is not usable.
    #[error(transparent)]
    Forest(#[from] ForestError),
    /// The learner cannot take missing values, and the data has some.
    #[error(
        "{path}:{line}:{column}: feature '{name}' is missing (an empty cell, NA or NaN), and the {learner} learner cannot take missing values: use the cart learner, or fill them in"
    )]
    MissingValues {
        /// The dataset file.
        path: String,
        /// 1-based line of the first missing value.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The feature.
        name: String,
        /// The learner's name.
        learner: &'static str,
    },
}
