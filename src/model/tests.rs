//! Unit tests of the model file.

use super::*;
use crate::forest::v1;
use crate::params::TrainParams;

pub(crate) fn tiny_body() -> ModelBody {
    // Leaves carry no threshold: NaN, as the trainers write them.
    let leaf = |class| v1::Node {
        feature: 0,
        threshold: f64::NAN,
        true_child: 0,
        false_child: 0,
        class,
    };
    let root = v1::Node {
        feature: 1,
        threshold: 0.5,
        true_child: 1,
        false_child: 2,
        class: 0,
    };
    ModelBody {
        metadata: ModelMetadata {
            name: "tiny".into(),
            features: vec!["a".into(), "b".into()],
            classes: vec!["no".into(), "yes".into()],
            params: TrainParams::default(),
            learner_version: 1,
            importances: Some(vec![0.25, 0.75]),
            dataset: DatasetInfo {
                file_name: "tiny.csv".into(),
                sha256: "00".repeat(32),
                label: "y".into(),
                rows: 4,
                train_rows: 2,
                test_rows: 2,
            },
            test_data: None,
            crate_version: "0.0.0".into(),
            source_revision: None,
            metrics: MetricsSummary {
                train_accuracy: 1.0,
                test_accuracy: 1.0,
                oob_accuracy: Some(0.5),
            },
        },
        golden: vec![GoldenRow {
            features: vec![0.0, 1.0],
            prediction: 1,
        }],
        forest: Forest::from(v1::Forest {
            n_features: 2,
            n_classes: 2,
            trees: vec![v1::Tree {
                nodes: vec![root, leaf(0), leaf(1)],
            }],
        }),
    }
}

#[test]
fn round_trips_and_is_deterministic() {
    let body = tiny_body();
    let a = Model::encode(&body);
    assert_eq!(a, Model::encode(&body.clone()));
    let m = Model::decode("m", &a).unwrap();
    assert_eq!(m.body, body);
    assert_eq!(m.id, digest_id(&a));
    assert_eq!(m.predict_one(&[9.0, 0.1]), "no");
    assert_eq!(m.predict_one(&[9.0, 0.9]), "yes");
    m.verify_golden().unwrap();
}

#[test]
fn refuses_foreign_newer_and_corrupt_files() {
    let err = |bytes: &[u8]| Model::decode("m", bytes).unwrap_err();
    assert!(matches!(err(b"hello"), ModelError::NotAModel { .. }));
    let reencode = |f: &dyn Fn(&mut Envelope)| {
        let mut env: Envelope = ciborium::from_reader(&Model::encode(&tiny_body())[..]).unwrap();
        f(&mut env);
        let mut out = Vec::new();
        ciborium::into_writer(&env, &mut out).unwrap();
        out
    };
    let foreign = reencode(&|e| e.format = "something-else".into());
    assert!(matches!(err(&foreign), ModelError::NotAModel { .. }));
    let newer = reencode(&|e| e.version = FORMAT_VERSION + 1);
    let msg = err(&newer).to_string();
    assert!(
        msg.contains("version 3") && msg.contains("retrain"),
        "{msg}"
    );
    let flipped = reencode(&|e| {
        let last = e.body.len() - 1;
        e.body[last] ^= 1;
    });
    assert!(matches!(err(&flipped), ModelError::Corrupt { .. }));
}

#[test]
fn golden_rows_catch_a_changed_forest() {
    let mut body = tiny_body();
    body.golden[0].prediction = 0;
    let m = Model::decode("m", &Model::encode(&body)).unwrap();
    assert!(m.verify_golden().unwrap_err().contains("golden row 0"));
}

#[test]
fn a_smartcore_body_is_written_in_format_1_as_it_was() {
    let mut body = tiny_body();
    body.metadata.params.learner = crate::params::Learner::Smartcore;
    body.metadata.importances = None;
    let (_, model) = Model::from_body(body.clone());
    let v1_bytes = model
        .encode_as(1)
        .expect("a smartcore forest has a format-1 form");
    let back = Model::decode("m", &v1_bytes).unwrap();
    assert_eq!(back.format_version(), 1);
    assert_eq!(back.encode_as(1).unwrap(), v1_bytes);
    assert_eq!(back.predict_one(&[9.0, 0.9]), "yes");
    // A cart body has no format-1 form.
    assert!(Model::from_body(tiny_body()).1.encode_as(1).is_none());
}

