//! Prediction: walking a tree down to its leaf, and averaging the leaves' distributions.
//!
//! Rows must have [`Forest::n_features`] values (callers check it and report a clear
//! error; here it is only debug-asserted) and the forest must be valid
//! ([`Forest::validate`]).

use super::{FEATURE_MASK, Forest, MISSING_TO_FALSE, Node, Tree};

/// Most problems have few classes: their probabilities live on the stack then.
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
        if self.n_features == 0 {
            return Vec::new();
        }
        rows.chunks_exact(self.n_features())
            .map(|r| self.predict_row(r))
            .collect()
    }

    /// Writes the probability of each class for one row into `out` (`n_classes` long):
    /// the mean over trees of the normalised class weights of the leaf the row reaches.
    pub fn predict_proba_row(&self, row: &[f64], out: &mut [f64]) {
        debug_assert_eq!(row.len(), self.n_features());
        debug_assert_eq!(out.len(), self.n_classes());
        out.fill(0.0);
        for tree in &self.trees {
            tree.add_distribution(tree.leaf_by(|f| row[f]), out);
        }
        let n = self.trees.len() as f64;
        for p in out {
            *p /= n;
        }
    }

    /// The probabilities of every row of a row-major matrix: `n_rows × n_classes` values,
    /// row-major.
    pub fn predict_proba_batch(&self, rows: &[f64]) -> Vec<f64> {
        let (width, k) = (self.n_features(), self.n_classes());
        if width == 0 || k == 0 {
            return Vec::new();
        }
        let mut out = vec![0.0; rows.len() / width * k];
        for (row, proba) in rows.chunks_exact(width).zip(out.chunks_exact_mut(k)) {
            self.predict_proba_row(row, proba);
        }
        out
    }
}

impl Tree {
    /// The leaf a row reaches, reading the row's values through `value(feature)` (so
    /// that column-major training data needs no copy).
    #[inline]
    pub(crate) fn leaf_by(&self, value: impl Fn(usize) -> f64) -> &Node {
        let mut node = &self.nodes[0];
        while node.true_child != 0 {
            let x = value((node.feature & FEATURE_MASK) as usize);
            // NaN fails `<=`, so a missing value goes true only when the flag says so.
            let go_true =
                x <= node.threshold || (x.is_nan() && node.feature & MISSING_TO_FALSE == 0);
            let next = if go_true {
                node.true_child
            } else {
                node.false_child
            };
            node = &self.nodes[next as usize];
        }
        node
    }

    /// Adds a leaf's normalised class weights to `out`.
    #[inline]
    pub(crate) fn add_distribution(&self, leaf: &Node, out: &mut [f64]) {
        let weights = &self.weights[leaf.false_child as usize..leaf.extra as usize];
        if let [only] = weights {
            // A pure leaf: w / w is exactly 1, without the division.
            out[only.class as usize] += 1.0;
            return;
        }
        let total: u64 = weights.iter().map(|w| u64::from(w.weight)).sum();
        let total = total as f64;
        for w in weights {
            out[w.class as usize] += f64::from(w.weight) / total;
        }
    }
}

/// The index of the largest value; ties go to the lowest index.
pub(crate) fn argmax(values: &[f64]) -> u32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v > values[best] {
            best = i;
        }
    }
    best as u32
}
