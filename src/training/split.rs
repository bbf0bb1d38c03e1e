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

/// Splits every class in the same proportion, deterministically from `seed`.
pub fn stratified(data: &Dataset, test_fraction: f64, seed: u64) -> Result<Split, TrainError> {
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
    }
}
