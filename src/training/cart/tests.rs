use std::path::Path;
use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::keys::radix_sort;
use super::split::midpoint;
use super::*;
use crate::dataset::Dataset;
use crate::forest::{Branch, Tree};

/// Owned training data, column-major.
struct Data {
    values: Vec<f64>,
    labels: Vec<u32>,
    n_features: usize,
    n_classes: usize,
}

impl Data {
    /// `rows` rows of `n_features` values and their labels from `row(i)`.
    fn new(
        rows: usize,
        n_features: usize,
        n_classes: usize,
        row: impl FnMut(usize) -> (Vec<f64>, u32),
    ) -> Data {
        let (rows, labels): (Vec<Vec<f64>>, Vec<u32>) = (0..rows).map(row).unzip();
        let values = (0..n_features)
            .flat_map(|f| rows.iter().map(move |r| r[f]))
            .collect();
        Data {
            values,
            labels,
            n_features,
            n_classes,
        }
    }

    fn columns(&self) -> Columns<'_> {
        let n = self.labels.len();
        Columns::new(
            &self.values,
            n,
            self.n_features,
            &self.labels,
            self.n_classes,
        )
    }

    /// Row `i`, row-major.
    fn row(&self, i: usize) -> Vec<f64> {
        let n = self.labels.len();
        (0..self.n_features)
            .map(|f| self.values[f * n + i])
            .collect()
    }

    fn accuracy(&self, forest: &Forest) -> f64 {
        let n = self.labels.len();
        let right = (0..n)
            .filter(|&i| forest.predict_row(&self.row(i)) == self.labels[i])
            .count();
        right as f64 / n as f64
    }
}

/// Overlapping Gaussian-ish classes: class `c` is centred at `c · 0.5` on every feature.
fn blobs(rows: usize, n_features: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Data::new(rows, n_features, 3, |i| {
        let class = (i % 3) as u32;
        let mut noise = || rng.random::<f64>() + rng.random::<f64>() - 1.0;
        let row = (0..n_features)
            .map(|_| f64::from(class) * 0.5 + noise())
            .collect();
        (row, class)
    })
}

fn params(trees: usize) -> CartParams {
    CartParams {
        trees,
        max_depth: None,
        min_samples_leaf: 1,
        features_per_split: 1,
        seed: 42,
        threads: 2,
    }
}

fn no_progress(_: usize) {}

/// One tree on every row with weight 1 (no bootstrap).
fn unweighted_tree(data: &Data, p: &CartParams) -> (Tree, Vec<f64>) {
    let columns = data.columns();
    let ranks = ranks::ranks(&columns);
    let settings = Settings {
        max_depth: p.max_depth,
        min_samples_leaf: p.min_samples_leaf,
        features_per_split: p.features_per_split,
        seed: p.seed,
        ranks: &ranks,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    Workspace::new(&columns).grow_unweighted(&columns, &settings, &mut rng)
}

/// Each node's depth (the root's is 0).
fn depths(tree: &Tree) -> Vec<usize> {
    let mut depth = vec![0; tree.nodes().len()];
    for (i, node) in tree.nodes().iter().enumerate() {
        if let Some(s) = node.split() {
            depth[s.true_child as usize] = depth[i] + 1;
            depth[s.false_child as usize] = depth[i] + 1;
        }
    }
    depth
}

fn encode(forest: &Forest) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(forest, &mut bytes).unwrap();
    bytes
}

#[test]
fn the_forest_is_the_same_for_any_thread_count() {
    let data = blobs(600, 4, 1);
    let fit_with = |threads| {
        let p = CartParams {
            threads,
            features_per_split: 2,
            ..params(12)
        };
        fit(&data.columns(), &p, &no_progress)
    };
    let one = fit_with(1);
    for threads in [1, 2, 8] {
        let other = fit_with(threads);
        assert_eq!(
            encode(&other.forest),
            encode(&one.forest),
            "{threads} threads"
        );
        assert_eq!(other.importances, one.importances);
        assert_eq!(other.oob_accuracy, one.oob_accuracy);
    }
    let reseeded = fit(
        &data.columns(),
        &CartParams {
            seed: 7,
            ..params(12)
        },
        &no_progress,
    );
    assert_ne!(encode(&reseeded.forest), encode(&one.forest));
}

#[test]
fn progress_counts_every_tree_in_order() {
    let data = blobs(90, 2, 2);
    let seen = Mutex::new(Vec::new());
    let record = |done| seen.lock().unwrap().push(done);
    fit(
        &data.columns(),
        &CartParams {
            threads: 4,
            ..params(9)
        },
        &record,
    );
    assert_eq!(*seen.lock().unwrap(), (1..=9).collect::<Vec<_>>());
}

