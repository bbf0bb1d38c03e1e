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
