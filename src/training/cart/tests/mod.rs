//! Tests of the learner: whole forests ([`fit`]) and single trees grown without a
//! bootstrap sample ([`tree`]), on small synthetic data sets built here.

mod fit;
mod tree;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::grow::Workspace;
use super::{CartParams, Columns, Forest, Settings, ranks};
use crate::forest::Tree;

/// Owned training data, column-major.
pub(super) struct Data {
    pub values: Vec<f64>,
    pub labels: Vec<u32>,
    n_features: usize,
    n_classes: usize,
}

impl Data {
    /// `rows` rows of `n_features` values and their labels from `row(i)`.
    pub fn new(
        rows: usize,
        n_features: usize,
        n_classes: usize,
        row: impl FnMut(usize) -> (Vec<f64>, u32),
    ) -> Data {
        let (rows, labels): (Vec<Vec<f64>>, Vec<u32>) = (0..rows).map(row).unzip();
        let values = (0..n_features)
            .flat_map(|f| rows.iter().map(move |r| r[f]))
            .collect();
        Data {
            values,
            labels,
            n_features,
            n_classes,
        }
    }

    pub fn columns(&self) -> Columns<'_> {
        let n = self.labels.len();
        Columns::new(
            &self.values,
            n,
            self.n_features,
            &self.labels,
            self.n_classes,
        )
    }

    /// Row `i`, row-major.
    pub fn row(&self, i: usize) -> Vec<f64> {
        let n = self.labels.len();
        (0..self.n_features)
            .map(|f| self.values[f * n + i])
            .collect()
    }

    pub fn accuracy(&self, forest: &Forest) -> f64 {
        let n = self.labels.len();
        let right = (0..n)
            .filter(|&i| forest.predict_row(&self.row(i)) == self.labels[i])
            .count();
        right as f64 / n as f64
    }
}

/// Overlapping Gaussian-ish classes: class `c` is centred at `c · 0.5` on every feature.
pub(super) fn blobs(rows: usize, n_features: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Data::new(rows, n_features, 3, |i| {
        let class = (i % 3) as u32;
        let mut noise = || rng.random::<f64>() + rng.random::<f64>() - 1.0;
        let row = (0..n_features)
            .map(|_| f64::from(class) * 0.5 + noise())
            .collect();
        (row, class)
    })
}

pub(super) fn params(trees: usize) -> CartParams {
    CartParams {
        trees,
        max_depth: None,
        min_samples_leaf: 1,
        features_per_split: 1,
        seed: 42,
        threads: 2,
    }
}

pub(super) fn no_progress(_: usize) {}

/// One tree on every row with weight 1 (no bootstrap).
pub(super) fn unweighted_tree(data: &Data, p: &CartParams) -> (Tree, Vec<f64>) {
    unweighted_tree_with(data, p, true)
}

/// [`unweighted_tree`], reading ranks from a per-worker copy or from the shared ones.
pub(super) fn unweighted_tree_with(
    data: &Data,
    p: &CartParams,
    local_ranks: bool,
) -> (Tree, Vec<f64>) {
    let columns = data.columns();
    let ranks = ranks::ranks(&columns);
    let settings = Settings {
        max_depth: p.max_depth,
        min_samples_leaf: p.min_samples_leaf,
        features_per_split: p.features_per_split,
        seed: p.seed,
        ranks: &ranks,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let mut workspace = Workspace::new(&columns, &settings);
    if !local_ranks {
        workspace = workspace.without_local_ranks();
    }
    workspace.grow_unweighted(&columns, &settings, &mut rng)
}

/// Each node's depth (the root's is 0).
pub(super) fn depths(tree: &Tree) -> Vec<usize> {
    let mut depth = vec![0; tree.nodes().len()];
    for (i, node) in tree.nodes().iter().enumerate() {
        if let Some(s) = node.split() {
            depth[s.true_child as usize] = depth[i] + 1;
            depth[s.false_child as usize] = depth[i] + 1;
        }
    }
    depth
}

pub(super) fn encode(forest: &Forest) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(forest, &mut bytes).unwrap();
    bytes
}