#[test]
fn a_single_class_gives_single_leaf_trees_and_zero_importances() {
    let data = Data::new(20, 2, 2, |i| (vec![i as f64, 1.0], 1));
    let fitted = fit(&data.columns(), &params(5), &no_progress);
    assert_eq!(fitted.forest.n_nodes(), 5);
    assert_eq!(fitted.importances, [0.0, 0.0]);
    assert_eq!(fitted.forest.predict_row(&[3.0, 1.0]), 1);
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
fn a_separable_data_set_is_learned_perfectly() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let data = Data::new(400, 3, 2, |_| {
        let row: Vec<f64> = (0..3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let label = u32::from(row[0] + row[1] > 0.2);
        (row, label)
    });
    let fitted = fit(&data.columns(), &params(30), &no_progress);
    assert_eq!(data.accuracy(&fitted.forest), 1.0);
    assert!(fitted.oob_accuracy.unwrap() > 0.9);
    // The noise feature matters least.
    let imp = &fitted.importances;
    assert!(imp[2] < imp[0] && imp[2] < imp[1], "{imp:?}");
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
fn missing_values_are_routed_to_the_side_that_predicts_them() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // Class 1 rows have feature 0 missing; feature 1 is noise.
    let data = Data::new(300, 2, 2, |i| {
        let x = if i % 3 == 0 {
            f64::NAN
        } else {
            rng.random_range(0.0..1.0)
        };
        (vec![x, rng.random_range(0.0..1.0)], u32::from(i % 3 == 0))
    });
    let fitted = fit(&data.columns(), &params(10), &no_progress);
    assert_eq!(fitted.forest.predict_row(&[f64::NAN, 0.5]), 1);
    assert_eq!(fitted.forest.predict_row(&[0.5, 0.5]), 0);
    assert_eq!(data.accuracy(&fitted.forest), 1.0);
    // An indicator: present (always 1.0) or missing. Not constant: it splits.
    let flag = Data::new(60, 1, 2, |i| {
        let x = if i % 2 == 0 { 1.0 } else { f64::NAN };
        (vec![x], u32::from(x.is_nan()))
    });
    let fitted = fit(&flag.columns(), &params(5), &no_progress);
    assert_eq!(fitted.forest.predict_row(&[f64::NAN]), 1);
    assert_eq!(fitted.forest.predict_row(&[1.0]), 0);
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
fn constant_features_are_never_chosen_and_do_not_use_the_budget() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let data = Data::new(200, 4, 2, |_| {
        let x = rng.random_range(0.0..1.0);
        (vec![3.0, x, f64::NAN, -0.0], u32::from(x > 0.5))
    });
    // One feature per split: if a constant one used up the budget, nodes would stop.
    let fitted = fit(&data.columns(), &params(10), &no_progress);
    for tree in fitted.forest.trees() {
        for node in tree.nodes() {
            if let Some(s) = node.split() {
                assert_eq!(s.feature, 1);
            }
        }
    }
    assert_eq!(fitted.importances, [0.0, 1.0, 0.0, 0.0]);
    assert_eq!(data.accuracy(&fitted.forest), 1.0);
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
fn importances_sum_to_one_and_name_the_informative_feature() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let data = Data::new(600, 5, 3, |_| {
        let row: Vec<f64> = (0..5).map(|_| rng.random_range(0.0..3.0)).collect();
        let label = row[3] as u32;
        (row, label)
    });
    let p = CartParams {
        features_per_split: 2,
        ..params(20)
    };
    let imp = fit(&data.columns(), &p, &no_progress).importances;
    assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{imp:?}");
    let top = imp
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(top, 3, "{imp:?}");
    assert!(imp[3] > 0.8, "{imp:?}");
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
fn iris_held_out_accuracy_is_high() {
    let iris = Dataset::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
        None,
    )
    .unwrap();
    let split = crate::training::stratified_split(&iris, 0.2, 42).unwrap();
    let width = iris.width();
    let train = Data::new(split.train.len(), width, 3, |i| {
        let r = split.train[i];
        (iris.row(r).to_vec(), iris.labels[r])
    });
    let p = CartParams {
        features_per_split: 2,
        ..params(100)
    };
    let fitted = fit(&train.columns(), &p, &no_progress);
    let right = split
        .test
        .iter()
        .filter(|&&r| fitted.forest.predict_row(iris.row(r)) == iris.labels[r])
        .count();
    let accuracy = right as f64 / split.test.len() as f64;
    assert!(accuracy >= 0.9, "{accuracy}");
    assert!(fitted.oob_accuracy.unwrap() >= 0.9);
    // Petal measurements (features 2 and 3) carry most of the information.
    assert!(fitted.importances[2] + fitted.importances[3] > 0.7);
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
fn radix_sort_orders_keys_like_a_comparison_sort() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for (len, lowest, spread) in [(5000, 0, 10), (3000, 1000, 1 << 20), (700, 7, 1), (1, 3, 0)] {
        // Rows ascend, as they do within a node.
        let mut keys: Vec<u64> = (0..len)
            .map(|row| u64::from(lowest + rng.random_range(0..=spread)) << 32 | row)
            .collect();
        let mut expected = keys.clone();
        expected.sort_unstable();
        let highest = (expected.last().unwrap() >> 32) as u32;
        radix_sort(&mut keys, &mut Vec::new(), lowest, highest);
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

#[test]
fn infinite_values_split_like_any_other() {
    let data = Data::new(8, 1, 2, |i| {
        let x = if i < 4 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        (vec![x], u32::from(i >= 4))
    });
    let fitted = fit(&data.columns(), &params(5), &no_progress);
    assert_eq!(fitted.forest.predict_row(&[f64::NEG_INFINITY]), 0);
    assert_eq!(fitted.forest.predict_row(&[f64::INFINITY]), 1);
}
