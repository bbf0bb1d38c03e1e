//! A node's sort keys, `rank << 32 | kind` for each sample whose value is present (see
//! [`super::ranks`] and [`super::grow::Kind`]), and their sorting: by comparison for
//! small nodes, by radix in linear time for large ones.
//!
//! Only the order of ranks matters to the split search: keys of equal rank may come in
//! any order (they are never cut apart).

/// Nodes with fewer keys than this sort by comparison; larger ones by radix.
const RADIX_MIN_LEN: usize = 512;
/// Bits of rank per radix pass: a 2048-bucket histogram fits in the L1 cache.
const RADIX_BITS: u32 = 11;

/// The rank part of a key.
#[inline]
pub(super) fn rank(key: u64) -> u32 {
    (key >> 32) as u32
}

/// The kind part of a key: an index into the tree's kinds.
#[inline]
pub(super) fn kind(key: u64) -> usize {
    key as u32 as usize
}

/// Sorts keys whose ranks lie in `lowest..=highest` by rank (`scratch` is working
/// space).
pub(super) fn sort(keys: &mut Vec<u64>, scratch: &mut Vec<u64>, lowest: u32, highest: u32) {
    if keys.len() < RADIX_MIN_LEN {
        keys.sort_unstable();
    } else {
        radix_sort(keys, scratch, lowest, highest);
    }
}

/// A least-significant-digit radix sort on `rank - lowest`.
pub(super) fn radix_sort(keys: &mut Vec<u64>, scratch: &mut Vec<u64>, lowest: u32, highest: u32) {
    let bits = u32::BITS - (highest - lowest).leading_zeros();
    let mask = (1 << RADIX_BITS) - 1;
    let digit = |key: u64, shift: u32| (((rank(key) - lowest) >> shift) & mask) as usize;
    scratch.resize(keys.len(), 0);
    let mut shift = 0;
    while shift < bits {
        let mut starts = [0usize; 1 << RADIX_BITS];
        for &key in keys.iter() {
            starts[digit(key, shift)] += 1;
        }
        let mut sum = 0;
        for start in starts.iter_mut() {
            (*start, sum) = (sum, sum + *start);
        }
        for &key in keys.iter() {
            let d = digit(key, shift);
            scratch[starts[d]] = key;
            starts[d] += 1;
        }
        std::mem::swap(keys, scratch);
        shift += RADIX_BITS;
    }
}
