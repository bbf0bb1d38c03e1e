use std::path::Path;
use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Data, blobs, encode, no_progress, params};
use crate::dataset::Dataset;
use crate::training::cart::{CartParams, fit};

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
fn iris_held_out_accuracy_is_high() {
    let iris = Dataset::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
        None,
    )
    .unwrap();
    let split = crate::training::split::stratified(&iris, 0.2, 42).unwrap();
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
