use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// A split on feature 0 at `threshold` with two leaves of these class weights.
fn stump(threshold: f64, low: &[(u32, u32)], high: &[(u32, u32)], missing: Branch) -> Tree {
    let mut t = Tree::default();
    let root = t.push_split(0, threshold, missing);
    let a = t.push_leaf(low.iter().copied());
    let b = t.push_leaf(high.iter().copied());
    t.link(root, Branch::True, a);
    t.link(root, Branch::False, b);
    t
}

fn forest(n_classes: usize, trees: Vec<Tree>) -> Forest {
    Forest::new(1, n_classes, trees).unwrap()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).unwrap();
    bytes
}

#[test]
fn nodes_stay_small() {
    assert!(std::mem::size_of::<Node>() <= 24);
    assert_eq!(std::mem::size_of::<ClassWeight>(), 8);
}

#[test]
fn probabilities_are_the_mean_of_normalised_leaf_weights() {
    let f = forest(
        3,
        vec![
            stump(1.0, &[(0, 3), (1, 1)], &[(2, 5)], Branch::True),
            stump(2.0, &[(1, 2)], &[(0, 1), (2, 1)], Branch::True),
        ],
    );
    let mut p = [0.0; 3];
    f.predict_proba_row(&[0.5], &mut p);
    assert_eq!(p, [0.375, 0.625, 0.0]); // (0.75 + 0) / 2, (0.25 + 1) / 2
    f.predict_proba_row(&[1.5], &mut p);
    assert_eq!(p, [0.0, 0.5, 0.5]); // a tie: the lowest class wins
    assert_eq!(f.predict_row(&[1.5]), 1);
    f.predict_proba_row(&[3.0], &mut p);
    assert_eq!(p, [0.25, 0.0, 0.75]);
    assert_eq!(f.predict_batch(&[0.5, 1.5, 3.0]), [1, 1, 2]);
    let batch = f.predict_proba_batch(&[0.5, 3.0]);
    assert_eq!(batch, [0.375, 0.625, 0.0, 0.25, 0.0, 0.75]);
}

#[test]
fn missing_values_follow_the_recorded_branch() {
    let to_true = forest(2, vec![stump(1.0, &[(0, 1)], &[(1, 1)], Branch::True)]);
    let to_false = forest(2, vec![stump(1.0, &[(0, 1)], &[(1, 1)], Branch::False)]);
    assert_eq!(to_true.predict_row(&[f64::NAN]), 0);
    assert_eq!(to_false.predict_row(&[f64::NAN]), 1);
    // Values, including infinities, compare as usual.
    assert_eq!(to_false.predict_row(&[f64::NEG_INFINITY]), 0);
    assert_eq!(to_true.predict_row(&[f64::INFINITY]), 1);
    let split = to_false.trees()[0].nodes()[0].split().unwrap();
    assert_eq!((split.feature, split.missing), (0, Branch::False));
}

#[test]
fn many_classes_predict_off_the_stack() {
    let f = forest(40, vec![stump(0.0, &[(39, 2)], &[(17, 1)], Branch::True)]);
    assert_eq!(f.predict_row(&[-1.0]), 39);
    assert_eq!(f.predict_row(&[1.0]), 17);
}

