//! Growing one tree: its bootstrap sample, then nodes depth first.
//!
//! The tree's distinct in-bag rows live in one array of `Sample`s (row, class and
//! weight side by side, so a node reads its classes from its own compact slice rather
//! than from all over the data set); each node owns a contiguous slice of it and
//! partitions it in place between its children. Every buffer is
//! allocated once per worker ([`Workspace`]) and reused by every node and tree, so
//! memory is O(rows + nodes) and a node costs O(rows in it × features tried × log).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::input::{Columns, Sample, Settings};
use super::split::{Context, NodeRows, Splitter};
use crate::forest::{Branch, Tree};

/// A grown tree and what the forest needs from its training.
pub(super) struct Grown {
    pub tree: Tree,
    /// Weighted impurity decrease per feature, summed over the tree's splits.
    pub decrease: Vec<f64>,
    /// Bit `r` is set when row `r` is in the tree's bootstrap sample.
    in_bag: Vec<u64>,
}

impl Grown {
    /// Whether row `row` was drawn into this tree's bootstrap sample.
    pub fn in_bag(&self, row: usize) -> bool {
        self.in_bag[row / 64] & (1 << (row % 64)) != 0
    }
}

/// A node waiting to be grown: its slice of the row array and where it hangs.
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: usize,
    end: usize,
    depth: usize,
    parent: Option<(u32, Branch)>,
    known_constants: usize,
}

/// One worker's buffers, reused for every tree it grows.
pub(super) struct Workspace {
    /// The bootstrap weight (in-bag count) of every row.
    weights: Vec<u32>,
    /// The distinct in-bag rows, ascending within each node; each node owns a slice.
    samples: Vec<Sample>,
    /// Scratch space for [`partition`].
    false_samples: Vec<Sample>,
    /// Weighted class counts of the node being grown.
    totals: Vec<u64>,
    stack: Vec<Frame>,
    splitter: Splitter,
}

impl Workspace {
    pub fn new(data: &Columns) -> Workspace {
        Workspace {
            weights: vec![0; data.n_rows],
            samples: Vec::with_capacity(data.n_rows),
            false_samples: Vec::with_capacity(data.n_rows),
            totals: vec![0; data.n_classes],
            stack: Vec::new(),
            splitter: Splitter::new(data.n_features, data.n_classes),
        }
    }

    /// Grows tree number `index`, from its own random stream: `seed`'s ChaCha8 stream
    /// number `index`, so a tree does not depend on which thread grows it or when.
    pub fn grow(&mut self, data: &Columns, settings: &Settings, index: usize) -> Grown {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        rng.set_stream(index as u64);
        self.bootstrap(data, &mut rng);
        let mut in_bag = vec![0u64; data.n_rows.div_ceil(64)];
        for s in &self.samples {
            in_bag[s.row as usize / 64] |= 1 << (s.row % 64);
        }
        let (tree, decrease) = self.grow_sample(data, settings, &mut rng);
        Grown {
            tree,
            decrease,
            in_bag,
        }
    }

    /// Draws `n_rows` rows with replacement: their counts become the weights, the rows
    /// drawn at least once the sample.
    fn bootstrap(&mut self, data: &Columns, rng: &mut ChaCha8Rng) {
        let n = self.weights.len();
        self.weights.fill(0);
        for _ in 0..n {
            self.weights[rng.random_range(0..n as u32) as usize] += 1;
        }
        self.set_samples(data);
    }

    /// The samples: the rows of nonzero weight, ascending.
    fn set_samples(&mut self, data: &Columns) {
        self.samples.clear();
        for (row, (&weight, &class)) in self.weights.iter().zip(data.labels).enumerate() {
            if weight > 0 {
                let row = row as u32;
                self.samples.push(Sample { row, class, weight });
            }
        }
    }

    /// Grows a tree on every row once, without a bootstrap sample: tests check exact
    /// leaf sizes with it.
    #[cfg(test)]
    pub(super) fn grow_unweighted(
        &mut self,
        data: &Columns,
        settings: &Settings,
        rng: &mut ChaCha8Rng,
    ) -> (Tree, Vec<f64>) {
        self.weights.fill(1);
        self.set_samples(data);
        self.grow_sample(data, settings, rng)
    }

