//! The best split of one node: which features to try, and where to cut each one.
//!
//! Scikit-learn's `BestSplitter`, with the Gini criterion ([`super::scan`]):
//! * features are drawn without replacement until `features_per_split` of them were
//!   evaluated or all were visited. A feature that is constant within the node is
//!   skipped without counting toward that budget, and remembered: it stays constant in
//!   every descendant, which then skips it without looking at it again;
//! * a candidate feature's values in the node are sorted (as rank keys, [`super::keys`]),
//!   and every cut between two consecutive distinct values is scored; the threshold is
//!   their midpoint. Which samples go to which child is decided on ranks, and agrees
//!   with the threshold (`x <= t`) by construction;
//! * missing values (NaN) are tried on either side of each cut, and alone on one side
//!   (missing against present). A split that saw no missing values sends them to the
//!   heavier child.
//!
//! The first best cut wins ties (up to rounding, see [`super::scan`]); the order of
//! features is the random draw's. A feature counts as constant when it cannot split the
//! node: all its values missing, or all present values equal and none missing (unlike
//! scikit-learn, a feature whose present values are equal still splits present against
//! missing).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::input::{Columns, Kind, Sample};
use super::keys;
use super::ranks::{MISSING, NodeRanks};
use super::scan::{Candidate, Loaded, Side};
use crate::forest::Branch;

/// What the split search needs to know about the tree being grown.
pub(super) struct Context<'a> {
    pub data: &'a Columns<'a>,
    pub features_per_split: usize,
    pub min_samples_leaf: usize,
}

/// A node: its samples (distinct rows, ascending), their weighted class counts, and
/// where to read their values' ranks.
pub(super) struct NodeRows<'a> {
    pub samples: &'a [Sample],
    /// The tree's kinds, which samples and keys index.
    pub kinds: &'a [Kind],
    pub totals: &'a [u64],
    pub ranks: NodeRanks<'a>,
}

/// The chosen split of a node. Which child each sample goes to is in
/// [`Splitter::sides`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Best {
    pub feature: usize,
    pub threshold: f64,
    pub missing: Branch,
    /// `W·gini − W_true·gini_true − W_false·gini_false`: the weighted impurity decrease
    /// (mean decrease in impurity importances add it up).
    pub decrease: f64,
}

/// Per-tree scratch space for the split search, reused by every node of the tree.
pub(super) struct Splitter {
    /// A permutation of the features; a node's known constant features come first.
    features: Vec<u32>,
    /// The canonical order of the known constant features, restored after each node.
    constants: Vec<u32>,
    /// The sorted keys of the feature being evaluated, and the radix sort's working
    /// space.
    present: Vec<u64>,
    scratch: Vec<u64>,
    /// Class counts of the missing values of the loaded feature, and scan scratch.
    missing: Vec<u64>,
    left: Vec<u64>,
    /// For each sample of the node just split: whether it goes to the true child.
    sides: Vec<bool>,
}

impl Splitter {
    pub fn new(n_features: usize, n_classes: usize) -> Splitter {
        Splitter {
            features: Vec::with_capacity(n_features),
            constants: vec![0; n_features],
            present: Vec::new(),
            scratch: Vec::new(),
            missing: vec![0; n_classes],
            left: vec![0; n_classes],
            sides: Vec::new(),
        }
    }

    /// Starts a new tree: every feature a candidate, in index order.
    pub fn reset(&mut self, n_features: usize) {
        self.features.clear();
        self.features.extend(0..n_features as u32);
    }

    /// For each sample of the node [`Splitter::best_split`] last split: whether it goes
    /// to the true child.
    pub fn sides(&self) -> &[bool] {
        &self.sides
    }

    /// The best split of `node`, whose first `known_constants` features are known to be
    /// constant; also returns how many are known constant for its children.
    pub fn best_split(
        &mut self,
        cx: &Context,
        node: &NodeRows,
        known_constants: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Option<Best>, usize) {
        let known = known_constants;
        let (mut unvisited_end, mut visited) = (self.features.len(), 0);
        let (mut found, mut drawn) = (0, 0);
        let mut candidate = Candidate::new();
        // The features' layout: [known constants: drawn ones first | constants found
        // here | not yet visited | visited].
        while unvisited_end > known + found
            && (visited < cx.features_per_split || visited <= found + drawn)
        {
            visited += 1;
            let mut j = rng.random_range(drawn as u32..(unvisited_end - found) as u32) as usize;
            if j < known {
                self.features.swap(drawn, j);
                drawn += 1;
                continue;
            }
            j += found;
            let feature = self.features[j] as usize;
            if !self.load(node, feature) {
                self.features.swap(j, known + found);
                found += 1;
                continue;
            }
            unvisited_end -= 1;
            self.features.swap(unvisited_end, j);
            self.evaluate(cx, node, feature, &mut candidate);
        }
        // Children see the known constants in their original order, then the new ones.
        self.features[..known].copy_from_slice(&self.constants[..known]);
        let total = known + found;
        self.constants[known..total].copy_from_slice(&self.features[known..total]);
        (self.resolve(cx, node, &candidate), total)
    }

