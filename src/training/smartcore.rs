//! The smartcore learner: the only module that names smartcore.
//!
//! smartcore's trained types are not what the crate ships. Its forest is converted into
//! the crate's own [`Forest`] through serde (the only public window into smartcore's
//! trees), and a test checks that both predict identically.

use serde::Serialize;
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use super::TrainError;
use crate::forest::v1::{Node, Tree};
use crate::forest::{Forest, v1};
use crate::model::TrainParams;

/// Fits smartcore's random forest on row-major `x` (`width` columns) and labels `y`.
pub fn fit(
    x: &[f64],
    y: &[u32],
    width: usize,
    n_classes: usize,
    params: &TrainParams,
) -> Result<Forest, TrainError> {
    let learner = |e: &dyn std::fmt::Display| TrainError::Learner(e.to_string());
    let matrix = DenseMatrix::new(y.len(), width, x.to_vec(), false).map_err(|e| learner(&e))?;
    let mut sc_params = RandomForestClassifierParameters::default()
        .with_n_trees(params.trees)
        .with_min_samples_leaf(params.min_samples_leaf)
        .with_seed(params.seed);
    if let Some(depth) = params.max_depth {
        sc_params = sc_params.with_max_depth(depth);
    }
    if let Some(m) = params.features_per_split {
        sc_params = sc_params.with_m(m);
    }
    let learned: RandomForestClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>> =
        RandomForestClassifier::fit(&matrix, &y.to_vec(), sc_params).map_err(|e| learner(&e))?;
    convert(&learned, width, n_classes)
}

/// Converts a trained smartcore forest into ours, through its serde representation.
fn convert<T: Serialize>(
    model: &T,
    n_features: usize,
    n_classes: usize,
) -> Result<Forest, TrainError> {
    let conv = |e: &dyn std::fmt::Display| {
        TrainError::Learner(format!("cannot convert the trained smartcore forest: {e}"))
    };
    let value = ciborium::value::Value::serialized(model).map_err(|e| conv(&e))?;
    let mirror: mirror::Forest = value.deserialized().map_err(|e| conv(&e))?;
    let trees = mirror
        .trees
        .ok_or_else(|| conv(&"the forest has no trees"))?
        .into_iter()
        .map(mirror::Tree::convert)
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| conv(&e))?;
    // A format-1 leaf becomes a one-hot distribution of weight 1: the forest's most
    // probable class is smartcore's majority vote.
    let forest = Forest::from(v1::Forest {
        n_features: n_features as u32,
        n_classes: n_classes as u32,
        trees,
    });
    forest.validate()?;
    Ok(forest)
}

/// Just the fields we read from smartcore 0.7's serde output of
/// `RandomForestClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>`; serde ignores the rest.
mod mirror {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Forest {
        pub trees: Option<Vec<Tree>>,
    }

    #[derive(Deserialize)]
    pub struct Tree {
        nodes: Vec<Node>,
        classes: Vec<u32>,
    }

    #[derive(Deserialize)]
    struct Node {
        output: usize,
        split_feature: usize,
        split_value: Option<f64>,
        true_child: Option<usize>,
        false_child: Option<usize>,
    }

    impl Tree {
        /// Maps tree-local outputs (indices into the tree's classes) to the labels the
        /// forest was trained on, which are our class indices.
        pub fn convert(self) -> Result<super::Tree, String> {
            let to_forest_class = |output: usize| -> Result<u32, String> {
                self.classes
                    .get(output)
                    .copied()
                    .ok_or_else(|| format!("leaf output {output} out of range"))
            };
            let nodes = self
                .nodes
                .iter()
                .map(|n| {
                    let (true_child, false_child) = match (n.true_child, n.false_child) {
                        (Some(t), Some(f)) => (t as u32, f as u32),
                        (None, _) => (0, 0),
                        (Some(_), None) => return Err("node with one child".to_string()),
                    };
                    Ok(super::Node {
                        feature: n.split_feature as u32,
                        threshold: n.split_value.unwrap_or(f64::NAN),
                        true_child,
                        false_child,
                        class: to_forest_class(n.output)?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(super::Tree { nodes })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;
    use std::path::Path;

    #[test]
    fn our_forest_predicts_exactly_like_smartcore() {
        let d = Dataset::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
            None,
        )
        .unwrap();
        let x = DenseMatrix::new(d.rows(), d.width(), d.features.clone(), false).unwrap();
        for seed in [1, 2, 3] {
            let params = RandomForestClassifierParameters::default()
                .with_n_trees(15)
                .with_seed(seed)
                .with_max_depth(3);
            let sc: RandomForestClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>> =
                RandomForestClassifier::fit(&x, &d.labels, params).unwrap();
            let ours = convert(&sc, d.width(), 3).unwrap();
            // The forest goes back to format 1 unchanged: model files keep their bytes.
            assert_eq!(Forest::from(ours.to_v1().unwrap()), ours);
            // Every data row plus a grid that crosses many thresholds.
            let mut rows = d.features.clone();
            for i in 0..400 {
                let v = i as f64 / 50.0;
                rows.extend_from_slice(&[v, 8.0 - v, v * 0.9, v / 3.0]);
            }
            let n = rows.len() / 4;
            let grid = DenseMatrix::new(n, 4, rows.clone(), false).unwrap();
            assert_eq!(
                sc.predict(&grid).unwrap(),
                ours.predict_batch(&rows),
                "seed {seed}"
            );
        }
    }
}
