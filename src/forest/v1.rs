//! Format 1: the forest as model files of format version 1 store it, byte for byte.
//!
//! A format-1 forest is `{ n_features, n_classes, trees: [ { nodes: [node, ...] } ] }`
//! with each node a 5-element array `(feature, threshold, true_child, false_child,
//! class)`. A leaf has `true_child == 0` and predicts its `class`; the forest predicts
//! by majority vote, ties to the lowest class. smartcore also records, in leaves and
//! split nodes alike, a feature, a threshold and a class the vote never reads; they are
//! kept so that the bytes survive a round trip.
//!
//! Converting to [`super::Forest`] turns each leaf into a one-hot distribution of weight
//! 1, so the mean of the trees' distributions ranks classes exactly like the vote.
//! Format 1 has no missing values: its splits send NaN to the true child here. Format-1
//! models (smartcore's) were never trained with missing values, so callers refuse rows
//! with missing values for them.

use serde::{Deserialize, Serialize};

use super::{Branch, ClassWeight, MISSING_TO_FALSE};

/// One format-1 node. A leaf has `true_child == 0`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(from = "NodeRepr", into = "NodeRepr")]
pub struct Node {
    /// Feature index tested at this node.
    pub feature: u32,
    /// Go to `true_child` when `row[feature] <= threshold`, else to `false_child`.
    pub threshold: f64,
    /// Next node when the test holds; 0 for a leaf.
    pub true_child: u32,
    /// Next node when it does not.
    pub false_child: u32,
    /// The class predicted by a leaf (index into the forest's classes).
    pub class: u32,
}

/// Nodes are equal when they are identical bit for bit, as in the model file (leaves'
/// thresholds are NaN, and NaN != NaN with `==` on `f64`).
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        let fields = |n: &Node| {
            let bits = n.threshold.to_bits();
            (n.feature, bits, n.true_child, n.false_child, n.class)
        };
        fields(self) == fields(other)
    }
}

/// Nodes are 5-element CBOR arrays, not maps with field names.
type NodeRepr = (u32, f64, u32, u32, u32);

impl From<NodeRepr> for Node {
    fn from((feature, threshold, true_child, false_child, class): NodeRepr) -> Self {
        Node {
            feature,
            threshold,
            true_child,
            false_child,
            class,
        }
    }
}

impl From<Node> for NodeRepr {
    fn from(n: Node) -> Self {
        (n.feature, n.threshold, n.true_child, n.false_child, n.class)
    }
}

/// One format-1 tree: its nodes, root first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes; index 0 is the root.
    pub nodes: Vec<Node>,
}

/// A format-1 forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    /// Number of features every row must have.
    pub n_features: u32,
    /// Number of classes.
    pub n_classes: u32,
    /// The trees.
    pub trees: Vec<Tree>,
}

/// Converts without checking; run [`super::Forest::validate`] on the result. (A split's
/// class shares its field with the missing-values bit: a tampered class ≥ 2³¹ would
/// send missing values to the false child, and [`super::Forest::to_v1`] then declines.)
impl Forest {
    /// Format 1's own prediction: each tree votes for its leaf's class, ties go to the
    /// lowest class, and a NaN compares false. The reference a converted forest is
    /// tested against (it must predict the same), and a baseline for benchmarks.
    pub fn vote(&self, row: &[f64]) -> u32 {
        let mut votes = vec![0u32; self.n_classes as usize];
        for tree in &self.trees {
            let mut node = &tree.nodes[0];
            while node.true_child != 0 {
                let next = if row[node.feature as usize] <= node.threshold {
                    node.true_child
                } else {
                    node.false_child
                };
                node = &tree.nodes[next as usize];
            }
            if let Some(v) = votes.get_mut(node.class as usize) {
                *v += 1;
            }
        }
        super::argmax(&votes)
    }
}

impl From<Forest> for super::Forest {
    fn from(forest: Forest) -> Self {
        let trees = forest.trees.iter().map(convert_tree).collect();
        super::Forest::from_parts(forest.n_features, forest.n_classes, trees)
    }
}

fn convert_tree(tree: &Tree) -> super::Tree {
    let mut out = super::Tree::default();
    out.nodes.reserve_exact(tree.nodes.len());
    for n in &tree.nodes {
        let index = if n.true_child == 0 {
            out.push_leaf([(n.class, 1)])
        } else {
            let index = out.push_split(n.feature, n.threshold, Branch::True);
            out.link(index, Branch::True, n.true_child);
            out.link(index, Branch::False, n.false_child);
            index
        };
        // The fields the vote never reads, for the way back.
        let node = &mut out.nodes[index as usize];
        if node.is_leaf() {
            node.feature = n.feature;
            node.threshold = n.threshold;
        } else {
            node.extra = n.class;
        }
    }
    out
}

impl super::Forest {
    /// This forest in format 1, when it has a format-1 equivalent: every leaf holds one
    /// class with weight 1 and every split sends missing values to its true child (as
    /// forests converted from format 1 do). `Forest::from(v1).to_v1() == Some(v1)` for
    /// every format-1 forest whose leaves have `false_child == 0` (smartcore's do).
    pub fn to_v1(&self) -> Option<Forest> {
        let trees = self.trees.iter().map(tree_to_v1).collect::<Option<_>>()?;
        Some(Forest {
            n_features: self.n_features,
            n_classes: self.n_classes,
            trees,
        })
    }
}

fn tree_to_v1(tree: &super::Tree) -> Option<Tree> {
    let nodes = tree.nodes.iter().map(|n| {
        if !n.is_leaf() {
            return (n.extra & MISSING_TO_FALSE == 0).then_some(Node {
                feature: n.feature,
                threshold: n.threshold,
                true_child: n.true_child,
                false_child: n.false_child,
                class: n.extra,
            });
        }
        match tree.leaf_weights(n) {
            [ClassWeight { class, weight: 1 }] => Some(Node {
                feature: n.feature,
                threshold: n.threshold,
                true_child: 0,
                false_child: 0,
                class: *class,
            }),
            _ => None,
        }
    });
    Some(Tree {
        nodes: nodes.collect::<Option<_>>()?,
    })
}

/// `#[serde(with = "crate::forest::v1::as_v1")]`: a [`super::Forest`] field stored in
/// format 1. Writing fails for a forest without a format-1 equivalent
/// ([`super::Forest::to_v1`]).
pub mod as_v1 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the forest in format 1.
    pub fn serialize<S: Serializer>(
        forest: &super::super::Forest,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let v1 = forest.to_v1().ok_or_else(|| {
            serde::ser::Error::custom(
                "this forest has leaf distributions or missing-value routes that format 1 cannot store",
            )
        })?;
        v1.serialize(serializer)
    }

    /// Reads a format-1 forest (unchecked: validate it).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<super::super::Forest, D::Error> {
        super::Forest::deserialize(deserializer).map(Into::into)
    }
}