#[test]
fn validation_refuses_bad_links_features_and_leaves() {
    let good = || stump(1.0, &[(0, 1)], &[(1, 2)], Branch::True);
    let check = |t: Tree| {
        Forest::new(1, 2, vec![t])
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let mut cyclic = good();
    cyclic.nodes[1] = Node {
        true_child: 1,
        false_child: 2,
        ..cyclic.nodes[1]
    };
    assert!(check(cyclic).contains("node 1 has out-of-range links"));
    let mut far = good();
    far.nodes[0].false_child = 7;
    assert!(check(far).contains("out-of-range links"));
    let mut feature = good();
    feature.nodes[0].feature = 1;
    assert!(check(feature).contains("out-of-range links or feature"));
    let mut class = good();
    class.weights[1].class = 2;
    assert!(check(class).contains("unknown class 2"));
    let mut zero = good();
    zero.weights[0].weight = 0;
    assert!(check(zero).contains("zero"));
    let mut unordered = stump(1.0, &[(1, 1), (0, 1)], &[(1, 2)], Branch::True);
    assert!(check(unordered.clone()).contains("unordered"));
    unordered.weights[0].class = 0;
    assert!(check(unordered).contains("repeated"));
    let mut range = good();
    range.nodes[2].extra = 9;
    assert!(check(range).contains("out-of-range leaf"));
    let mut empty_leaf = good();
    empty_leaf.nodes[1].extra = 0;
    assert!(check(empty_leaf).contains("out-of-range leaf"));
    let mut unused = good();
    unused.weights.push(ClassWeight {
        class: 0,
        weight: 1,
    });
    assert!(check(unused).contains("no leaf uses"));
    let mut unlinked = Tree::default();
    unlinked.push_split(0, 1.0, Branch::True);
    assert!(check(unlinked).contains("node 0"));
    assert!(check(Tree::default()).contains("no nodes"));
    assert!(Forest::new(1, 2, vec![]).is_err());
    assert!(Forest::new(0, 2, vec![good()]).is_err());
    assert!(Forest::new(1, 2, vec![good()]).is_ok());
}

#[test]
fn a_forest_equals_itself_with_nan_thresholds_and_counts_differing_trees() {
    let a = forest(2, vec![stump(1.0, &[(0, 1)], &[(1, 1)], Branch::True); 3]);
    assert_eq!(a, a.clone());
    let mut b = a.clone();
    b.trees[1].nodes[0].threshold = 1.5;
    assert_ne!(a, b);
    assert_eq!(a.trees_differing_from(&b), 1);
    b.trees.pop();
    assert_eq!(a.trees_differing_from(&b), 2);
    assert_eq!(b.trees_differing_from(&a), 2);
    assert_eq!(
        (a.n_trees(), a.n_nodes(), a.n_features(), a.n_classes()),
        (3, 9, 1, 2)
    );
}

#[test]
fn encoding_is_compact_and_round_trips() {
    let tree = stump(0.5, &[(0, 1), (2, 300)], &[(1, 2)], Branch::False);
    let bytes = encode(&tree);
    // [[1, 2, feature 0 * 2 + 1 (missing to false), 0.5 as f16], [0, 0, 1, 2, 300], [0, 1, 2]]
    let expected = [
        &[0x83, 0x84, 0x01, 0x02, 0x01, 0xf9, 0x38, 0x00][..],
        &[0x85, 0x00, 0x00, 0x01, 0x02, 0x19, 0x01, 0x2c],
        &[0x83, 0x00, 0x01, 0x02],
    ]
    .concat();
    assert_eq!(bytes, expected);
    let back: Tree = ciborium::from_reader(&bytes[..]).unwrap();
    assert_eq!(back, tree);
    let f = forest(3, vec![tree.clone(), tree]);
    let bytes = encode(&f);
    let back: Forest = ciborium::from_reader(&bytes[..]).unwrap();
    back.validate().unwrap();
    assert_eq!(back, f);
    assert_eq!(encode(&back), bytes);
}

#[test]
fn decoding_refuses_malformed_nodes_without_panicking() {
    let decode = |value: ciborium::Value| -> Result<Tree, String> {
        value.deserialized().map_err(|e| e.to_string())
    };
    let v = |items: Vec<ciborium::Value>| ciborium::Value::Array(items);
    let i = |n: u64| ciborium::Value::from(n);
    let leaf = v(vec![i(0), i(0), i(1)]);
    assert!(
        decode(v(vec![
            v(vec![i(1), i(2), i(0), 0.5.into()]),
            leaf.clone(),
            leaf.clone()
        ]))
        .is_ok()
    );
    let bad = [
        v(vec![v(vec![i(0), i(0)])]),       // class without a weight
        v(vec![v(vec![i(0)])]),             // no class weights
        v(vec![v(vec![i(1), i(2), i(0)])]), // split without threshold
        v(vec![v(vec![i(1), i(2), i(0), 0.5.into(), i(9)])]), // extra element
        v(vec![v(vec![
            i(u64::from(u32::MAX)),
            i(1),
            i(0),
            0.5.into(),
        ])]), // offset past u32
        v(vec![v(vec![])]),
        v(vec![i(3)]),
    ];
    for value in bad {
        let shown = format!("{value:?}");
        // Decoding succeeds only for the overflowing offset at index 0, which validation
        // then refuses.
        if let Ok(tree) = decode(value) {
            assert!(Forest::new(1, 1, vec![tree]).is_err(), "{shown}");
        }
    }
    let mut overflow = Vec::new();
    ciborium::into_writer(
        &v(vec![
            leaf.clone(),
            v(vec![i(u64::from(u32::MAX)), i(1), i(0), 0.5.into()]),
        ]),
        &mut overflow,
    )
    .unwrap();
    assert!(ciborium::from_reader::<Tree, _>(&overflow[..]).is_err());
}

/// A random format-1 forest laid out like smartcore's: children in pairs, breadth
/// first; leaves keep the feature and threshold a split search left in them, and split
/// nodes a majority class.
fn random_v1(rng: &mut ChaCha8Rng, n_features: u32, n_classes: u32, trees: usize) -> v1::Forest {
    let mut out = Vec::new();
    for _ in 0..trees {
        let mut nodes = vec![];
        let mut queue = std::collections::VecDeque::from([(0usize, 0u32)]);
        nodes.push(None);
        while let Some((index, depth)) = queue.pop_front() {
            let feature = rng.random_range(0..n_features);
            let threshold = if rng.random_bool(0.5) {
                f64::NAN
            } else {
                rng.random_range(-2.0..2.0)
            };
            let class = rng.random_range(0..n_classes);
            let mut node = v1::Node {
                feature,
                threshold,
                true_child: 0,
                false_child: 0,
                class,
            };
            if depth < 5 && rng.random_bool(0.7) {
                node.threshold = rng.random_range(-2.0..2.0);
                node.true_child = nodes.len() as u32;
                node.false_child = nodes.len() as u32 + 1;
                queue.push_back((nodes.len(), depth + 1));
                queue.push_back((nodes.len() + 1, depth + 1));
                nodes.extend([None, None]);
            }
            nodes[index] = Some(node);
        }
        out.push(v1::Tree {
            nodes: nodes.into_iter().map(Option::unwrap).collect(),
        });
    }
    v1::Forest {
        n_features,
        n_classes,
        trees: out,
    }
}

#[test]
fn format_1_round_trips_byte_for_byte_and_predicts_the_majority_vote() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for case in 0..20 {
        let (n_features, n_classes) = (1 + case % 4, 1 + case % 5);
        let original = random_v1(&mut rng, n_features, n_classes, 1 + case as usize);
        let bytes = encode(&original);
        let decoded: v1::Forest = ciborium::from_reader(&bytes[..]).unwrap();
        let forest = Forest::from(decoded);
        forest.validate().unwrap();
        let back = forest
            .to_v1()
            .expect("a format-1 forest has a format-1 form");
        assert_eq!(encode(&back), bytes, "case {case}");
        for _ in 0..200 {
            let row: Vec<f64> = (0..n_features)
                .map(|_| rng.random_range(-2.5..2.5))
                .collect();
            assert_eq!(
                forest.predict_row(&row),
                original.vote(&row),
                "case {case} {row:?}"
            );
        }
        // Through the new encoding and back, predictions are unchanged.
        let v2: Forest = ciborium::from_reader(&encode(&forest)[..]).unwrap();
        v2.validate().unwrap();
        let rows: Vec<f64> = (0..50 * n_features)
            .map(|_| rng.random_range(-2.5..2.5))
            .collect();
        assert_eq!(v2.predict_batch(&rows), forest.predict_batch(&rows));
    }
}

