//! The `mlops` binary end to end: training, bad data, reproducibility across processes,
//! crash safety, and the predict / inspect / verify commands.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::bin::{fails, mlops, succeeds, train_cmd};
use crate::support::fixture::{iris, train};

/// Runs a command that must fail: exit code 1, `expected` in its error, no panic.
fn fails_with(cmd: &mut Command, expected: &str) -> String {
    let stderr = fails(cmd, 1);
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in {stderr:?}"
    );
    stderr
}

/// Every file in a directory with its bytes, to prove "nothing changed".
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn trains_iris_reports_progress_and_writes_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = train(&iris(), dir.path(), &[]);
    assert!(stdout.contains("150 rows x 4 features"), "{stdout}");
    assert!(
        stdout.contains("3 classes (setosa: 50, versicolor: 50, virginica: 50)"),
        "{stdout}"
    );
    assert!(stdout.contains("120 train / 30 test"), "{stdout}");
    assert!(stdout.contains("model.cbor (sha256:"), "{stdout}");
    let metrics: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("metrics.json")).unwrap()).unwrap();
    assert!(
        metrics["test_accuracy"].as_f64().unwrap() >= 0.9,
        "{metrics}"
    );
    assert_eq!(metrics["confusion_matrix"]["classes"][0], "setosa");
    assert_eq!(metrics["per_class"].as_array().unwrap().len(), 3);
    assert_eq!(metrics["rows"], 150);
    let model = fs::read(dir.path().join("model.cbor")).unwrap();
    let digest = format!("sha256:{}", sha256_hex(&model));
    assert_eq!(metrics["model_sha256"], digest.as_str());
    assert_eq!(
        snapshot(dir.path()).len(),
        2,
        "no temporary files are left behind"
    );
}

#[test]
fn two_processes_write_identical_models_and_verify_accepts_them() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train(&iris(), a.path(), &[]);
    train(&iris(), b.path(), &[]);
    let model_a = fs::read(a.path().join("model.cbor")).unwrap();
    assert_eq!(model_a, fs::read(b.path().join("model.cbor")).unwrap());

    let stdout = succeeds(
        mlops()
            .arg("verify")
            .arg(a.path().join("model.cbor"))
            .arg("--data")
            .arg(iris()),
    );
    assert!(stdout.contains("identical bytes"), "{stdout}");

    // A different seed is a different model, and verify notices a mismatching file.
    let c = tempfile::tempdir().unwrap();
    train(&iris(), c.path(), &["--seed", "7"]);
    assert_ne!(model_a, fs::read(c.path().join("model.cbor")).unwrap());
    let other_data = c.path().join("other.csv");
    fs::write(
        &other_data,
        fs::read_to_string(iris())
            .unwrap()
            .replace("5.1,3.5", "5.2,3.5"),
    )
    .unwrap();
    fails_with(
        mlops()
            .arg("verify")
            .arg(a.path().join("model.cbor"))
            .arg("--data")
            .arg(&other_data),
        "is not the training data of this model",
    );
}

#[test]
fn flags_and_environment_set_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = succeeds(
        mlops()
            .args(["train", "--data"])
            .arg(iris())
            .arg("--out")
            .arg(dir.path())
            .args(["--trees", "7", "--max-depth", "3", "--name", "flowers"])
            .env("MLOPS_SEED", "5")
            .env("MLOPS_TEST_FRACTION", "0.3"),
    );
    assert!(stdout.contains("105 train / 45 test"), "{stdout}");
    let json = succeeds(
        mlops()
            .arg("inspect")
            .arg(dir.path().join("model.cbor"))
            .arg("--json"),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["metadata"]["name"], "flowers");
    assert_eq!(v["metadata"]["params"]["trees"], 7);
    assert_eq!(v["metadata"]["params"]["max_depth"], 3);
    assert_eq!(v["metadata"]["params"]["seed"], 5);
    assert_eq!(v["forest"]["trees"], 7);
}

