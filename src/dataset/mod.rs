//! Loading a training or prediction CSV into memory, and refusing bad data early.
//!
//! A dataset is a CSV with a header row: every column but the label is a numeric
//! feature, the label column holds class names. Everything that can be wrong with such a
//! file is reported here, before any training starts and before anything is written, with
//! the file, the 1-based line and column, and what was expected instead. The messages
//! follow the `file:line:column: problem` shape of compilers so editors can jump to them.
//!
//! [`Dataset`] holds a whole training file in memory; [`FeatureReader`] streams a file
//! to predict row by row, matching its header to a model's features by name.

mod error;
mod load;
mod parse;
mod source;
mod stream;
mod table;

pub use error::DatasetError;
pub use load::Columns;
pub use parse::MAX_COLUMNS;
pub use source::MAX_ROW_BYTES;
pub use stream::FeatureReader;
pub use table::{Dataset, Location, MAX_MAGNITUDE};

use std::path::{Path, PathBuf};

impl Dataset {
    /// Reads and validates a CSV file (a regular file). `label` picks the label column
    /// by name; by default it is the last column.
    pub fn load(path: &Path, label: Option<&str>) -> Result<Dataset, DatasetError> {
        Dataset::load_columns(path, label, Columns::AllBut(&[]))
    }

    /// [`Dataset::load`], with the feature columns chosen by `select`.
    pub fn load_columns(
        path: &Path,
        label: Option<&str>,
        select: Columns,
    ) -> Result<Dataset, DatasetError> {
        load::read(path, source::open(path)?, label, select)
    }

    /// Validates CSV bytes that came from `path` (used for messages only).
    pub fn parse(path: &Path, bytes: &[u8], label: Option<&str>) -> Result<Dataset, DatasetError> {
        load::read(path, bytes, label, Columns::AllBut(&[]))
    }
}

/// A deterministic synthetic dataset for benchmarks and tests: `classes` Gaussian-ish
/// blobs in `width` dimensions whose centres are about half a unit apart, so they overlap and
/// trees have to grow deep (as on real, noisy data). Same arguments, same data, on
/// every platform: ChaCha8's output is fixed by its specification.
pub fn synthetic(rows: usize, width: usize, classes: usize, seed: u64) -> Dataset {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut next_unit = move || rng.random::<f64>();
    let mut features = Vec::with_capacity(rows * width);
    let mut labels = Vec::with_capacity(rows);
    for i in 0..rows {
        let class = i % classes;
        for f in 0..width {
            // Sum of three uniforms: a cheap bell curve around the class centre.
            let noise = next_unit() + next_unit() + next_unit() - 1.5;
            features.push(class as f64 * (0.4 + f as f64 * 0.1) + noise);
        }
        labels.push(class as u32);
    }
    Dataset {
        source: PathBuf::from(format!("synthetic-{rows}x{width}.csv")),
        feature_names: (0..width).map(|f| format!("x{f}")).collect(),
        label_name: "class".to_owned(),
        classes: (0..classes).map(|c| format!("c{c}")).collect(),
        features,
        labels,
        sha256: format!("{seed:064x}"),
        first_missing: None,
    }
}

#[cfg(test)]
mod tests;
