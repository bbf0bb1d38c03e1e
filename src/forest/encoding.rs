//! The serialised form of a tree: compact, deterministic CBOR.
//!
//! A tree is an array of nodes, root first; each node is an array of integers, never a
//! map with field names (a forest has millions of nodes):
//! * a split is `[true_child - index, false_child - index, feature * 2 + missing,
//!   threshold]`, where `missing` is 1 when missing values go to the false child
//!   ([`feature_code`]).
//!   Children come after their parent, so the offsets are at least 1, and small in a
//!   depth-first layout: CBOR stores small integers in fewer bytes;
//! * a leaf is `[0, class, weight, class, weight, ...]`: its nonzero class weights as
//!   integers, classes ascending. A pure leaf costs 4 bytes.
//!
//! The first element tells the kinds apart: 0 for a leaf, the true child's offset (≥ 1)
//! for a split. Leaves' probabilities are not stored; prediction normalises the weights.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, SeqAccess, Visitor};
use serde::ser::{self, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ClassWeight, MISSING_TO_FALSE, Node, Tree};

/// Nodes reserved ahead of decoding, at most: a hostile length prefix must not allocate.
const MAX_PREALLOCATED_NODES: usize = 1 << 16;

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.nodes.len()))?;
        for (i, node) in self.nodes.iter().enumerate() {
            if node.is_leaf() {
                seq.serialize_element(&LeafRepr(self.leaf_weights(node)))?;
                continue;
            }
            let offset = |child: u32| {
                (child as usize)
                    .checked_sub(i)
                    .filter(|&d| d > 0)
                    .ok_or_else(|| ser::Error::custom("a child does not follow its parent"))
            };
            let repr = (
                offset(node.true_child)?,
                offset(node.false_child)?,
                feature_code(node),
                node.threshold,
            );
            seq.serialize_element(&repr)?;
        }
        seq.end()
    }
}

/// A split's feature and missing-values route as one integer, `feature * 2 + bit`, bit 1
/// when missing values go to the false child: small feature indices stay one byte
/// whichever way missing values go. (The class a format-1 split carries is not kept.)
fn feature_code(node: &Node) -> u64 {
    u64::from(node.feature) << 1 | u64::from(node.extra >> 31)
}

/// A leaf's class weights as `[0, class, weight, ...]`.
struct LeafRepr<'a>(&'a [ClassWeight]);

impl Serialize for LeafRepr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1 + 2 * self.0.len()))?;
        seq.serialize_element(&0u32)?;
        for w in self.0 {
            seq.serialize_element(&w.class)?;
            seq.serialize_element(&w.weight)?;
        }
        seq.end()
    }
}

/// What a forest being decoded may still take: nodes and class weights, counted down
/// as they come (see [`super::MAX_NODES`] and [`super::MAX_CLASS_WEIGHTS`]).
pub(super) struct Budget {
    max_nodes: usize,
    max_weights: usize,
    nodes: usize,
    weights: usize,
}

impl Budget {
    /// At most `max_nodes` nodes and `max_weights` class weights.
    pub(super) fn new(max_nodes: usize, max_weights: usize) -> Budget {
        Budget {
            max_nodes,
            max_weights,
            nodes: max_nodes,
            weights: max_weights,
        }
    }

    /// The limits a model file has.
    fn full() -> Budget {
        Budget::new(super::MAX_NODES, super::MAX_CLASS_WEIGHTS)
    }
}

/// Decodes a forest's trees within the limits.
pub(super) fn trees_within_limits<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Tree>, D::Error> {
    TreesWithin(Budget::full()).deserialize(deserializer)
}

/// A forest's trees, decoded within one [`Budget`] for all of them.
pub(super) struct TreesWithin(pub(super) Budget);