/// A temporary directory whose `models/` holds a trained model, and a snapshot of it.
fn directory_with_a_model() -> (tempfile::TempDir, PathBuf, Vec<(String, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("models");
    train(&iris(), &out_dir, &["--trees", "5"]);
    let before = snapshot(&out_dir);
    (dir, out_dir, before)
}

/// Each bad input: a message naming what and where, exit code 1, and the output
/// directory (holding a previous model) byte-for-byte unchanged.
#[test]
fn bad_data_is_refused_with_location_and_nothing_is_written() {
    let (dir, out_dir, before) = directory_with_a_model();

    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("empty", "", &[], "bad.csv: the file is empty"),
        (
            "header only",
            "a,b,y\n",
            &[],
            "bad.csv:1: the file has a header but no data rows",
        ),
        (
            "ragged",
            "a,b,y\n1,2,p\n3,q\n",
            &[],
            "bad.csv:3: expected 3 columns as in the header, found 2",
        ),
        (
            "text",
            "a,b,y\n1,2,p\n3,abc,q\n",
            &[],
            "bad.csv:3:2: feature 'b' has value 'abc'; expected a finite number",
        ),
        (
            "nan",
            "a,b,y\n1,2,p\nNaN,1,q\n",
            &["--learner", "smartcore"],
            "bad.csv:3:1: feature 'a' is missing (an empty cell, NA or NaN), and the smartcore learner cannot take missing values",
        ),
        (
            "inf",
            "a,b,y\n1,-inf,p\n1,1,q\n",
            &[],
            "bad.csv:2:2: feature 'b' has value '-inf'",
        ),
        (
            "empty label",
            "a,b,y\n1,2,p\n1,2,\n",
            &[],
            "bad.csv:3:3: the label 'y' is missing (an empty cell, NA or NaN)",
        ),
        (
            "unknown label",
            "a,b,y\n1,2,p\n",
            &["--label", "kind"],
            "bad.csv:1: there is no column 'kind'",
        ),
        (
            "one class",
            "a,b,y\n1,2,p\n3,4,p\n",
            &[],
            "column 'y' has only 1 class (p)",
        ),
        (
            "tiny class",
            "a,y\n1,p\n2,q\n3,q\n4,q\n5,q\n6,q\n",
            &[],
            "class 'p' has 1 row(s)",
        ),
    ];
    for (what, text, extra, expected) in cases {
        let data = dir.path().join("bad.csv");
        fs::write(&data, text).unwrap();
        let stderr = fails_with(&mut train_cmd(&data, &out_dir, extra), expected);
        assert!(stderr.starts_with("error: "), "{what}: {stderr}");
        assert_eq!(
            snapshot(&out_dir),
            before,
            "{what}: the output directory changed"
        );
    }

    let missing = dir.path().join("missing.csv");
    let stderr = fails_with(
        &mut train_cmd(&missing, &out_dir, &[]),
        "cannot read data file",
    );
    assert!(stderr.contains("missing.csv"), "{stderr}");
    fails_with(
        &mut train_cmd(&iris(), &out_dir, &["--test-fraction", "1.5"]),
        "invalid --test-fraction: the test fraction must be at least 0 and less than 1",
    );
    assert_eq!(snapshot(&out_dir), before);
}

/// A run killed mid-training leaves the previous model byte-identical.
#[test]
fn a_killed_run_leaves_the_previous_model_intact() {
    let (dir, out_dir, before) = directory_with_a_model();

    // Big enough that training takes a while: the kill lands before the writes.
    let mut csv = String::from("a,b,c,d,y\n");
    for i in 0..20_000u64 {
        let x = (i.wrapping_mul(2_654_435_761) % 10_007) as f64 / 97.0;
        let class = ["p", "q", "r"][(i % 3) as usize];
        csv.push_str(&format!(
            "{x},{},{},{},{class}\n",
            x * 0.5 + (i % 7) as f64,
            (i % 13) as f64,
            x.sin()
        ));
    }
    let data = dir.path().join("big.csv");
    fs::write(&data, csv).unwrap();
    let mut child = train_cmd(&data, &out_dir, &[])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "training finished before it could be killed"
    );
    // The model and metrics are exactly as before; a temporary file may remain only if
    // the kill landed during a write, and it never replaces the model.
    let after: Vec<_> = snapshot(&out_dir)
        .into_iter()
        .filter(|(name, _)| !name.ends_with(".tmp"))
        .collect();
    assert_eq!(after, before);
}

#[test]
fn predict_streams_csv_with_a_prediction_column() {
    let dir = tempfile::tempdir().unwrap();
    train(&iris(), dir.path(), &[]);
    let model = dir.path().join("model.cbor");
    // Columns in another order, plus an extra one: matched by name, passed through.
    let input = dir.path().join("in.csv");
    fs::write(
        &input,
        "id,petal_width,petal_length,sepal_width,sepal_length\n1,0.2,1.4,3.5,5.1\n2,2.3,5.4,3.4,6.2\n",
    )
    .unwrap();
    let predict = || {
        let mut cmd = mlops();
        cmd.arg("predict").arg("--model").arg(&model).arg(&input);
        cmd
    };
    let stdout = succeeds(&mut predict());
    assert_eq!(
        stdout,
        "id,petal_width,petal_length,sepal_width,sepal_length,prediction\n\
         1,0.2,1.4,3.5,5.1,setosa\n2,2.3,5.4,3.4,6.2,virginica\n"
    );

    let header = "sepal_length,sepal_width,petal_length";
    fs::write(&input, format!("{header}\n5.1,3.5,1.4\n")).unwrap();
    fails_with(
        &mut predict(),
        "in.csv:1: the header lacks the model's feature(s) petal_width",
    );
    fs::write(&input, format!("{header},petal_width\n5.1,3.5,x,0.2\n")).unwrap();
    fails_with(
        &mut predict(),
        "in.csv:2:3: feature 'petal_length' has value 'x'",
    );
}

#[test]
fn broken_model_files_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    fails_with(
        mlops().arg("inspect").arg(dir.path().join("none.cbor")),
        "run `mlops train` first",
    );

    let junk = dir.path().join("junk.cbor");
    fs::write(&junk, b"not a model at all").unwrap();
    fails_with(
        mlops().arg("inspect").arg(&junk),
        "is not an mlops model file",
    );

    train(&iris(), dir.path(), &["--trees", "3"]);
    let mut bytes = fs::read(dir.path().join("model.cbor")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs::write(&junk, &bytes).unwrap();
    // Depending on where the flipped byte lands, the envelope or the checksum fails.
    let stderr = fails_with(mlops().arg("inspect").arg(&junk), "");
    assert!(
        stderr.contains("corrupt") || stderr.contains("not an mlops model"),
        "{stderr}"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