#[test]
fn only_format_1_shaped_forests_have_a_format_1_form() {
    let one_hot = forest(2, vec![stump(1.0, &[(0, 1)], &[(1, 1)], Branch::True)]);
    assert!(one_hot.to_v1().is_some());
    let weighted = forest(2, vec![stump(1.0, &[(0, 2)], &[(1, 1)], Branch::True)]);
    assert!(weighted.to_v1().is_none());
    let mixed = forest(
        2,
        vec![stump(1.0, &[(0, 1), (1, 1)], &[(1, 1)], Branch::True)],
    );
    assert!(mixed.to_v1().is_none());
    let routed = forest(2, vec![stump(1.0, &[(0, 1)], &[(1, 1)], Branch::False)]);
    assert!(routed.to_v1().is_none());
}

#[test]
fn format_1_conversion_leaves_invalid_input_for_validation() {
    let leaf = |class| v1::Node {
        feature: 0,
        threshold: f64::NAN,
        true_child: 0,
        false_child: 0,
        class,
    };
    let split = |feature| v1::Node {
        feature,
        threshold: 0.0,
        true_child: 1,
        false_child: 2,
        class: 0,
    };
    let f = |nodes: Vec<v1::Node>| {
        Forest::from(v1::Forest {
            n_features: 1,
            n_classes: 2,
            trees: vec![v1::Tree { nodes }],
        })
    };
    assert!(f(vec![split(0), leaf(0), leaf(1)]).validate().is_ok());
    assert!(f(vec![split(0), leaf(0), leaf(2)]).validate().is_err());
    assert!(
        f(vec![split(1 << 31), leaf(0), leaf(1)])
            .validate()
            .is_err()
    );
    assert!(f(vec![split(1), leaf(0), leaf(1)]).validate().is_err());
    assert!(f(vec![split(0), leaf(0)]).validate().is_err());
}

