//! The crate's own random-forest representation: what the model file stores and what
//! predictions run on.
//!
//! The learners (our CART learner, smartcore) build this representation; their own
//! types are not what we ship. Keeping our own flat, validated trees means that
//! * the model file format does not change when a learner's internals do;
//! * prediction is a tight loop over one slice of nodes per tree, with no matrix
//!   allocation per request (single-row predictions are the server's hot path);
//! * a file that was tampered with cannot make prediction loop or index out of bounds:
//!   [`Forest::validate`] checks every index once at load time.
//!
//! A leaf holds its class weights (how many bootstrap draws of each class reached it),
//! stored sparsely: a pure leaf, the common case, is a single `(class, weight)` pair.
//! The forest's probability for a class is the mean over trees of the leaf's normalised
//! weight, as in scikit-learn's `predict_proba`; normalising happens during prediction,
//! so only the integer weights are kept in memory.
//!
//! A row value that is NaN is missing; every split records which child missing values
//! go to. The serialised form (module `encoding`) is compact CBOR; [`v1`] reads and writes the
//! format-1 model files, whose leaves hold one class.

mod encoding;
mod flat;
mod predict;
#[cfg(test)]
mod tests;
mod tree;
pub mod v1;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use tree::MISSING_TO_FALSE;
pub use tree::{Branch, ClassWeight, Node, Split, Tree};

/// The most features a forest may test. A model file names each one, and the server
/// indexes them by name; far beyond any table a forest is trained on in memory.
pub const MAX_FEATURES: usize = 100_000;
/// The most classes a forest may have. The server keeps a counter per class and
/// `/metrics` prints one line per class, so this bounds both.
pub const MAX_CLASSES: usize = 10_000;
/// The most nodes over all trees: 16,777,216 nodes take 670 MB in memory (24 bytes each,
/// plus 16 in the prediction layout of module `flat`; a fully grown
/// 100-tree forest on about 800,000 noisy rows).
pub const MAX_NODES: usize = 1 << 24;
/// The most class weights over all leaves (a pure leaf has one), 128 MB in memory.
pub const MAX_CLASS_WEIGHTS: usize = 1 << 24;

/// A forest over `n_features` numeric inputs and `n_classes` classes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    n_features: u32,
    n_classes: u32,
    /// Decoded within [`MAX_NODES`] and [`MAX_CLASS_WEIGHTS`], counted as they come: a
    /// hostile file is refused before it is all in memory.
    #[serde(deserialize_with = "encoding::trees_within_limits")]
    trees: Vec<Tree>,
    /// The trees laid out for prediction, built on the first one (module `flat`).
    #[serde(skip)]
    flat: OnceLock<flat::Flat>,
}

/// Forests are equal when their trees are: the prediction layout derives from them.
impl PartialEq for Forest {
    fn eq(&self, other: &Forest) -> bool {
        (self.n_features, self.n_classes, &self.trees)
            == (other.n_features, other.n_classes, &other.trees)
    }
}

/// Why a forest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ForestError {
    /// The structure is inconsistent (corrupt or hand-edited model file), or larger
    /// than a model file may hold.
    #[error("invalid forest: {0}")]
    Invalid(String),
}

impl Forest {
    /// A checked forest (see [`Forest::validate`]).
    pub fn new(n_features: usize, n_classes: usize, trees: Vec<Tree>) -> Result<Self, ForestError> {
        let too_many = |what| ForestError::Invalid(format!("too many {what}"));
        let forest = Forest {
            n_features: u32::try_from(n_features).map_err(|_| too_many("features"))?,
            n_classes: u32::try_from(n_classes).map_err(|_| too_many("classes"))?,
            trees,
            flat: OnceLock::new(),
        };
        forest.validate()?;
        Ok(forest)
    }

    /// Number of features every row must have.
    pub fn n_features(&self) -> usize {
        self.n_features as usize
    }

    /// Number of classes; predictions are indices below it.
    pub fn n_classes(&self) -> usize {
        self.n_classes as usize
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Number of nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }

    /// The trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// How many trees differ between two forests: trees at the same position that are
    /// not identical, plus the trees one forest has beyond the other's count.
    pub fn trees_differing_from(&self, other: &Forest) -> usize {
        let pairs = self.trees.iter().zip(&other.trees);
        let changed = pairs.filter(|(a, b)| a != b).count();
        changed + self.trees.len().abs_diff(other.trees.len())
    }

