//! The held-out split: every class in the same proportion, deterministically from a seed.
//!
//! ChaCha8 is the generator because its output is fixed by its specification (unlike
//! `SmallRng`'s), so a seed means the same split on every platform and in every release.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::error::TrainError;
use crate::dataset::Dataset;

/// Row indices of each side of the split, each in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Rows to train on.
    pub train: Vec<usize>,
    /// Rows held out for evaluation.
    pub test: Vec<usize>,
}

/// Splits every class in the same proportion, deterministically from `seed`: of a class
/// with `n` rows, `round(n × test_fraction)` are held out, which must leave at least one
/// row on each side. A fraction of 0 holds out nothing: every row trains.
pub fn stratified(data: &Dataset, test_fraction: f64, seed: u64) -> Result<Split, TrainError> {
    if test_fraction == 0.0 {
        return Ok(Split {
            train: (0..data.rows()).collect(),
            test: Vec::new(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); data.classes.len()];
    for (row, &label) in data.labels.iter().enumerate() {
        by_class[label as usize].push(row);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (class, mut rows) in by_class.into_iter().enumerate() {
        let n_test = (rows.len() as f64 * test_fraction).round() as usize;
        if n_test == 0 || n_test >= rows.len() {
            return Err(TrainError::ClassTooSmall {
                path: data.source.display().to_string(),
                class: data.classes[class].clone(),
                count: rows.len(),
                fraction: test_fraction,
                held_out: n_test,
                needed: rows_needed(test_fraction),
            });
        }
        rows.shuffle(&mut rng);
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

/// The smallest class the split accepts at `fraction` (0 < fraction < 1): `n` rows with
/// `1 <= round(n × fraction) <= n - 1`. Both sides only grow with `n`, so every larger
/// class is accepted too; the bound lies near `0.5 / fraction` (the held-out share
/// reaches one row) or `0.5 / (1 - fraction)` (a row is left to train).
fn rows_needed(fraction: f64) -> usize {
    let fits = |n: usize| {
        let held = (n as f64 * fraction).round() as usize;
        held >= 1 && held < n
    };
    let estimate = (0.5 / fraction).max(0.5 / (1.0 - fraction));
    // `as` saturates: a fraction of 1e-300 gives usize::MAX, and the search stops there.
    let from = (estimate as usize).saturating_sub(2).max(1);
    (from..from.saturating_add(8))
        .find(|&n| fits(n))
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let d = Dataset::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
            None,
        )
        .unwrap();
        let s = stratified(&d, 0.2, 42).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (120, 30));
        for class in 0..3 {
            let n = s.test.iter().filter(|&&r| d.labels[r] == class).count();
            assert_eq!(n, 10, "class {class}");
        }
        let mut all: Vec<_> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..150).collect::<Vec<_>>());
        assert_eq!(s, stratified(&d, 0.2, 42).unwrap());
        assert_ne!(s, stratified(&d, 0.2, 43).unwrap());
    }

    #[test]
    fn a_class_too_small_for_both_sides_is_refused() {
        let small = Dataset::parse(
            Path::new("s.csv"),
            b"a,y\n1,p\n2,p\n3,q\n4,q\n5,q\n6,q\n",
            None,
        )
        .unwrap();
        let e = stratified(&small, 0.2, 1).unwrap_err().to_string();
        assert!(e.contains("class 'p' has 2 row(s)"), "{e}");
        // The real rule: 2 x 0.2 rounds to 0 held-out rows; 3 rows are needed.
        assert!(e.contains("2 x 0.2 rounds to 0"), "{e}");
        assert!(e.contains("at least 3 rows"), "{e}");
        assert!(!e.contains("one training and one test row"), "{e}");
        let all = stratified(&small, 0.0, 1).unwrap();
        assert_eq!((all.train, all.test), ((0..6).collect(), vec![]));
    }

    #[test]
    fn the_rows_a_class_needs_follow_the_rounding() {
        for fraction in [0.2, 0.5, 0.9, 0.01, 0.333, 0.75, 0.999] {
            let min = rows_needed(fraction);
            let fits = |n: usize| {
                let held = (n as f64 * fraction).round() as usize;
                held >= 1 && held < n
            };
            assert!(fits(min), "{fraction}: {min}");
            assert!((1..min).all(|n| !fits(n)), "{fraction}: {min}");
            assert!((min..min + 1000).all(fits), "{fraction}: {min}");
        }
        assert_eq!(rows_needed(0.2), 3);
        assert_eq!(rows_needed(0.9), 6);
        assert_eq!(rows_needed(0.01), 50);
    }
}
