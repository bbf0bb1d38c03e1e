//! Every value's rank within its feature, computed once per fit: nodes then sort
//! integer keys (rank and row packed in a `u64`) instead of floats, and tell distinct
//! values apart by rank.

use rayon::prelude::*;

use super::input::{Columns, Sample};

/// The rank of a missing value (NaN): above every real rank, which is below `n_rows`.
pub(super) const MISSING: u32 = u32::MAX;

/// The dense rank of every value among its feature's values, column-major like the
/// data: equal values (0.0 and -0.0 included) share a rank, and a greater value has a
/// greater rank.
pub(super) fn ranks(data: &Columns) -> Vec<u32> {
    let mut ranks = vec![MISSING; data.values.len()];
    ranks
        .par_chunks_mut(data.n_rows)
        .enumerate()
        .for_each(|(feature, ranks)| rank_column(data.column(feature), ranks));
    ranks
}

fn rank_column(column: &[f64], ranks: &mut [u32]) {
    // (ordered key, row) for every present value, sorted: integers sort fast.
    let mut order: Vec<(u64, u32)> = column
        .iter()
        .enumerate()
        .filter(|(_, x)| !x.is_nan())
        .map(|(row, &x)| (ordered_bits(x), row as u32))
        .collect();
    order.sort_unstable();
    let mut rank = 0;
    for (i, &(key, row)) in order.iter().enumerate() {
        if i > 0 && order[i - 1].0 != key {
            rank += 1;
        }
        ranks[row as usize] = rank;
    }
}

/// The bits of a (non-NaN) value, as an integer that orders like the value. -0.0 and
/// 0.0 get the same key: `<=` cannot tell them apart, so neither may ranks.
fn ordered_bits(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Bytes of ranks a worker may copy for its trees ([`LocalRanks`]); wider data reads
/// the shared ranks through each sample's row instead.
const LOCAL_RANKS_BUDGET: usize = 64 << 20;
/// Copied ranks cost a sequential pass per feature and split; shared ones a scattered
/// read per feature tried. The copy pays while there are at most this many features
/// per feature tried at a split.
const LOCAL_RANKS_MAX_RATIO: usize = 8;

/// A worker's copy of its tree's ranks: feature by feature, in the order of the tree's
/// samples, and partitioned along with them, so that a node reads its ranks as one
/// contiguous run per feature instead of gathering them from all over the data.
pub(super) struct LocalRanks {
    enabled: bool,
    /// `ranks[f * stride + i]`: feature `f`'s rank of sample `i`.
    ranks: Vec<u32>,
    stride: usize,
    scratch: Vec<u32>,
}

/// Where a node reads its samples' ranks.
pub(super) enum NodeRanks<'a> {
    /// `ranks[f * stride + start + i]` is feature `f`'s rank of the node's sample `i`.
    Local {
        ranks: &'a [u32],
        stride: usize,
        start: usize,
    },
    /// The shared ranks, column-major, read through each sample's row.
    Shared { ranks: &'a [u32], n_rows: usize },
}

impl LocalRanks {
    pub fn new(data: &Columns, features_per_split: usize) -> LocalRanks {
        let bytes = data.values.len().saturating_mul(size_of::<u32>());
        let ratio = data.n_features / features_per_split.max(1);
        LocalRanks {
            enabled: bytes <= LOCAL_RANKS_BUDGET && ratio <= LOCAL_RANKS_MAX_RATIO,
            ranks: Vec::new(),
            stride: 0,
            scratch: Vec::new(),
        }
    }

    /// Always reads the shared ranks (tests compare both ways of reading).
    #[cfg(test)]
    pub fn disable(&mut self) {
        self.enabled = false;
    }

    /// Copies the ranks of a new tree's samples from the shared ones.
    pub fn fill(&mut self, shared: &[u32], n_rows: usize, samples: &[Sample]) {
        if !self.enabled {
            return;
        }
        self.ranks.clear();
        self.stride = samples.len();
        for column in shared.chunks_exact(n_rows) {
            self.ranks
                .extend(samples.iter().map(|s| column[s.row as usize]));
        }
    }

    /// Partitions the ranks of the node at `start..end` like its samples.
    pub fn partition(&mut self, start: usize, end: usize, sides: &[bool]) {
        if !self.enabled {
            return;
        }
        for column in self.ranks.chunks_exact_mut(self.stride) {
            partition_by(&mut column[start..end], &mut self.scratch, sides);
        }
    }

    /// The ranks of the node starting at sample `start`.
    pub fn node<'a>(&'a self, shared: &'a [u32], n_rows: usize, start: usize) -> NodeRanks<'a> {
        if self.enabled {
            let (ranks, stride) = (&self.ranks[..], self.stride);
            NodeRanks::Local {
                ranks,
                stride,
                start,
            }
        } else {
            NodeRanks::Shared {
                ranks: shared,
                n_rows,
            }
        }
    }
}

/// Moves the items whose `sides` entry is true to the front, keeping the order of each
/// side (`scratch` is working space); returns how many go true.
///
/// Branch-free: every item is written to both destinations and only the right one's
/// end advances. Sides are as unpredictable as coin flips, and a mispredicted branch
/// per item would cost more than the extra write.
pub(super) fn partition_by<T: Copy + Default>(
    items: &mut [T],
    scratch: &mut Vec<T>,
    sides: &[bool],
) -> usize {
    scratch.clear();
    scratch.resize(items.len(), T::default());
    let (mut n_true, mut n_false) = (0, 0);
    for (i, &side) in sides[..items.len()].iter().enumerate() {
        let item = items[i];
        // n_true ≤ i: the slot was already read.
        items[n_true] = item;
        scratch[n_false] = item;
        n_true += usize::from(side);
        n_false += usize::from(!side);
    }
    items[n_true..].copy_from_slice(&scratch[..n_false]);
    n_true
}