    /// Checks every index so that prediction can neither loop nor go out of bounds, and
    /// every leaf so that its probabilities are defined.
    pub fn validate(&self) -> Result<(), ForestError> {
        if self.n_features == 0 || self.n_classes == 0 || self.trees.is_empty() {
            return Err(invalid(
                "the forest needs at least one feature, one class and one tree".into(),
            ));
        }
        self.check_limits()?;
        for (t, tree) in self.trees.iter().enumerate() {
            self.validate_tree(tree)
                .map_err(|what| invalid(format!("tree {t} {what}")))?;
        }
        Ok(())
    }

    /// Checks the sizes against [`MAX_FEATURES`], [`MAX_CLASSES`], [`MAX_NODES`] and
    /// [`MAX_CLASS_WEIGHTS`].
    fn check_limits(&self) -> Result<(), ForestError> {
        let weights: usize = self.trees.iter().map(|t| t.weights.len()).sum();
        let sizes = [
            (self.n_features(), MAX_FEATURES, "features"),
            (self.n_classes(), MAX_CLASSES, "classes"),
            (self.n_nodes(), MAX_NODES, "nodes"),
            (weights, MAX_CLASS_WEIGHTS, "leaf class weights"),
        ];
        for (count, limit, what) in sizes {
            if count > limit {
                return Err(invalid(format!(
                    "it has {count} {what}, more than the limit of {limit}"
                )));
            }
        }
        Ok(())
    }

    /// Checks one tree; the error says what is wrong, for [`Forest::validate`] to prefix.
    fn validate_tree(&self, tree: &Tree) -> Result<(), String> {
        let len = tree.nodes.len();
        if len == 0 {
            return Err("has no nodes".into());
        }
        if u32::try_from(len).is_err() || u32::try_from(tree.weights.len()).is_err() {
            return Err("is too large".into());
        }
        // Leaves own consecutive runs of `weights`, in node order, with nothing left
        // over: the layout is canonical, so encoding and decoding give the same tree.
        let mut next_weight = 0;
        for (i, n) in tree.nodes.iter().enumerate() {
            if n.is_leaf() {
                let (first, end) = (n.false_child as usize, n.extra as usize);
                if first != next_weight || end <= first || end > tree.weights.len() {
                    return Err(format!("node {i} has an out-of-range leaf distribution"));
                }
                self.validate_leaf(&tree.weights[first..end])
                    .map_err(|what| format!("node {i} {what}"))?;
                next_weight = end;
                continue;
            }
            // Children strictly after their parent: walking down always terminates.
            let children_ok = [n.true_child, n.false_child]
                .iter()
                .all(|&c| (c as usize) > i && (c as usize) < len);
            if !children_ok || n.feature >= self.n_features {
                return Err(format!("node {i} has out-of-range links or feature"));
            }
        }
        if next_weight != tree.weights.len() {
            return Err("has class weights that no leaf uses".into());
        }
        Ok(())
    }

    /// A leaf's weights name known classes in ascending order, each with a positive
    /// weight (so their sum, the normaliser, is positive).
    fn validate_leaf(&self, weights: &[ClassWeight]) -> Result<(), String> {
        let mut previous = None;
        for w in weights {
            if w.class >= self.n_classes {
                return Err(format!("weighs unknown class {}", w.class));
            }
            if w.weight == 0 || previous.is_some_and(|p| p >= w.class) {
                return Err("has a zero, repeated or unordered class weight".into());
            }
            previous = Some(w.class);
        }
        Ok(())
    }

    /// A forest from parts, unchecked: for learners that build valid forests by
    /// construction and for decoders, whose callers run [`Forest::validate`].
    pub(crate) fn from_parts(n_features: u32, n_classes: u32, trees: Vec<Tree>) -> Forest {
        Forest {
            n_features,
            n_classes,
            trees,
            flat: OnceLock::new(),
        }
    }
}

fn invalid(msg: String) -> ForestError {
    ForestError::Invalid(msg)
}

/// The index of the largest value; ties go to the lowest index: how a forest turns
/// probabilities (or format 1's vote counts) into its prediction.
pub fn argmax<T: PartialOrd + Copy>(values: &[T]) -> u32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v > values[best] {
            best = i;
        }
    }
    best as u32
}
