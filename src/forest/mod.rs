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
mod predict;
#[cfg(test)]
mod tests;
pub mod v1;

use serde::{Deserialize, Serialize};

/// The most features a forest may test. A model file names each one, and the server
/// indexes them by name; far beyond any table a forest is trained on in memory.
pub const MAX_FEATURES: usize = 100_000;
/// The most classes a forest may have. The server keeps a counter per class and
/// `/metrics` prints one line per class, so this bounds both.
pub const MAX_CLASSES: usize = 10_000;
/// The most nodes over all trees: 16,777,216 nodes take 400 MB in memory (a fully grown
/// 100-tree forest on about 800,000 noisy rows).
pub const MAX_NODES: usize = 1 << 24;
/// The most class weights over all leaves (a pure leaf has one), 128 MB in memory.
pub const MAX_CLASS_WEIGHTS: usize = 1 << 24;

/// The bit of a split's `extra` field that sends missing values to the false child.
const MISSING_TO_FALSE: u32 = 1 << 31;

/// One of the two children of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch {
    /// The child for rows whose value is `<= threshold`.
    True,
    /// The child for rows whose value is `> threshold`.
    False,
}

/// One node of a decision tree, in 24 bytes: forests of millions of nodes stay small.
///
/// A leaf has `true_child == 0` (the root, index 0, is never anyone's child, so 0 is free
/// to mean "none"). The fields are shared between the two kinds of node:
///
/// | field         | split                                    | leaf                           |
/// |---------------|------------------------------------------|--------------------------------|
/// | `threshold`   | go to the true child if `x <= threshold` | kept for the v1 format only    |
/// | `feature`     | the feature index                        | kept for the v1 format only    |
/// | `true_child`  | index of the true child (> 0)            | 0                              |
/// | `false_child` | index of the false child                 | first of its class weights     |
/// | `extra`       | the missing-to-false bit (bit 31), plus a class kept for the v1 format | one past its last class weight |
///
/// The missing-values bit lives in `extra`, away from `feature`: the prediction loop
/// reads `feature` on its critical path and should not have to mask it.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    threshold: f64,
    feature: u32,
    true_child: u32,
    false_child: u32,
    extra: u32,
}

/// Nodes are equal when they are identical bit for bit, as in the model file: a leaf's
/// threshold is NaN, and with `==` on `f64` NaN != NaN would make every forest unequal to
/// itself.
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        let fields = |n: &Node| {
            (
                n.threshold.to_bits(),
                n.feature,
                n.true_child,
                n.false_child,
                n.extra,
            )
        };
        fields(self) == fields(other)
    }
}

/// The test a split node applies, as [`Node::split`] returns it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// The feature tested.
    pub feature: u32,
    /// Rows whose value is `<= threshold` go to the true child.
    pub threshold: f64,
    /// Index of the true child.
    pub true_child: u32,
    /// Index of the false child.
    pub false_child: u32,
    /// Where rows whose value is missing (NaN) go.
    pub missing: Branch,
}

impl Node {
    /// A leaf whose class weights are `weights[first..end]` in its tree.
    fn leaf(first: u32, end: u32) -> Node {
        Node {
            threshold: f64::NAN,
            feature: 0,
            true_child: 0,
            false_child: first,
            extra: end,
        }
    }

    /// Whether this node is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.true_child == 0
    }

    /// The test of a split node; `None` for a leaf.
    pub fn split(&self) -> Option<Split> {
        (!self.is_leaf()).then(|| Split {
            feature: self.feature,
            threshold: self.threshold,
            true_child: self.true_child,
            false_child: self.false_child,
            missing: self.missing(),
        })
    }

    /// Where a split sends missing values.
    #[inline]
    fn missing(&self) -> Branch {
        if self.extra & MISSING_TO_FALSE == 0 {
            Branch::True
        } else {
            Branch::False
        }
    }
}

/// One class's weight in a leaf: how many (bootstrap-weighted) training rows of that
/// class reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassWeight {
    /// The class index.
    pub class: u32,
    /// Its weight, > 0.
    pub weight: u32,
}

/// One decision tree: its nodes, root first, and the class weights of its leaves.
///
/// Trees are built node by node: [`Tree::push_split`] and [`Tree::push_leaf`] append a
/// node and return its index, [`Tree::link`] sets a split's child once it exists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    nodes: Vec<Node>,
    /// The leaves' class weights, leaf after leaf in node order, classes ascending.
    weights: Vec<ClassWeight>,
}

impl Tree {
    /// Appends a split node on `feature` with no children yet; returns its index. Until
    /// both children are linked it reads as an invalid leaf, which validation refuses.
    pub fn push_split(&mut self, feature: u32, threshold: f64, missing: Branch) -> u32 {
        let extra = match missing {
            Branch::True => 0,
            Branch::False => MISSING_TO_FALSE,
        };
        self.push(Node {
            threshold,
            feature,
            true_child: 0,
            false_child: 0,
            extra,
        })
    }

    /// Appends a leaf with these `(class, weight)` pairs (zero weights are dropped;
    /// classes must ascend); returns its index.
    pub fn push_leaf(&mut self, weights: impl IntoIterator<Item = (u32, u32)>) -> u32 {
        let first = self.weights.len() as u32;
        let nonzero = weights.into_iter().filter(|&(_, w)| w > 0);
        self.weights
            .extend(nonzero.map(|(class, weight)| ClassWeight { class, weight }));
        let node = Node::leaf(first, self.weights.len() as u32);
        self.push(node)
    }

    /// Sets the `side` child of the split at `parent` to `child`.
    ///
    /// # Panics
    /// If `parent` is not a node of this tree.
    pub fn link(&mut self, parent: u32, side: Branch, child: u32) {
        let node = &mut self.nodes[parent as usize];
        match side {
            Branch::True => node.true_child = child,
            Branch::False => node.false_child = child,
        }
    }

    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// Releases the spare capacity left by growing the tree.
    pub fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.weights.shrink_to_fit();
    }

    /// The nodes, root first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The class weights of a leaf of this tree (empty for a split node).
    pub fn leaf_weights(&self, leaf: &Node) -> &[ClassWeight] {
        if !leaf.is_leaf() {
            return &[];
        }
        self.weights
            .get(leaf.false_child as usize..leaf.extra as usize)
            .unwrap_or(&[])
    }
}

/// A forest over `n_features` numeric inputs and `n_classes` classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    n_features: u32,
    n_classes: u32,
    /// Decoded within [`MAX_NODES`] and [`MAX_CLASS_WEIGHTS`], counted as they come: a
    /// hostile file is refused before it is all in memory.
    #[serde(deserialize_with = "encoding::trees_within_limits")]
    trees: Vec<Tree>,
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
