//! What the learner reads: the training data, the settings trees grow with, and the
//! rows of one tree.

/// What the trees are grown with: the parameters, clamped to the data, and the ranks
/// of the data's values ([`super::ranks`]).
#[derive(Debug, Clone)]
pub struct Settings<'a> {
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub features_per_split: usize,
    pub seed: u64,
    pub ranks: &'a [u32],
}

/// Training data: feature values column by column (NaN = missing) and class labels.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub(super) values: &'a [f64],
    pub(super) n_rows: usize,
    pub(super) n_features: usize,
    pub(super) labels: &'a [u32],
    pub(super) n_classes: usize,
}

impl<'a> Columns<'a> {
    /// Wraps column-major `values` (`n_features` columns of `n_rows` values) and one
    /// label below `n_classes` per row.
    ///
    /// # Panics
    /// If the shapes disagree, a label is out of range, or a count is zero or too large
    /// (rows ≤ u32::MAX): callers check their data first; this only catches their bugs.
    pub fn new(
        values_col_major: &'a [f64],
        n_rows: usize,
        n_features: usize,
        labels: &'a [u32],
        n_classes: usize,
    ) -> Self {
        assert!(
            n_rows > 0 && n_features > 0 && n_classes > 0,
            "empty training data"
        );
        assert!(u32::try_from(n_rows).is_ok() && u32::try_from(n_classes).is_ok());
        assert_eq!(Some(values_col_major.len()), n_rows.checked_mul(n_features));
        assert_eq!(labels.len(), n_rows, "one label per row");
        assert!(
            labels.iter().all(|&l| (l as usize) < n_classes),
            "label out of range"
        );
        Columns {
            values: values_col_major,
            n_rows,
            n_features,
            labels,
            n_classes,
        }
    }

    /// The values of one feature, row by row.
    pub fn column(&self, feature: usize) -> &'a [f64] {
        &self.values[feature * self.n_rows..(feature + 1) * self.n_rows]
    }
}

/// One distinct in-bag row: its index and its [`Kind`] (an index into the tree's kinds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub row: u32,
    pub kind: u32,
}

/// What the split search counts for a sample: its class and bootstrap weight (in-bag
/// count). A tree has few distinct kinds (classes × small counts), so sort keys carry a
/// kind's index, and its class and weight come from a table that stays in cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind {
    pub class: u32,
    pub weight: u32,
}
