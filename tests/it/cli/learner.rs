//! The learners through the command line: the same bytes for any thread count,
//! probabilities, missing values, held-out files, `evaluate`, and version-1 models.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::bin::{fails, mlops, succeeds, train_cmd};
use crate::support::fixture::{iris, train};

/// A deterministic CSV of `rows` rows: 4 features of three overlapping classes, with
/// every `missing_every`-th cell of column `b` empty (0: none). A small linear
/// congruential generator keeps it dependency-free and the same everywhere.
fn synthetic_csv(dir: &Path, name: &str, rows: usize, seed: u64, missing_every: usize) -> PathBuf {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut unit = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("a,b,c,d,label\n");
    for i in 0..rows {
        let class = i % 3;
        let mut cells = Vec::new();
        for f in 0..4 {
            let noise = unit() + unit() + unit() - 1.5;
            cells.push(format!(
                "{:.4}",
                class as f64 * (0.5 + f as f64 * 0.2) + noise
            ));
        }
        if missing_every > 0 && i % missing_every == 0 {
            cells[1].clear();
        }
        writeln!(csv, "{},k{class}", cells.join(",")).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, csv).unwrap();
    path
}

fn metrics(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn the_model_is_byte_identical_for_any_thread_count_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synthetic_csv(tmp.path(), "big.csv", 3000, 7, 17);
    let mut models = Vec::new();
    for threads in ["1", "2", "8"] {
        let out = tmp.path().join(format!("t{threads}"));
        train(
            &data,
            &out,
            &["--threads", threads, "--trees", "24", "--quiet"],
        );
        models.push(std::fs::read(out.join("model.cbor")).unwrap());
    }
    assert!(
        models.windows(2).all(|w| w[0] == w[1]),
        "thread counts changed the bytes"
    );
    let model = tmp.path().join("t2/model.cbor");
    let said = succeeds(mlops().arg("verify").arg(&model).arg("--data").arg(&data));
    assert!(said.contains("OK: identical bytes"), "{said}");
}

#[test]
fn metrics_report_importances_out_of_bag_accuracy_and_log_loss() {
    let tmp = tempfile::tempdir().unwrap();
    train(&iris(), tmp.path(), &["--quiet"]);
    let m = metrics(tmp.path());
    let importances = m["feature_importances"].as_array().unwrap();
    let total: f64 = importances
        .iter()
        .map(|i| i["importance"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{m}");
    // Petal measurements separate Iris: one of them ranks first.
    assert!(
        importances[0]["feature"]
            .as_str()
            .unwrap()
            .starts_with("petal"),
        "{m}"
    );
    assert!(m["oob_accuracy"].as_f64().unwrap() > 0.85, "{m}");
    assert!(m["test_log_loss"].as_f64().unwrap() > 0.0, "{m}");
    let shown = succeeds(mlops().arg("inspect").arg(tmp.path().join("model.cbor")));
    assert!(
        shown.contains("learner     cart") && shown.contains("importance"),
        "{shown}"
    );
}

#[test]
fn both_learners_reach_held_out_accuracy_within_two_points() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synthetic_csv(tmp.path(), "train.csv", 2400, 3, 0);
    let test = synthetic_csv(tmp.path(), "test.csv", 1200, 4, 0);
    let mut accuracy = Vec::new();
    for learner in ["cart", "smartcore"] {
        let out = tmp.path().join(learner);
        let extra = [
            "--learner",
            learner,
            "--test-data",
            test.to_str().unwrap(),
            "--quiet",
        ];
        train(&data, &out, &extra);
        accuracy.push(metrics(&out)["test_accuracy"].as_f64().unwrap());
    }
    assert!((accuracy[0] - accuracy[1]).abs() <= 0.02, "{accuracy:?}");
    assert!(accuracy[0] > 0.6, "{accuracy:?}");
}

#[test]
fn missing_values_train_and_predict_with_cart_and_are_refused_by_smartcore() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synthetic_csv(tmp.path(), "holes.csv", 600, 5, 4);
    let out = tmp.path().join("cart");
    train(&data, &out, &["--quiet", "--trees", "20"]);
    let model = out.join("model.cbor");
    let predicted = succeeds(mlops().arg("predict").arg("--model").arg(&model).arg(&data));
    assert_eq!(predicted.lines().count(), 601);
    let e = fails(
        &mut train_cmd(&data, &tmp.path().join("sc"), &["--learner", "smartcore"]),
        1,
    );
    assert!(
        e.contains("holes.csv:2:2: feature 'b' is missing") && e.contains("--learner cart"),
        "{e}"
    );
}

