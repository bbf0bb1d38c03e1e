//! Format version 1: smartcore's majority-vote forests, before probabilities, learners
//! and missing values. Version-1 files still load, serve and verify: they are read into
//! the current body, and a retrained smartcore model is written back in this layout to
//! compare bytes with the original.

use serde::{Deserialize, Serialize};

use super::body::{DatasetInfo, GoldenRow, MetricsSummary, ModelBody, ModelMetadata};
use crate::forest::v1 as forest_v1;
use crate::params::{Learner, TrainParams};

/// The algorithm version recorded for a version-1 (smartcore) forest.
pub const SMARTCORE_VERSION: u32 = 1;

/// A version-1 body, field for field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Body {
    metadata: Metadata,
    golden: Vec<GoldenRow>,
    forest: forest_v1::Forest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Metadata {
    name: String,
    features: Vec<String>,
    classes: Vec<String>,
    params: Params,
    dataset: DatasetInfo,
    crate_version: String,
    source_revision: Option<String>,
    metrics: Metrics,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Params {
    trees: u16,
    max_depth: Option<u16>,
    min_samples_leaf: usize,
    features_per_split: Option<usize>,
    seed: u64,
    test_fraction: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Metrics {
    train_accuracy: f64,
    test_accuracy: f64,
}

impl From<Body> for ModelBody {
    fn from(b: Body) -> ModelBody {
        let p = b.metadata_params();
        let m = b.metadata;
        ModelBody {
            metadata: ModelMetadata {
                name: m.name,
                features: m.features,
                classes: m.classes,
                params: p,
                learner_version: SMARTCORE_VERSION,
                importances: None,
                dataset: m.dataset,
                test_data: None,
                crate_version: m.crate_version,
                source_revision: m.source_revision,
                metrics: MetricsSummary {
                    train_accuracy: m.metrics.train_accuracy,
                    test_accuracy: m.metrics.test_accuracy,
                    oob_accuracy: None,
                },
            },
            golden: b.golden,
            forest: b.forest.into(),
        }
    }
}

impl Body {
    fn metadata_params(&self) -> TrainParams {
        let p = &self.metadata.params;
        TrainParams {
            learner: Learner::Smartcore,
            trees: p.trees,
            max_depth: p.max_depth,
            min_samples_leaf: p.min_samples_leaf,
            features_per_split: p.features_per_split,
            seed: p.seed,
            test_fraction: p.test_fraction,
            drop: Vec::new(),
        }
    }

    /// The version-1 form of a body, when it has one: a smartcore forest without
    /// anything version 1 cannot say.
    pub fn from_current(b: &ModelBody) -> Option<Body> {
        let (m, p) = (&b.metadata, &b.metadata.params);
        let v2_only = m.importances.is_some() || m.test_data.is_some() || !p.drop.is_empty();
        if p.learner != Learner::Smartcore || v2_only {
            return None;
        }
        Some(Body {
            metadata: Metadata {
                name: m.name.clone(),
                features: m.features.clone(),
                classes: m.classes.clone(),
                params: Params {
                    trees: p.trees,
                    max_depth: p.max_depth,
                    min_samples_leaf: p.min_samples_leaf,
                    features_per_split: p.features_per_split,
                    seed: p.seed,
                    test_fraction: p.test_fraction,
                },
                dataset: m.dataset.clone(),
                crate_version: m.crate_version.clone(),
                source_revision: m.source_revision.clone(),
                metrics: Metrics {
                    train_accuracy: m.metrics.train_accuracy,
                    test_accuracy: m.metrics.test_accuracy,
                },
            },
            golden: b.golden.clone(),
            forest: b.forest.to_v1()?,
        })
    }
}