#[test]
fn the_flat_walk_agrees_with_the_tree_walk_on_rows_without_missing_values() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let forest = Forest::from(random_v1(&mut rng, 3, 4, 30));
    // Route missing values both ways: only NaN rows may notice.
    let mut routed = forest.clone();
    for tree in &mut routed.trees {
        for node in tree.nodes.iter_mut().filter(|n| !n.is_leaf()) {
            if rng.random_bool(0.5) {
                node.extra |= MISSING_TO_FALSE;
            }
        }
    }
    routed.validate().unwrap();
    for _ in 0..500 {
        let row: Vec<f64> = (0..3).map(|_| rng.random_range(-2.5..2.5)).collect();
        let flat = routed.flat();
        for (root, tree) in flat.roots().zip(&routed.trees) {
            let by = |add: &dyn Fn(&mut [u32], &mut [f64])| {
                let (mut votes, mut out) = (vec![0; 4], vec![0.0; 4]);
                add(&mut votes, &mut out);
                (votes, out)
            };
            let walked = by(&|v, o| tree.add_leaf(tree.leaf_by(|f| row[f]), v, o));
            let flat_walked = by(&|v, o| flat::add_leaf(tree, flat.leaf(root, &row), v, o));
            assert_eq!(walked, flat_walked);
        }
        assert_eq!(routed.predict_row(&row), forest.predict_row(&row));
    }
}

#[test]
fn decoding_counts_nodes_and_class_weights_against_the_limits() {
    use super::encoding::{Budget, TreesWithin};
    use serde::de::DeserializeSeed;
    /// Trees decoded within `N` nodes and `W` class weights.
    #[derive(Debug)]
    struct Within<const N: usize, const W: usize>(Vec<Tree>);
    impl<'de, const N: usize, const W: usize> Deserialize<'de> for Within<N, W> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            TreesWithin(Budget::new(N, W)).deserialize(d).map(Within)
        }
    }
    fn decode<const N: usize, const W: usize>(trees: &[Tree]) -> Result<Vec<Tree>, String> {
        ciborium::from_reader::<Within<N, W>, _>(&encode(&trees)[..])
            .map(|w| w.0)
            .map_err(|e| format!("{e:?}"))
    }
    // Four nodes over two trees, five class weights over three leaves.
    let trees = [
        stump(0.5, &[(0, 1), (1, 2), (2, 1)], &[(1, 1)], Branch::True),
        {
            let mut t = Tree::default();
            t.push_leaf([(0, 1)]);
            t
        },
    ];
    let trees = &trees[..];
    assert_eq!(decode::<4, 5>(trees).unwrap(), trees);
    let err = decode::<3, 5>(trees).unwrap_err();
    assert!(err.contains("more than 3 nodes, the limit"), "{err}");
    let err = decode::<4, 4>(trees).unwrap_err();
    assert!(
        err.contains("more than 4 leaf class weights, the limit"),
        "{err}"
    );
}

/// A chain `depth` splits deep, with a mixed leaf at the bottom: split `i` sends
/// `x <= i` to a leaf of class `i % 3` and the rest further down.
fn chain(depth: u32) -> Tree {
    let mut t = Tree::default();
    let mut parent = t.push_split(0, 0.0, Branch::True);
    for i in 0..depth {
        let leaf = t.push_leaf([(i % 3, 1)]);
        t.link(parent, Branch::True, leaf);
        let next = if i + 1 == depth {
            t.push_leaf([(0, 1), (2, 3)])
        } else {
            t.push_split(0, f64::from(i + 1), Branch::True)
        };
        t.link(parent, Branch::False, next);
        parent = next;
    }
    t
}

#[test]
fn deep_trees_are_walked_to_their_leaves() {
    let f = forest(
        3,
        vec![chain(40), stump(20.0, &[(1, 1)], &[(2, 1)], Branch::True)],
    );
    for x in [-1.0, 0.5, 10.5, 23.5, 24.5, 30.5, 39.5, 100.0] {
        let walked: Vec<f64> = f
            .trees()
            .iter()
            .flat_map(|t| {
                let mut p = [0.0; 3];
                t.add_distribution(t.leaf_by(|_| x), &mut p);
                p
            })
            .collect();
        let mut expected = [0.0; 3];
        for (c, p) in walked.iter().enumerate() {
            expected[c % 3] += p / 2.0;
        }
        let mut p = [0.0; 3];
        f.predict_proba_row(&[x], &mut p);
        assert_eq!(p, expected, "x = {x}");
        assert_eq!(f.predict_proba_batch(&[x]), expected, "x = {x}");
    }
}
