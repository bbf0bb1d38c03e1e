//! Growing one tree: its bootstrap sample, then nodes depth first.
//!
//! The tree's distinct in-bag rows live in one array of [`Sample`]s; each node owns a
//! contiguous slice of it and partitions it in place between its children. Every buffer
//! is allocated once per worker ([`Workspace`]) and reused by every node and tree, so
//! memory is O(rows + nodes) and a node costs O(rows in it × features tried) plus the
//! sorting of its values.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::input::{Columns, Kind, Sample, Settings};
use super::ranks::{LocalRanks, partition_by};
use super::split::{Best, Context, NodeRows, Splitter};
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
    /// The tree's distinct kinds, and the index of each.
    kinds: Vec<Kind>,
    kind_ids: HashMap<Kind, u32>,
    /// Scratch space for partitioning samples.
    false_samples: Vec<Sample>,
    /// The samples' ranks, partitioned with them.
    local_ranks: LocalRanks,
    /// Weighted class counts of the node being grown.
    totals: Vec<u64>,
    stack: Vec<Frame>,
    splitter: Splitter,
}

impl Workspace {
    pub fn new(data: &Columns, settings: &Settings) -> Workspace {
        Workspace {
            weights: vec![0; data.n_rows],
            samples: Vec::with_capacity(data.n_rows),
            kinds: Vec::new(),
            kind_ids: HashMap::new(),
            false_samples: Vec::with_capacity(data.n_rows),
            local_ranks: LocalRanks::new(data, settings.features_per_split),
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

    /// The samples: the rows of nonzero weight, ascending; kinds numbered in order of
    /// appearance.
    fn set_samples(&mut self, data: &Columns) {
        self.samples.clear();
        self.kinds.clear();
        self.kind_ids.clear();
        for (row, (&weight, &class)) in self.weights.iter().zip(data.labels).enumerate() {
            if weight > 0 {
                let kind = Kind { class, weight };
                let next = self.kinds.len() as u32;
                let id = *self.kind_ids.entry(kind).or_insert(next);
                if id == next {
                    self.kinds.push(kind);
                }
                self.samples.push(Sample {
                    row: row as u32,
                    kind: id,
                });
            }
        }
    }

    /// Reads the shared ranks only, as for data too wide to copy ranks per worker.
    #[cfg(test)]
    pub(super) fn without_local_ranks(mut self) -> Workspace {
        self.local_ranks.disable();
        self
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
        self.local_ranks
            .fill(settings.ranks, data.n_rows, &self.samples);
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
        let Some((best, known_constants)) = self.find_split(data, settings, frame, rng) else {
            // Weights are bootstrap counts: at most n_rows ≤ u32::MAX in total.
            let weights = self.totals.iter().enumerate();
            return tree.push_leaf(weights.map(|(c, &w)| (c as u32, w as u32)));
        };
        decrease[best.feature] += best.decrease;
        let index = tree.push_split(best.feature as u32, best.threshold, best.missing);
        self.push_children(frame, index, known_constants);
        index
    }

    /// Counts the node's classes into `totals`; then, unless the node must be a leaf,
    /// searches its best split (with the number of constant features its children know).
    fn find_split(
        &mut self,
        data: &Columns,
        settings: &Settings,
        frame: Frame,
        rng: &mut ChaCha8Rng,
    ) -> Option<(Best, usize)> {
        let samples = &self.samples[frame.start..frame.end];
        self.totals.fill(0);
        for s in samples {
            let kind = self.kinds[s.kind as usize];
            self.totals[kind.class as usize] += u64::from(kind.weight);
        }
        let n = samples.len();
        let pure = self.totals.iter().filter(|&&w| w > 0).count() <= 1;
        let too_deep = settings.max_depth.is_some_and(|d| frame.depth >= d);
        if pure || too_deep || n < 2 || n < 2 * settings.min_samples_leaf {
            return None;
        }
        let cx = Context {
            data,
            features_per_split: settings.features_per_split,
            min_samples_leaf: settings.min_samples_leaf,
        };
        let ranks = self
            .local_ranks
            .node(settings.ranks, data.n_rows, frame.start);
        let node = NodeRows {
            samples,
            kinds: &self.kinds,
            totals: &self.totals,
            ranks,
        };
        let (best, constants) = self
            .splitter
            .best_split(&cx, &node, frame.known_constants, rng);
        best.map(|b| (b, constants))
    }

    /// Partitions the node split at `index` between its children and schedules them.
    fn push_children(&mut self, frame: Frame, index: u32, known_constants: usize) {
        // The partitions are stable: rows stay ascending within every node, so reads
        // indexed by row walk memory forward.
        let slice = &mut self.samples[frame.start..frame.end];
        let sides = self.splitter.sides();
        let mid = frame.start + partition_by(slice, &mut self.false_samples, sides);
        self.local_ranks.partition(frame.start, frame.end, sides);
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
    }
}
