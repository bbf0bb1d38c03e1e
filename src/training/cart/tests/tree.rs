use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Data, blobs, depths, no_progress, params, unweighted_tree, unweighted_tree_with};
use crate::forest::{Branch, Forest};
use crate::training::cart::keys::{self, radix_sort};
use crate::training::cart::split::midpoint;
use crate::training::cart::{CartParams, fit, ranks};

#[test]
fn copied_and_shared_ranks_grow_the_same_tree() {
    let mut data = blobs(2000, 5, 11);
    // Some missing values, so that every path of the split search runs.
    for v in data.values.iter_mut().step_by(7) {
        *v = f64::NAN;
    }
    let p = CartParams {
        features_per_split: 2,
        ..params(1)
    };
    let (local, _) = unweighted_tree_with(&data, &p, true);
    let (shared, _) = unweighted_tree_with(&data, &p, false);
    assert!(local.nodes().len() > 100);
    assert_eq!(local, shared);
}

#[test]
fn leaves_are_pure_or_unsplittable_and_pure_nodes_are_leaves() {
    let data = blobs(300, 2, 3);
    let (tree, _) = unweighted_tree(&data, &params(1));
    for node in tree.nodes() {
        if node.is_leaf() {
            // Continuous features: every leaf can be split until it is pure.
            assert_eq!(tree.leaf_weights(node).len(), 1);
        }
    }
    // A pure node is not split further: the leaf count equals the class changes seen by
    // a 1-feature tree along the sorted axis.
    let step = Data::new(10, 1, 2, |i| (vec![i as f64], u32::from(i >= 4)));
    let (tree, _) = unweighted_tree(&step, &params(1));
    assert_eq!(tree.nodes().len(), 3);
    assert_eq!(tree.nodes()[0].split().unwrap().threshold, 3.5);
}

#[test]
fn min_samples_leaf_and_max_depth_hold() {
    let data = blobs(500, 3, 4);
    for min_leaf in [1, 5, 40] {
        let p = CartParams {
            min_samples_leaf: min_leaf,
            ..params(1)
        };
        let (tree, _) = unweighted_tree(&data, &p);
        for node in tree.nodes().iter().filter(|n| n.is_leaf()) {
            let rows: u32 = tree.leaf_weights(node).iter().map(|w| w.weight).sum();
            assert!(rows as usize >= min_leaf, "{rows} < {min_leaf}");
        }
    }
    for depth in [1, 3, 6] {
        let p = CartParams {
            max_depth: Some(depth),
            ..params(1)
        };
        let (tree, _) = unweighted_tree(&data, &p);
        let deepest = depths(&tree).into_iter().max().unwrap();
        assert_eq!(deepest, depth, "grown to the limit on noisy data");
        let fitted = fit(&data.columns(), &CartParams { trees: 5, ..p }, &no_progress);
        for tree in fitted.forest.trees() {
            assert!(depths(tree).into_iter().max().unwrap() <= depth);
        }
    }
}

#[test]
fn xor_is_learned_through_splits_that_do_not_lower_impurity() {
    let corners = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let data = Data::new(40, 2, 2, |i| {
        let [x, y] = corners[i % 4];
        (vec![x, y], u32::from(x != y))
    });
    let (tree, _) = unweighted_tree(&data, &params(1));
    assert_eq!(tree.nodes().len(), 7);
    let forest = Forest::new(2, 2, vec![tree]).unwrap();
    assert_eq!(data.accuracy(&forest), 1.0);
}

#[test]
fn without_missing_values_in_training_they_follow_the_heavier_child() {
    // 3 rows of class 0 below 1.5, 7 of class 1 above: missing goes false (heavier).
    let step = |cut: f64| Data::new(10, 1, 2, |i| (vec![i as f64], u32::from(i as f64 > cut)));
    let (tree, _) = unweighted_tree(&step(2.0), &params(1));
    assert_eq!(tree.nodes()[0].split().unwrap().missing, Branch::False);
    let (tree, _) = unweighted_tree(&step(6.0), &params(1));
    assert_eq!(tree.nodes()[0].split().unwrap().missing, Branch::True);
}

#[test]
fn zeros_of_either_sign_are_one_value() {
    let data = Data::new(10, 1, 2, |i| {
        let x = if i % 2 == 0 { -0.0 } else { 0.0 };
        (vec![x], u32::from(x.is_sign_negative()))
    });
    let (tree, _) = unweighted_tree(&data, &params(1));
    assert_eq!(tree.nodes().len(), 1, "no cut between -0 and 0");
}

#[test]
fn a_stump_decreases_impurity_by_its_weighted_gini() {
    let data = Data::new(4, 1, 2, |i| (vec![i as f64], u32::from(i >= 2)));
    let (tree, decrease) = unweighted_tree(&data, &params(1));
    assert_eq!(tree.nodes().len(), 3);
    // W · gini = 4 · 0.5; both children pure.
    assert_eq!(decrease, [2.0]);
}

#[test]
fn ranks_order_values_and_mark_missing_ones() {
    let data = Data::new(6, 1, 1, |i| {
        let values = [2.5, -0.0, f64::NAN, 0.0, -7.0, 2.5];
        (vec![values[i]], 0)
    });
    let r = ranks::ranks(&data.columns());
    assert_eq!(r, [2, 1, ranks::MISSING, 1, 0, 2]);
}

#[test]
fn radix_sort_orders_keys_by_rank() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for (len, lowest, spread) in [(5000, 0, 10), (3000, 1000, 1 << 20), (700, 7, 1), (1, 3, 0)] {
        let mut keys: Vec<u64> = (0..len)
            .map(|_| {
                u64::from(lowest + rng.random_range(0..=spread)) << 32 | rng.random_range(0..9)
            })
            .collect();
        let mut expected = keys.clone();
        expected.sort_unstable();
        let highest = keys.iter().map(|&k| keys::rank(k)).max().unwrap();
        radix_sort(&mut keys, &mut Vec::new(), lowest, highest);
        assert!(
            keys.windows(2)
                .all(|w| keys::rank(w[0]) <= keys::rank(w[1]))
        );
        keys.sort_unstable(); // the same keys: a permutation
        assert_eq!(keys, expected, "{len} {spread}");
    }
}

#[test]
fn midpoints_stay_between_their_values() {
    assert_eq!(midpoint(1.0, 2.0), 1.5);
    let huge = midpoint(f64::MAX / 2.0, f64::MAX);
    assert!(huge > f64::MAX / 2.0 && huge < f64::MAX, "{huge}");
    assert_eq!(midpoint(-f64::MAX, f64::MAX), 0.0);
    let next = f64::from_bits(1.0f64.to_bits() + 1);
    assert_eq!(midpoint(1.0, next), 1.0);
    assert_eq!(midpoint(1.0, f64::INFINITY), 1.0);
    assert_eq!(midpoint(f64::NEG_INFINITY, 1.0), f64::NEG_INFINITY);
    assert_eq!(
        midpoint(f64::NEG_INFINITY, f64::INFINITY),
        f64::NEG_INFINITY
    );
}