    /// Grows a tree on `self.samples`; returns it
    /// with its per-feature impurity decrease.
    pub(super) fn grow_sample(
        &mut self,
        data: &Columns,
        settings: &Settings,
        rng: &mut ChaCha8Rng,
    ) -> (Tree, Vec<f64>) {
        let mut tree = Tree::default();
        let mut decrease = vec![0.0; data.n_features];
        self.splitter.reset(data.n_features);
        self.stack.clear();
        self.stack.push(Frame {
            start: 0,
            end: self.samples.len(),
            depth: 0,
            parent: None,
            known_constants: 0,
        });
        while let Some(frame) = self.stack.pop() {
            let index = self.grow_node(data, settings, frame, &mut tree, &mut decrease, rng);
            if let Some((parent, side)) = frame.parent {
                tree.link(parent, side, index);
            }
        }
        tree.shrink_to_fit();
        (tree, decrease)
    }

    /// Makes `frame` a leaf or a split (pushing its children); returns its index.
    fn grow_node(
        &mut self,
        data: &Columns,
        settings: &Settings,
        frame: Frame,
        tree: &mut Tree,
        decrease: &mut [f64],
        rng: &mut ChaCha8Rng,
    ) -> u32 {
        let samples = &self.samples[frame.start..frame.end];
        self.totals.fill(0);
        for s in samples {
            self.totals[s.class as usize] += u64::from(s.weight);
        }
        let n = samples.len();
        let pure = self.totals.iter().filter(|&&w| w > 0).count() <= 1;
        let too_deep = settings.max_depth.is_some_and(|d| frame.depth >= d);
        let too_small = n < 2 || n < 2 * settings.min_samples_leaf;
        let split = if pure || too_deep || too_small {
            None
        } else {
            let cx = Context {
                data,
                ranks: settings.ranks,
                features_per_split: settings.features_per_split,
                min_samples_leaf: settings.min_samples_leaf,
            };
            let node = NodeRows {
                samples,
                totals: &self.totals,
            };
            let (best, constants) =
                self.splitter
                    .best_split(&cx, &node, frame.known_constants, rng);
            best.map(|b| (b, constants))
        };
        let Some((best, known_constants)) = split else {
            // Weights are bootstrap counts: at most n_rows ≤ u32::MAX in total.
            let weights = self.totals.iter().enumerate();
            return tree.push_leaf(weights.map(|(c, &w)| (c as u32, w as u32)));
        };
        decrease[best.feature] += best.decrease;
        let index = tree.push_split(best.feature as u32, best.threshold, best.missing);
        let slice = &mut self.samples[frame.start..frame.end];
        let sides = self.splitter.sides();
        let mid = frame.start + partition(slice, &mut self.false_samples, sides);
        let child = |start, end, side| Frame {
            start,
            end,
            depth: frame.depth + 1,
            parent: Some((index, side)),
            known_constants,
        };
        // The true child pops first: nodes are numbered depth first, true side first.
        self.stack.push(child(mid, frame.end, Branch::False));
        self.stack.push(child(frame.start, mid, Branch::True));
        index
    }
}

/// Moves the samples whose `sides` entry is true to the front, keeping the order of
/// each side (`false_samples` is scratch space); returns how many go true.
///
/// Rows stay ascending within every node, so reads indexed by row walk memory forward
/// and the radix sort's stability gives the keys' order.
fn partition(samples: &mut [Sample], false_samples: &mut Vec<Sample>, sides: &[bool]) -> usize {
    false_samples.clear();
    let mut n_true = 0;
    for i in 0..samples.len() {
        let s = samples[i];
        if sides[i] {
            samples[n_true] = s;
            n_true += 1;
        } else {
            false_samples.push(s);
        }
    }
    samples[n_true..].copy_from_slice(false_samples);
    n_true
}
