//! What can be wrong with a CSV, each variant naming where: `file:line:column`.

use std::path::PathBuf;

/// Everything that makes a CSV unusable, each variant naming where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file could not be opened or read at all.
    #[error("cannot read data file '{path}': {source}; check the path")]
    Unreadable {
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A directory, FIFO, device or socket where a data file should be.
    #[error(
        "{path} is {kind}, not a regular file; data is read from regular files only (save it to a file first)"
    )]
    NotAFile {
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// A row (or the header) longer than [`super::MAX_ROW_BYTES`].
    #[error(
        "{path}:{line}: the row is longer than 16 MiB, the most a row may have; is this a CSV file?"
    )]
    RowTooLong {
        path: PathBuf,
        /// 1-based line where the row starts.
        line: u64,
    },
    /// Zero bytes, or only blank space: there is not even a header.
    #[error(
        "{path}: the file is empty; expected a header row (feature names, then the label column) followed by data rows"
    )]
    Empty { path: PathBuf },
    /// A header but no data rows.
    #[error("{path}:1: the file has a header but no data rows; add at least one row per class")]
    HeaderOnly { path: PathBuf },
    /// The header row is unusable (empty or duplicated names, too few columns).
    #[error("{path}:1:{column}: {problem}")]
    BadHeader {
        path: PathBuf,
        /// 1-based column of the offending header cell.
        column: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The CSV itself cannot be parsed (e.g. invalid UTF-8 or an unterminated quote).
    #[error("{path}:{line}: cannot parse the CSV: {problem}")]
    Malformed {
        path: PathBuf,
        /// 1-based line where parsing failed.
        line: u64,
        /// The parser's explanation.
        problem: String,
    },
    /// A row with more or fewer cells than the header.
    #[error(
        "{path}:{line}: expected {expected} columns as in the header, found {found}; every row needs one value per header column"
    )]
    Ragged {
        path: PathBuf,
        /// 1-based line of the row.
        line: u64,
        /// Columns in the header.
        expected: usize,
        /// Columns in this row.
        found: usize,
    },
    /// A feature cell that is not a finite number.
    #[error(
        "{path}:{line}:{column}: feature '{name}' has value '{value}'; expected a finite number (or an empty cell, NA or NaN for a missing value)"
    )]
    BadFeature {
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The feature's header name.
        name: String,
        /// The cell as written.
        value: String,
    },
    /// A finite feature value too large in magnitude to train on (see [`super::MAX_MAGNITUDE`]).
    #[error(
        "{path}:{line}:{column}: feature '{name}' has value '{value}'; training needs values between -8.98e307 and 8.98e307 (split points are midpoints of two values, and beyond that they overflow to infinity): rescale this column"
    )]
    TooLarge {
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The feature's header name.
        name: String,
        /// The cell as written.
        value: String,
    },
    /// A row whose label is missing (an empty cell, `NA` or `NaN`).
    #[error(
        "{path}:{line}:{column}: the label '{name}' is missing (an empty cell, NA or NaN); every row needs its class to train or evaluate on: fill it in or remove the row"
    )]
    MissingLabel {
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The label column's name.
        name: String,
    },
    /// The requested label column is not in the header.
    #[error(
        "{path}:1: there is no column '{label}' to use as the label; the header has: {available}"
    )]
    UnknownLabel {
        path: PathBuf,
        /// The requested label column.
        label: String,
        /// The header's columns, comma separated.
        available: String,
    },
    /// Columns to drop that cannot be dropped.
    #[error("{path}:1: {problem}")]
    BadDrop {
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Classification needs at least two classes.
    #[error(
        "{path}: column '{label}' has only {count} class ({classes}); a classifier needs at least two distinct labels"
    )]
    TooFewClasses {
        path: PathBuf,
        /// The label column.
        label: String,
        /// How many distinct labels there are.
        count: usize,
        /// The labels found.
        classes: String,
    },
    /// The header lacks columns that a model needs.
    #[error(
        "{path}:1: the header lacks the model's feature(s) {missing}; the model needs columns: {needed}{hint}"
    )]
    MissingFeatures {
        path: PathBuf,
        /// The absent features, listed briefly.
        missing: String,
        /// Every feature the model reads, listed briefly.
        needed: String,
        /// A hint about the file's separator, or nothing.
        hint: String,
    },
    /// Reading failed part-way, after the rows before `line`.
    #[error("{path}:{line}: {source}")]
    Io {
        path: PathBuf,
        /// 1-based line being read.
        line: u64,
        /// The operating system's (or the row limit's) reason.
        source: std::io::Error,
    },
    /// A label the model was not trained on.
    #[error(
        "{path}: class '{class}' is not one the model knows ({known}); evaluate on data with the model's classes"
    )]
    UnknownClass {
        /// The file.
        path: PathBuf,
        /// The unknown class.
        class: String,
        /// The model's classes, listed briefly.
        known: String,
    },
    /// A missing value where the consumer cannot take one.
    #[error(
        "{path}:{line}:{column}: feature '{name}' is missing (an empty cell, NA or NaN), and this model cannot take missing values: fill them in, or use a model trained by the cart learner, which takes them"
    )]
    MissingNotAllowed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The feature's header name.
        name: String,
    },
}
