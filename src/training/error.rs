//! Why training can fail.

use crate::forest::ForestError;

/// Why training could not produce a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A class has too few rows for the stratified split to put some on each side.
    #[error(
        "{path}: class '{class}' has {count} row(s); the stratified split holds out {fraction} of each class's rows, rounded to the nearest whole row ({count} x {fraction} rounds to {held_out}), and needs at least 1 held out and 1 left to train: at this fraction a class needs at least {needed} rows; add rows of that class, change the test fraction, or train on every row (test fraction 0, without evaluation)"
    )]
    ClassTooSmall {
        path: String,
        class: String,
        /// Its row count.
        count: usize,
        fraction: f64,
        /// The rows the split would hold out: `round(count × fraction)`.
        held_out: usize,
        /// The fewest rows a class may have at this fraction.
        needed: usize,
    },
    /// The data has more classes than a model may hold.
    #[error(
        "{path}: the label column has {count} distinct values, more than the {limit} classes a model may have; is '{label}' the label (a class per value), or an ID or a measurement? Choose the label column with --label"
    )]
    TooManyClasses {
        path: String,
        label: String,
        count: usize,
        limit: usize,
    },
    /// The trained model would break a size limit that every reader enforces.
    #[error(
        "the trained model has {count} {what}, more than the {limit} a model file may hold, so it could not be loaded: grow smaller trees (--max-depth, --min-samples-leaf) or fewer (--trees)"
    )]
    TooLarge {
        what: &'static str,
        count: u64,
        limit: u64,
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