#[test]
fn predict_adds_probabilities_that_sum_to_one() {
    let tmp = tempfile::tempdir().unwrap();
    train(&iris(), tmp.path(), &["--quiet"]);
    let model = tmp.path().join("model.cbor");
    let out = succeeds(
        mlops()
            .args(["predict", "--probabilities", "--model"])
            .arg(&model)
            .arg(iris()),
    );
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(
            "prediction,probability_setosa,probability_versicolor,probability_virginica"
        ),
        "{header}"
    );
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let p: f64 = cells[cells.len() - 3..]
            .iter()
            .map(|c| c.parse::<f64>().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 1e-9, "{line}");
    }
}

#[test]
fn evaluate_reports_on_a_held_out_file_and_train_can_use_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synthetic_csv(tmp.path(), "train.csv", 900, 11, 0);
    let test = synthetic_csv(tmp.path(), "test.csv", 300, 12, 0);
    let out = tmp.path().join("m");
    train(
        &data,
        &out,
        &["--quiet", "--test-data", test.to_str().unwrap()],
    );
    let m = metrics(&out);
    assert_eq!(
        (m["train_rows"].as_u64(), m["test_rows"].as_u64()),
        (Some(900), Some(300))
    );
    let model = out.join("model.cbor");
    let report = tmp.path().join("eval.json");
    let said = succeeds(
        mlops()
            .arg("evaluate")
            .arg(&model)
            .arg("--data")
            .arg(&test)
            .arg("--out")
            .arg(&report),
    );
    assert!(
        said.contains("accuracy") && said.contains("log loss"),
        "{said}"
    );
    let e: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(e["accuracy"], m["test_accuracy"], "{e}");
    // verify needs the held-out file too, and then reproduces the bytes.
    let e = fails(
        mlops().arg("verify").arg(&model).arg("--data").arg(&data),
        1,
    );
    assert!(e.contains("--test-data"), "{e}");
    let ok = succeeds(
        mlops()
            .arg("verify")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--test-data")
            .arg(&test),
    );
    assert!(ok.contains("OK: identical bytes"), "{ok}");
    // A file with other features is refused by name.
    let other = tmp.path().join("other.csv");
    std::fs::write(&other, "x,y,label\n1,2,k0\n3,4,k1\n").unwrap();
    let e = fails(
        mlops()
            .arg("evaluate")
            .arg(&model)
            .arg("--data")
            .arg(&other),
        1,
    );
    assert!(e.contains("lacks the model's feature(s) a, b, c, d"), "{e}");
}

#[test]
fn a_version_1_model_still_loads_predicts_and_verifies() {
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1-iris.cbor");
    let shown = succeeds(mlops().arg("inspect").arg(&v1));
    assert!(
        shown.contains("format      mlops-model v1") && shown.contains("smartcore"),
        "{shown}"
    );
    let said = succeeds(mlops().arg("verify").arg(&v1).arg("--data").arg(iris()));
    assert!(said.contains("OK: identical bytes"), "{said}");
    let predicted = succeeds(mlops().arg("predict").arg("--model").arg(&v1).arg(iris()));
    assert_eq!(predicted.lines().count(), 151);
}
