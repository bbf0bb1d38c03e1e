//! The crate's own random-forest representation: what the model file stores and what
//! predictions run on.
//!
//! smartcore is the learner, but its trained types are not what we ship. Keeping our own
//! flat, validated trees means that
//! * the model file format does not change when smartcore's internal serde layout does,
//!   and another learner can replace smartcore without touching the server or the CLI;
//! * prediction is a tight loop over one slice of nodes per tree, with no matrix
//!   allocation per request (single-row predictions are the server's hot path);
//! * a file that was tampered with cannot make prediction loop or index out of bounds:
//!   [`Forest::validate`] checks every index once at load time.
//!
//! Conversion from smartcore goes through serde (in `training::smartcore`), the only
//! public window into its trees, and a test checks that both predict identically.

use serde::{Deserialize, Serialize};

/// One node of a decision tree. A leaf has `true_child == 0` (the root, index 0, is
/// never anyone's child, so 0 is free to mean "none").
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

/// Nodes are equal when they are identical bit for bit, as in the model file: a leaf's
/// threshold is NaN (smartcore's leaves have no split value), and with `==` on `f64`
/// NaN != NaN made every forest unequal to itself.
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        (self.feature, self.true_child, self.false_child, self.class)
            == (
                other.feature,
                other.true_child,
                other.false_child,
                other.class,
            )
            && self.threshold.to_bits() == other.threshold.to_bits()
    }
}

/// Nodes are stored as 5-element CBOR arrays instead of maps with field names: a forest
/// of 100 trees has thousands of nodes, and names would triple the file.
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

/// One decision tree: its nodes, root first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes; index 0 is the root and every child comes after its parent.
    pub nodes: Vec<Node>,
}

/// A majority-vote forest over `n_features` numeric inputs and `n_classes` classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    /// Number of features every row must have.
    pub n_features: u32,
    /// Number of classes; predictions are indices below it.
    pub n_classes: u32,
    /// The trees.
    pub trees: Vec<Tree>,
}

/// Why a forest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ForestError {
    /// The structure is inconsistent (corrupt or hand-edited model file).
    #[error("invalid forest: {0}")]
    Invalid(String),
}

impl Forest {
    /// Predicts the class index of one row. `row.len()` must equal `n_features`
    /// (callers check it and report a clear error; here it is only debug-asserted).
    ///
    /// Ties between classes go to the lowest class index, as in smartcore.
    pub fn predict_row(&self, row: &[f64]) -> u32 {
        debug_assert_eq!(row.len(), self.n_features as usize);
        // Most problems have few classes: count votes on the stack then.
        const STACK_CLASSES: usize = 16;
        if self.n_classes as usize <= STACK_CLASSES {
            let mut votes = [0u32; STACK_CLASSES];
            self.vote(row, &mut votes[..self.n_classes as usize])
        } else {
            let mut votes = vec![0u32; self.n_classes as usize];
            self.vote(row, &mut votes)
        }
    }

    /// Predicts every row of a row-major matrix of `n_features` columns.
    pub fn predict_batch(&self, rows: &[f64]) -> Vec<u32> {
        rows.chunks_exact(self.n_features as usize)
            .map(|r| self.predict_row(r))
            .collect()
    }

    fn vote(&self, row: &[f64], votes: &mut [u32]) -> u32 {
        for tree in &self.trees {
            votes[tree.leaf_class(row) as usize] += 1;
        }
        let mut best = 0;
        for (class, &count) in votes.iter().enumerate().skip(1) {
            if count > votes[best] {
                best = class;
            }
        }
        best as u32
    }

