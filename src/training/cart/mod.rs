//! Our random-forest learner: exact-split CART trees on bootstrap samples, with
//! scikit-learn's `RandomForestClassifier` semantics so that results are comparable.
//!
//! * Each tree trains on a bootstrap sample (n draws with replacement), kept as per-row
//!   weights over the distinct rows drawn; `min_samples_leaf` counts distinct rows.
//! * Each node tries `features_per_split` features that are not constant in it (module
//!   `split`) and cuts at the midpoint between consecutive distinct values that best
//!   lowers the weighted Gini impurity; missing values (NaN) go to whichever side is
//!   better, and that side is recorded.
//! * A node is a leaf when it is pure, has fewer than `2 · min_samples_leaf` (or 2)
//!   rows, is at `max_depth`, or has no valid cut (every feature constant, or every cut
//!   leaving fewer than `min_samples_leaf` rows on a side). As in scikit-learn, a valid
//!   cut is taken even when it does not lower the impurity (XOR-like data needs it).
//! * Values are never compared with a tolerance: scikit-learn treats values less than
//!   1e-7 apart as equal, we only treat equal values as equal.
//!
//! The result is a pure function of the data and [`CartParams`] minus `threads`: trees
//! are grown in parallel on a local thread pool, each from its own ChaCha8 stream
//! (seed, tree index), and collected in tree order; out-of-bag sums run in tree order.
//! [`ALGORITHM_VERSION`] changes whenever the output for the same input would.
//!
//! How a tree grows (module `grow`): each value is replaced once per fit by its rank
//! within its feature (module `ranks`), so that nodes sort integer keys, large nodes by
//! radix (module `keys`). Each worker copies its tree's ranks into sample order and
//! partitions them along with the samples, so that a node reads its own values as one
//! sequential run per feature rather than from all over the data. Per tree, time is
//! O(rows × depth × (features + features tried × sorting)) and memory O(rows × features);
//! the shared ranks take 4 bytes per value.

mod grow;
mod input;
mod keys;
mod ranks;
mod scan;
mod split;
#[cfg(test)]
mod tests;

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::forest::{Forest, argmax};
use grow::{Grown, Workspace};
pub use input::Columns;
use input::Settings;

/// Version of the learner's output: bump it when the same data and parameters would give
/// a different forest (e.g. a change of random streams, tie-breaking or rand's sampling).
pub const ALGORITHM_VERSION: u32 = 1;

/// The learner's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartParams {
    /// Number of trees, at least 1.
    pub trees: usize,
    /// Maximum depth (the root is at depth 0); `None` grows until leaves are pure.
    pub max_depth: Option<usize>,
    /// Minimum number of distinct training rows in a leaf (0 counts as 1).
    pub min_samples_leaf: usize,
    /// Features tried at each split, already resolved by the caller (e.g. ⌊√p⌋);
    /// clamped to `1..=n_features`.
    pub features_per_split: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Worker threads (0 counts as 1). The result does not depend on it.
    pub threads: usize,
}

/// A trained forest and what training learned about it.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The forest.
    pub forest: Forest,
    /// Mean decrease in impurity per feature, normalised to sum 1 like scikit-learn's
    /// `feature_importances_` (all zeros when no tree has a split).
    pub importances: Vec<f64>,
    /// Accuracy of the out-of-bag predictions over the rows that were out of bag for at
    /// least one tree; `None` when no row ever was.
    pub oob_accuracy: Option<f64>,
}

/// Trains a forest. `progress(trees_done)` is called after each finished tree, from the
/// worker threads, with counts that increase by one each call.
///
/// # Panics
/// If `params.trees` is 0.
pub fn fit(data: &Columns, params: &CartParams, progress: &(dyn Fn(usize) + Sync)) -> Fitted {
    assert!(params.trees > 0, "a forest needs at least one tree");
    let work = || {
        let ranks = ranks::ranks(data);
        let settings = Settings {
            max_depth: params.max_depth,
            min_samples_leaf: params.min_samples_leaf.max(1),
            features_per_split: params.features_per_split.clamp(1, data.n_features),
            seed: params.seed,
            ranks: &ranks,
        };
        let grown = grow_all(data, &settings, params.trees, progress);
        let oob_accuracy = oob_accuracy(data, &grown);
        (grown, oob_accuracy)
    };
    // Without a local pool (threads could not be spawned) rayon uses its global pool:
    // the result is the same, only the thread count differs.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(params.threads.max(1))
        .build();
    let (grown, oob_accuracy) = match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    let importances = importances(&grown, data.n_features);
    let trees = grown.into_iter().map(|g| g.tree).collect();
    let forest = Forest::from_parts(data.n_features as u32, data.n_classes as u32, trees);
    debug_assert!(forest.validate().is_ok());
    Fitted {
        forest,
        importances,
        oob_accuracy,
    }
}

/// Grows the trees in parallel, collected in tree order.
fn grow_all(
    data: &Columns,
    settings: &Settings,
    trees: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Grown> {
    let done = Mutex::new(0);
    (0..trees)
        .into_par_iter()
        .map_init(
            || Workspace::new(data, settings),
            |workspace, index| {
                let grown = workspace.grow(data, settings, index);
                // Counting and reporting under one lock keeps the reports in order.
                let mut done = done.lock().unwrap_or_else(PoisonError::into_inner);
                *done += 1;
                progress(*done);
                grown
            },
        )
        .collect()
}

/// Rows per parallel task of the out-of-bag pass.
const OOB_CHUNK: usize = 4096;

/// The accuracy of each row's mean distribution over the trees it was out of bag for.
/// Each row's sum is accumulated tree by tree, in tree order, whatever the threads.
fn oob_accuracy(data: &Columns, grown: &[Grown]) -> Option<f64> {
    let k = data.n_classes;
    let mut sums = vec![0.0; data.n_rows * k];
    for g in grown {
        let chunks = sums.par_chunks_mut(OOB_CHUNK * k).enumerate();
        chunks.for_each(|(chunk, sums)| {
            for (i, proba) in sums.chunks_exact_mut(k).enumerate() {
                let row = chunk * OOB_CHUNK + i;
                if !g.in_bag(row) {
                    let leaf = g.tree.leaf_by(|f| data.values[f * data.n_rows + row]);
                    g.tree.add_distribution(leaf, proba);
                }
            }
        });
    }
    // A row out of bag at least once has a positive sum (each distribution sums to 1).
    let (seen, correct) = sums
        .par_chunks(k)
        .zip(data.labels.par_iter())
        .filter(|(proba, _)| proba.iter().any(|&p| p > 0.0))
        .map(|(proba, &label)| (1usize, usize::from(argmax(proba) == label)))
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    (seen > 0).then(|| correct as f64 / seen as f64)
}

/// scikit-learn's `feature_importances_`: each tree's impurity decreases normalised to
/// sum 1, averaged over the trees, normalised again.
fn importances(grown: &[Grown], n_features: usize) -> Vec<f64> {
    let mut sum = vec![0.0; n_features];
    for g in grown {
        let total: f64 = g.decrease.iter().sum();
        if total > 0.0 {
            for (s, d) in sum.iter_mut().zip(&g.decrease) {
                *s += d / total;
            }
        }
    }
    let total: f64 = sum.iter().sum();
    if total > 0.0 {
        sum.iter_mut().for_each(|s| *s /= total);
    }
    sum
}
