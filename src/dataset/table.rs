//! A data set in memory: the numbers, the labels, and what they are called.

use std::path::PathBuf;

use super::error::DatasetError;
use super::stream::match_columns;
use crate::text::{name_list, shown};

/// The largest feature magnitude training accepts: half of `f64::MAX`. The learner puts
/// a split at the midpoint of two neighbouring values, `(a + b) / 2`; above this the sum
/// overflows to infinity and the split sends every row one way, so perfectly separable
/// data (1.7e308 against 1.6e308) trained a forest that learned nothing, silently.
/// Prediction has no such limit: it only compares.
pub const MAX_MAGNITUDE: f64 = f64::MAX / 2.0;

/// The fewest rows on which a column of distinct whole numbers is taken for an ID.
pub const ID_MIN_ROWS: usize = 20;

/// A dataset held in memory: features row-major as `f64`, labels as indices into
/// [`Dataset::classes`].
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where the data came from, for messages.
    pub source: PathBuf,
    /// Feature column names, in file order.
    pub feature_names: Vec<String>,
    /// The label column's name.
    pub label_name: String,
    /// Distinct class names, sorted, so class indices do not depend on row order.
    pub classes: Vec<String>,
    /// `rows × feature_names.len()` values, row after row.
    pub features: Vec<f64>,
    /// One class index per row.
    pub labels: Vec<u32>,
    /// Hex sha256 of the file's bytes: the dataset's identity in model provenance.
    pub sha256: String,
    /// Where the first missing feature value is, if any (missing values are NaN).
    pub first_missing: Option<Location>,
}

/// A cell's place in a file, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: usize,
    /// The column's header name.
    pub name: String,
}

impl Dataset {
    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Number of feature columns.
    pub fn width(&self) -> usize {
        self.feature_names.len()
    }

    /// The features of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let w = self.width();
        &self.features[i * w..(i + 1) * w]
    }

    /// The same rows with features in the order `features` names them (matched by
    /// name, other columns dropped) and labels as indices into `classes`: a held-out
    /// file read the way a trained model reads its input.
    pub fn aligned_to(
        self,
        features: &[String],
        classes: &[String],
    ) -> Result<Dataset, DatasetError> {
        let positions = match_columns(&self.source, &self.feature_names, features)?;
        let class_map = self
            .classes
            .iter()
            .map(|c| {
                classes
                    .iter()
                    .position(|k| k == c)
                    .map(|k| k as u32)
                    .ok_or_else(|| DatasetError::UnknownClass {
                        path: self.source.clone(),
                        class: shown(c),
                        known: name_list(classes),
                    })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let width = self.width();
        let features_out = self
            .features
            .chunks_exact(width)
            .flat_map(|row| positions.iter().map(move |&p| row[p]))
            .collect();
        Ok(Dataset {
            feature_names: features.to_vec(),
            classes: classes.to_vec(),
            features: features_out,
            labels: self.labels.iter().map(|&l| class_map[l as usize]).collect(),
            ..self
        })
    }

    /// Feature columns that look like row IDs: a whole number, different on every row,
    /// none missing, in a data set of at least `ID_MIN_ROWS` (20) rows. (Measured values
    /// repeat, or have fractions; a count that differs on every row is rare enough
    /// that a warning is worth it.)
    pub fn id_like_columns(&self) -> Vec<&str> {
        if self.rows() < ID_MIN_ROWS {
            return Vec::new();
        }
        (0..self.width())
            .filter(|&f| self.looks_like_ids(f))
            .map(|f| self.feature_names[f].as_str())
            .collect()
    }

    fn looks_like_ids(&self, f: usize) -> bool {
        let column = || self.features.iter().skip(f).step_by(self.width());
        // NaN's fraction is NaN: a missing value rules a column out too.
        if !column().all(|v| v.fract() == 0.0) {
            return false;
        }
        let mut values: Vec<f64> = column().copied().collect();
        values.sort_unstable_by(f64::total_cmp);
        values.windows(2).all(|w| w[0] != w[1])
    }

    /// How many rows each class has, indexed like [`Dataset::classes`].
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}
