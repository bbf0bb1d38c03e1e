//! Prediction: walking a tree down to its leaf, and averaging the leaves' distributions.
//!
//! Rows must have [`Forest::n_features`] values (callers check it and report a clear
//! error; here it is only debug-asserted) and the forest must be valid
//! ([`Forest::validate`]).
//!
//! Single-row prediction is the server's hot path, so two details matter:
//! * a row without missing values walks the compact layout of module `flat`, one
//!   comparison and one predicted branch per node. Only rows with a NaN take
//!   [`Tree::leaf_by`], which checks each split's missing-values route;
//! * pure leaves, the common case, add an integer vote; only mixed leaves add
//!   fractions. Votes become probabilities at the end, exactly (integers below 2⁵³).

use super::flat::{self, Flat};
use super::{Forest, MISSING_TO_FALSE, Node, Tree, argmax};

/// Most problems have few classes: their votes and probabilities live on the stack then.
const STACK_CLASSES: usize = 16;

impl Forest {
    /// Predicts the most probable class of one row; ties go to the lowest class index.
    ///
    /// This is the argmax of [`Forest::predict_proba_row`].
    pub fn predict_row(&self, row: &[f64]) -> u32 {
        let k = self.n_classes();
        if k <= STACK_CLASSES {
            let mut proba = [0.0; STACK_CLASSES];
            self.predict_proba_row(row, &mut proba[..k]);
            argmax(&proba[..k])
        } else {
            let mut proba = vec![0.0; k];
            self.predict_proba_row(row, &mut proba);
            argmax(&proba)
        }
    }

    /// Predicts every row of a row-major matrix of `n_features` columns.
    pub fn predict_batch(&self, rows: &[f64]) -> Vec<u32> {
        let k = self.n_classes().max(1);
        self.predict_proba_batch(rows)
            .chunks_exact(k)
            .map(argmax)
            .collect()
    }

    /// Writes the probability of each class for one row into `out` (`n_classes` long):
    /// the mean over trees of the normalised class weights of the leaf the row reaches.
    pub fn predict_proba_row(&self, row: &[f64], out: &mut [f64]) {
        debug_assert_eq!(row.len(), self.n_features());
        debug_assert_eq!(out.len(), self.n_classes());
        let k = out.len();
        if k <= STACK_CLASSES {
            self.sum_leaves(row, &mut [0; STACK_CLASSES][..k], out);
        } else {
            self.sum_leaves(row, &mut vec![0; k], out);
        }
    }

    /// `out` = mean distribution: pure leaves counted in `votes`, mixed ones in `out`.
    fn sum_leaves(&self, row: &[f64], votes: &mut [u32], out: &mut [f64]) {
        out.fill(0.0);
        if row.iter().any(|x| x.is_nan()) {
            for tree in &self.trees {
                tree.add_leaf(tree.leaf_by(|f| row[f]), votes, out);
            }
        } else {
            self.flat().add_leaves(&self.trees, row, votes, out);
        }
        let n = self.trees.len() as f64;
        for (p, &v) in out.iter_mut().zip(votes.iter()) {
            *p = (*p + f64::from(v)) / n;
        }
    }

    /// The probabilities of every row of a row-major matrix: `n_rows × n_classes` values,
    /// row-major, equal bit for bit to [`Forest::predict_proba_row`]'s.
    ///
    /// Rows go through the forest a block at a time, tree after tree: one tree's nodes
    /// stay in cache for the whole block, where walking every tree for one row after
    /// another would fetch each deep forest from memory again for every row. Each row
    /// still sums its trees in tree order, hence the same bits.
    pub fn predict_proba_batch(&self, rows: &[f64]) -> Vec<f64> {
        const BLOCK: usize = 2048;
        let (width, k) = (self.n_features(), self.n_classes());
        if width == 0 || k == 0 {
            return Vec::new();
        }
        let mut out = vec![0.0; rows.len() / width * k];
        let block_rows = BLOCK.min(rows.len() / width);
        let mut votes = vec![0u32; block_rows * k];
        let mut has_missing = Vec::with_capacity(block_rows);
        for (block, block_out) in rows.chunks(BLOCK * width).zip(out.chunks_mut(BLOCK * k)) {
            let votes = &mut votes[..block_out.len()];
            votes.fill(0);
            has_missing.clear();
            has_missing.extend(
                block
                    .chunks_exact(width)
                    .map(|r| r.iter().any(|x| x.is_nan())),
            );
            let flat = self.flat();
            for (root, tree) in flat.roots().zip(&self.trees) {
                let per_row = block.chunks_exact(width).zip(&has_missing);
                let sums = votes.chunks_exact_mut(k).zip(block_out.chunks_exact_mut(k));
                for ((row, &missing), (v, p)) in per_row.zip(sums) {
                    if missing {
                        tree.add_leaf(tree.leaf_by(|f| row[f]), v, p);
                    } else {
                        flat::add_leaf(tree, flat.leaf(root, row), v, p);
                    }
                }
            }
            let n = self.trees.len() as f64;
            for (p, &v) in block_out.iter_mut().zip(votes.iter()) {
                *p = (*p + f64::from(v)) / n;
            }
        }
        out
    }

    /// The prediction layout, built on first use.
    pub(super) fn flat(&self) -> &Flat {
        self.flat.get_or_init(|| Flat::new(&self.trees))
    }
}

impl Tree {
    /// The leaf a row reaches, reading the row's values through `value(feature)` (so
    /// that column-major training data needs no copy). Handles missing values.
    #[inline]
    pub(crate) fn leaf_by(&self, value: impl Fn(usize) -> f64) -> &Node {
        let mut node = &self.nodes[0];
        while node.true_child != 0 {
            let x = value(node.feature as usize);
            let next = if x <= node.threshold {
                node.true_child
            } else if x > node.threshold || node.extra & MISSING_TO_FALSE != 0 {
                node.false_child
            } else {
                node.true_child // NaN, and the split sends missing values true
            };
            node = &self.nodes[next as usize];
        }
        node
    }

    /// Adds a leaf's distribution: a vote for a pure leaf, fractions otherwise.
    #[inline]
    pub(super) fn add_leaf(&self, leaf: &Node, votes: &mut [u32], fractions: &mut [f64]) {
        if leaf.extra.wrapping_sub(leaf.false_child) == 1 {
            votes[self.weights[leaf.false_child as usize].class as usize] += 1;
        } else {
            self.add_distribution(leaf, fractions);
        }
    }

    /// Adds a leaf's normalised class weights to `out`.
    #[inline]
    pub(crate) fn add_distribution(&self, leaf: &Node, out: &mut [f64]) {
        let weights = &self.weights[leaf.false_child as usize..leaf.extra as usize];
        let total: u64 = weights.iter().map(|w| u64::from(w.weight)).sum();
        let total = total as f64;
        for w in weights {
            out[w.class as usize] += f64::from(w.weight) / total;
        }
    }
}