    /// Loads the node's present values of `feature` as sorted keys, and counts the
    /// classes of its missing ones. Returns false when the feature is constant.
    fn load(&mut self, node: &NodeRows, feature: usize) -> bool {
        self.present.clear();
        self.missing.fill(0);
        let (mut lowest, mut highest) = (MISSING, 0);
        for_each_rank(node, feature, |s, rank| {
            if rank == MISSING {
                let kind = node.kinds[s.kind as usize];
                self.missing[kind.class as usize] += u64::from(kind.weight);
            } else {
                (lowest, highest) = (lowest.min(rank), highest.max(rank));
                self.present.push(u64::from(rank) << 32 | u64::from(s.kind));
            }
        });
        let n_missing = node.samples.len() - self.present.len();
        if self.present.is_empty() || (lowest == highest && n_missing == 0) {
            return false;
        }
        keys::sort(&mut self.present, &mut self.scratch, lowest, highest);
        true
    }

    /// Scores the loaded feature's cuts.
    fn evaluate(&mut self, cx: &Context, node: &NodeRows, feature: usize, best: &mut Candidate) {
        let loaded = Loaded {
            feature,
            n_samples: node.samples.len(),
            kinds: node.kinds,
            totals: node.totals,
            present: &self.present,
            missing: &self.missing,
            min_samples_leaf: cx.min_samples_leaf,
        };
        loaded.evaluate(&mut self.left, best);
    }

    /// The split the best cut makes: each sample's side, and the threshold between the
    /// values on either side of the cut.
    fn resolve(&mut self, cx: &Context, node: &NodeRows, candidate: &Candidate) -> Option<Best> {
        let cut = candidate.cut?;
        let column = cx.data.column(cut.feature);
        let missing_true = cut.missing == Branch::True;
        let (mut below, mut above) = (f64::NAN, f64::INFINITY);
        self.sides.clear();
        for_each_rank(node, cut.feature, |s, rank| {
            if rank == cut.last_true {
                below = column[s.row as usize];
            } else if rank == cut.first_false {
                above = column[s.row as usize];
            }
            let side = if rank == MISSING {
                missing_true
            } else {
                rank <= cut.last_true
            };
            self.sides.push(side);
        });
        let threshold = match cut.first_false {
            MISSING => f64::INFINITY, // present against missing
            _ => midpoint(below, above),
        };
        debug_assert!(!threshold.is_nan(), "the cut's ranks are the node's");
        let node_proxy = Side::of(node.totals.iter().copied()).proxy();
        Some(Best {
            feature: cut.feature,
            threshold,
            missing: cut.missing,
            decrease: candidate.proxy - node_proxy,
        })
    }
}

/// Calls `f` with each sample of the node and its rank of `feature`, in sample order.
fn for_each_rank(node: &NodeRows, feature: usize, mut f: impl FnMut(&Sample, u32)) {
    let samples = node.samples;
    match node.ranks {
        NodeRanks::Local {
            ranks,
            stride,
            start,
        } => {
            let column = &ranks[feature * stride + start..][..samples.len()];
            samples.iter().zip(column).for_each(|(s, &rank)| f(s, rank));
        }
        NodeRanks::Shared { ranks, n_rows } => {
            let column = &ranks[feature * n_rows..][..n_rows];
            samples.iter().for_each(|s| f(s, column[s.row as usize]));
        }
    }
}

/// A threshold between `lo < hi`: their midpoint, computed without overflow; `lo` when
/// the midpoint rounds to `hi` or is not finite (so `lo <= t < hi` always holds).
pub(super) fn midpoint(lo: f64, hi: f64) -> f64 {
    let mid = lo / 2.0 + hi / 2.0;
    if mid < hi && mid.is_finite() { mid } else { lo }
}