/// The message `decode` gives for a body, after a valid envelope around it.
fn refusal(body: &ModelBody) -> String {
    Model::decode("m", &Model::encode(body))
        .unwrap_err()
        .to_string()
}

#[test]
fn an_empty_golden_list_is_refused_when_the_model_has_held_out_rows() {
    let mut body = tiny_body();
    body.golden.clear();
    let msg = refusal(&body);
    assert!(
        msg.contains("is corrupt") && msg.contains("2 held-out rows but no golden rows"),
        "{msg}"
    );
    // Without held-out rows there is nothing to replay.
    body.metadata.dataset.test_rows = 0;
    Model::decode("m", &Model::encode(&body)).unwrap();
}

#[test]
fn duplicate_feature_or_class_names_are_refused() {
    let mut body = tiny_body();
    body.metadata.features[1] = "a".into();
    let msg = refusal(&body);
    assert!(
        msg.contains("the feature name 'a' appears more than once"),
        "{msg}"
    );
    let mut body = tiny_body();
    body.metadata.classes = vec!["x\u{1b}".into(), "x\u{1b}".into()];
    let msg = refusal(&body);
    assert!(
        msg.contains(r"the class name 'x\u{1b}' appears more than once"),
        "{msg}"
    );
}

#[test]
fn trailing_bytes_after_the_envelope_or_the_body_are_refused() {
    let mut bytes = Model::encode(&tiny_body());
    let end = bytes.len();
    bytes.push(0);
    let msg = Model::decode("m", &bytes).unwrap_err().to_string();
    assert!(
        msg.contains("not an mlops model file")
            && msg.contains(&format!(
                "1 unexpected byte(s) follow its end at byte {end}"
            )),
        "{msg}"
    );
    // Inside the envelope, with a matching checksum.
    let mut body = Vec::new();
    ciborium::into_writer(&tiny_body(), &mut body).unwrap();
    body.extend_from_slice(b"\x01\x02");
    let envelope = Envelope {
        format: FORMAT_TAG.into(),
        version: FORMAT_VERSION,
        body_sha256: hex::encode(Sha256::digest(&body)),
        body,
    };
    let mut bytes = Vec::new();
    ciborium::into_writer(&envelope, &mut bytes).unwrap();
    let msg = Model::decode("m", &bytes).unwrap_err().to_string();
    assert!(
        msg.contains("is corrupt") && msg.contains("2 unexpected byte(s)"),
        "{msg}"
    );
}

#[test]
fn classes_features_and_nodes_beyond_their_limits_are_refused() {
    use crate::forest::{Forest, MAX_CLASSES, MAX_FEATURES, Tree};
    let leaf_tree = || {
        let mut t = Tree::default();
        t.push_leaf([(0, 1)]);
        t
    };
    let with_forest = |n_features: usize, classes: usize, trees: Vec<Tree>| {
        let mut body = tiny_body();
        body.metadata.features = (0..n_features).map(|i| format!("f{i}")).collect();
        body.metadata.classes = (0..classes).map(|i| format!("c{i}")).collect();
        body.metadata.importances = None;
        body.golden = vec![GoldenRow {
            features: vec![0.0; n_features],
            prediction: 0,
        }];
        body.forest = Forest::from_parts(n_features as u32, classes as u32, trees);
        body
    };
    let msg = refusal(&with_forest(2, MAX_CLASSES + 1, vec![leaf_tree()]));
    assert!(
        msg.contains(&format!(
            "it has {} classes, more than the limit of {MAX_CLASSES}",
            MAX_CLASSES + 1
        )),
        "{msg}"
    );
    let msg = refusal(&with_forest(MAX_FEATURES + 1, 2, vec![leaf_tree()]));
    assert!(msg.contains("features, more than the limit of"), "{msg}");
    // (The node and weight budgets work while decoding; the forest's tests check them
    // with small budgets, as a forest at the limit takes 670 MB.)
    // At the limits' edge, a forest is fine.
    Model::decode(
        "m",
        &Model::encode(&with_forest(2, MAX_CLASSES, vec![leaf_tree()])),
    )
    .unwrap();
}
