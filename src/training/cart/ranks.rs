//! Every value's rank within its feature, computed once per fit: nodes then sort
//! integer keys (rank and row packed in a `u64`) instead of floats, and tell distinct
//! values apart by rank.

use rayon::prelude::*;

use super::input::Columns;

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