    /// Checks every index so that prediction can neither loop nor go out of bounds.
    pub fn validate(&self) -> Result<(), ForestError> {
        let invalid = |msg: String| Err(ForestError::Invalid(msg));
        if self.n_features == 0 || self.n_classes == 0 || self.trees.is_empty() {
            return invalid("the forest needs at least one feature, one class and one tree".into());
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return invalid(format!("tree {t} has no nodes"));
            }
            let len = tree.nodes.len();
            for (i, n) in tree.nodes.iter().enumerate() {
                if n.true_child == 0 {
                    if n.class >= self.n_classes {
                        return invalid(format!(
                            "tree {t} node {i} predicts unknown class {}",
                            n.class
                        ));
                    }
                    continue;
                }
                // Children strictly after their parent: walking down always terminates.
                let children_ok = [n.true_child, n.false_child]
                    .iter()
                    .all(|&c| (c as usize) > i && (c as usize) < len);
                if !children_ok || n.feature >= self.n_features {
                    return invalid(format!(
                        "tree {t} node {i} has out-of-range links or feature"
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Tree {
    #[inline]
    fn leaf_class(&self, row: &[f64]) -> u32 {
        let mut node = &self.nodes[0];
        while node.true_child != 0 {
            // `<=` against a NaN threshold is false, exactly like smartcore's
            // `split_value.unwrap_or(NAN)`.
            let next = if row[node.feature as usize] <= node.threshold {
                node.true_child
            } else {
                node.false_child
            };
            node = &self.nodes[next as usize];
        }
        node.class
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(class: u32) -> Node {
        Node {
            feature: 0,
            threshold: 0.0,
            true_child: 0,
            false_child: 0,
            class,
        }
    }

    fn stump(threshold: f64, low: u32, high: u32) -> Tree {
        Tree {
            nodes: vec![
                Node {
                    feature: 0,
                    threshold,
                    true_child: 1,
                    false_child: 2,
                    class: 0,
                },
                leaf(low),
                leaf(high),
            ],
        }
    }

    #[test]
    fn a_forest_equals_itself_with_the_nan_thresholds_of_its_leaves() {
        // smartcore's leaves have no split value; we store NaN. With the derived
        // `PartialEq`, NaN != NaN made every forest unequal to itself, and `mlops verify`
        // reported "100 of 100 trees differ" for a model whose forest was identical.
        let mut tree = stump(1.0, 0, 1);
        tree.nodes[1].threshold = f64::NAN;
        assert_eq!(tree, tree.clone());
        let mut other = tree.clone();
        other.nodes[0].threshold = 1.5;
        assert_ne!(tree, other);
    }

    #[test]
    fn majority_vote_with_ties_to_lowest_class() {
        let f = Forest {
            n_features: 1,
            n_classes: 3,
            trees: vec![stump(1.0, 0, 2), stump(2.0, 1, 2), stump(3.0, 1, 2)],
        };
        f.validate().unwrap();
        assert_eq!(f.predict_row(&[0.5]), 1); // votes 0,1,1
        assert_eq!(f.predict_row(&[1.0]), 1); // `<=` goes to the true child
        assert_eq!(f.predict_row(&[1.5]), 1); // votes 2,1,1 -> 1 wins 2:1
        assert_eq!(f.predict_row(&[2.5]), 2); // votes 2,2,1
        assert_eq!(f.predict_batch(&[0.5, 9.0]), [1, 2]);
        let tie = Forest {
            n_features: 1,
            n_classes: 3,
            trees: vec![stump(1.0, 2, 2), stump(1.0, 1, 1)],
        };
        assert_eq!(tie.predict_row(&[0.0]), 1);
    }

    #[test]
    fn validation_rejects_cycles_and_out_of_range_indices() {
        let mut cyclic = stump(1.0, 0, 1);
        cyclic.nodes[0].false_child = 0;
        cyclic.nodes[0].true_child = 0;
        cyclic.nodes[1] = Node {
            true_child: 1,
            false_child: 2,
            ..leaf(0)
        };
        let f = |t: Tree| Forest {
            n_features: 1,
            n_classes: 2,
            trees: vec![t],
        };
        assert!(f(cyclic).validate().is_err());
        let mut far = stump(1.0, 0, 1);
        far.nodes[0].false_child = 7;
        assert!(f(far).validate().is_err());
        let mut bad_class = stump(1.0, 0, 1);
        bad_class.nodes[2].class = 2;
        assert!(f(bad_class).validate().is_err());
        let mut bad_feature = stump(1.0, 0, 1);
        bad_feature.nodes[0].feature = 1;
        assert!(f(bad_feature).validate().is_err());
        assert!(f(Tree { nodes: vec![] }).validate().is_err());
    }

    #[test]
    fn nodes_serialize_as_compact_arrays() {
        let mut bytes = Vec::new();
        ciborium::into_writer(&leaf(2), &mut bytes).unwrap();
        // 0x85: a CBOR array of 5 items, no field names.
        assert_eq!(bytes[0], 0x85);
        let back: Node = ciborium::from_reader(&bytes[..]).unwrap();
        assert_eq!(back, leaf(2));
    }
}
