//! Trees and their nodes: the representation learners build and model files store.

/// The bit of a split's `extra` field that sends missing values to the false child.
pub(super) const MISSING_TO_FALSE: u32 = 1 << 31;

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
    pub(super) threshold: f64,
    pub(super) feature: u32,
    pub(super) true_child: u32,
    pub(super) false_child: u32,
    pub(super) extra: u32,
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
    pub(super) fn leaf(first: u32, end: u32) -> Node {
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
    pub(super) fn missing(&self) -> Branch {
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
    pub(super) nodes: Vec<Node>,
    /// The leaves' class weights, leaf after leaf in node order, classes ascending.
    pub(super) weights: Vec<ClassWeight>,
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