impl<'de> DeserializeSeed<'de> for TreesWithin {
    type Value = Vec<Tree>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Tree>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TreesWithin {
    type Value = Vec<Tree>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of trees")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Tree>, A::Error> {
        let mut budget = self.0;
        let mut trees = Vec::new();
        while let Some(tree) = seq.next_element_seed(TreeVisitor {
            budget: &mut budget,
        })? {
            trees.push(tree);
        }
        Ok(trees)
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tree, D::Error> {
        deserializer.deserialize_seq(TreeVisitor {
            budget: &mut Budget::full(),
        })
    }
}

struct TreeVisitor<'b> {
    budget: &'b mut Budget,
}

impl<'de> DeserializeSeed<'de> for TreeVisitor<'_> {
    type Value = Tree;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Tree, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TreeVisitor<'_> {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tree (an array of nodes)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut tree = Tree::default();
        let hint = seq.size_hint().unwrap_or(0);
        tree.nodes.reserve(hint.min(MAX_PREALLOCATED_NODES));
        loop {
            let seed = NodeSeed {
                index: tree.nodes.len(),
                weights: &mut tree.weights,
                weights_left: &mut self.budget.weights,
                max_weights: self.budget.max_weights,
            };
            let Some(node) = seq.next_element_seed(seed)? else {
                return Ok(tree);
            };
            self.budget.nodes = self.budget.nodes.checked_sub(1).ok_or_else(|| {
                de::Error::custom(format!(
                    "the forest has more than {} nodes, the limit",
                    self.budget.max_nodes
                ))
            })?;
            tree.nodes.push(node);
        }
    }
}

/// Decodes the node at `index`, appending a leaf's class weights to its tree's.
struct NodeSeed<'t> {
    index: usize,
    weights: &'t mut Vec<ClassWeight>,
    /// Class weights the forest may still take.
    weights_left: &'t mut usize,
    /// All it may take, for the message.
    max_weights: usize,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a node: [0, class, weight, ...] or [true offset, false offset, feature, threshold]",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let first: u32 = next(&mut seq, 0, &self)?;
        if first == 0 {
            return self.leaf(seq);
        }
        let false_offset: u32 = next(&mut seq, 1, &self)?;
        let code: u64 = next(&mut seq, 2, &self)?;
        let feature = u32::try_from(code >> 1)
            .map_err(|_| de::Error::custom("a feature index is out of range"))?;
        let threshold: f64 = next(&mut seq, 3, &self)?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(5, &self));
        }
        let child = |offset: u32| {
            u32::try_from(self.index)
                .ok()
                .and_then(|i| i.checked_add(offset))
                .ok_or_else(|| de::Error::custom("a child index is out of range"))
        };
        Ok(Node {
            threshold,
            feature,
            true_child: child(first)?,
            false_child: child(false_offset)?,
            extra: (code & 1) as u32 * MISSING_TO_FALSE,
        })
    }
}

impl NodeSeed<'_> {
    /// The rest of a leaf: its `(class, weight)` pairs.
    fn leaf<'de, A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let position = |len: usize| {
            u32::try_from(len).map_err(|_| de::Error::custom("a tree has too many class weights"))
        };
        let first = position(self.weights.len())?;
        while let Some(class) = seq.next_element::<u32>()? {
            let weight = seq
                .next_element::<u32>()?
                .ok_or_else(|| de::Error::custom("a leaf's last class has no weight"))?;
            *self.weights_left = self.weights_left.checked_sub(1).ok_or_else(|| {
                de::Error::custom(format!(
                    "the forest has more than {} leaf class weights, the limit",
                    self.max_weights
                ))
            })?;
            self.weights.push(ClassWeight { class, weight });
        }
        let end = position(self.weights.len())?;
        if end == first {
            return Err(de::Error::custom("a leaf has no class weights"));
        }
        Ok(Node::leaf(first, end))
    }
}

/// The next element of a node, which must be there.
fn next<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    position: usize,
    expected: &dyn de::Expected,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(position, expected))
}
