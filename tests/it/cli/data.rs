//! Data files as users make them: Windows and old Mac line endings, quoted line breaks,
//! files that are not files, absurd widths, ID and text columns, missing values.

use std::fs;
use std::path::Path;

use crate::support::bin::{fails, mlops, succeeds, train_cmd};
use crate::support::fixture::{Fixture, trained};

/// The line endings spreadsheets and scripts write: Unix, Windows (Excel, Python's `csv`
/// module), classic Mac.
const ENDINGS: [(&str, &str); 3] = [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")];

/// `lines` joined by `end`, with a final line ending, as bytes.
fn joined(lines: &[&[u8]], end: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.extend_from_slice(end.as_bytes());
    }
    out
}

/// Rows that break a training file on its line 6, after a quoted label that spans lines
/// 3 and 4, and what the error must say.
const TRAIN_FAULTS: &[(&str, &[u8], &str)] = &[
    ("value", b"7,abc,q", ":6:2: feature 'b' has value 'abc'"),
    (
        "short",
        b"7,8",
        ":6: expected 3 columns as in the header, found 2",
    ),
    ("label", b"7,8,", ":6:3: the label 'y' is missing"),
    (
        "utf8",
        b"7,8,caf\xe9",
        ":6: cannot parse the CSV: field 3 is not valid UTF-8",
    ),
];

#[test]
fn train_errors_name_the_right_line_whatever_the_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    for (ending, end) in ENDINGS {
        for (fault, row, expected) in TRAIN_FAULTS {
            let text = joined(
                &[b"a,b,y", b"1,2,p", b"3,4,\"two", b"lines\"", b"5,6,p", row],
                end,
            );
            let data = dir.path().join(format!("{fault}-{ending}.csv"));
            fs::write(&data, text).unwrap();
            let e = fails(&mut train_cmd(&data, &dir.path().join("out"), &[]), 1);
            let expected = format!("{fault}-{ending}.csv{expected}");
            assert!(e.contains(&expected), "expected {expected:?} in {e:?}");
        }
    }
}

/// Rows that break a file to predict on its line 6, after a quoted note that spans lines
/// 3 and 4.
const PREDICT_FAULTS: &[(&str, &[u8], &str)] = &[
    (
        "value",
        b"5,abc,1,0,n",
        ":6:2: feature 'sepal_width' has value 'abc'",
    ),
    (
        "short",
        b"5,3,1",
        ":6: expected 5 columns as in the header, found 3",
    ),
    (
        "utf8",
        b"5,3,1,0,caf\xe9",
        ":6: cannot parse the CSV: field 5 is not valid UTF-8",
    ),
];

#[test]
fn predict_errors_name_the_right_line_whatever_the_line_endings() {
    let Fixture { dir, model } = trained(&["--trees", "3"]);
    for (ending, end) in ENDINGS {
        let good: [&[u8]; 5] = [
            b"sepal_length,sepal_width,petal_length,petal_width,note",
            b"5.1,3.5,1.4,0.2,a",
            b"6.3,3.3,6.0,2.5,\"two",
            b"lines\"",
            b"7.0,3.2,4.7,1.4,c",
        ];
        // The good rows predict, the line break inside the quotes kept.
        let input = dir.path().join(format!("good-{ending}.csv"));
        fs::write(&input, joined(&good, end)).unwrap();
        let out = succeeds(
            mlops()
                .arg("predict")
                .arg("--model")
                .arg(&model)
                .arg(&input),
        );
        // The output ends its lines with LF, whatever the input's.
        assert!(out.starts_with("sepal_length,"), "{out:?}");
        assert!(out.ends_with("7.0,3.2,4.7,1.4,c,versicolor\n"), "{out:?}");
        assert!(
            out.contains(&format!("\"two{end}lines\",virginica")),
            "{out:?}"
        );
        for (fault, row, expected) in PREDICT_FAULTS {
            let mut lines = good.to_vec();
            lines.push(row);
            let input = dir.path().join(format!("{fault}-{ending}.csv"));
            fs::write(&input, joined(&lines, end)).unwrap();
            let e = fails(
                mlops()
                    .arg("predict")
                    .arg("--model")
                    .arg(&model)
                    .arg(&input),
                1,
            );
            let expected = format!("{fault}-{ending}.csv{expected}");
            assert!(e.contains(&expected), "expected {expected:?} in {e:?}");
        }
    }
}

/// Runs `mlops ARGS`, which must fail; its error must contain every part.
fn refused_saying(args: &[&std::ffi::OsStr], parts: &[&str]) {
    let e = fails(mlops().args(args), 1);
    for part in parts {
        assert!(e.contains(part), "expected {part:?} in {e:?}");
    }
}

#[test]
fn data_that_is_not_a_regular_file_is_refused_by_its_flag() {
    let Fixture { dir, model } = trained(&["--trees", "3"]);
    let out = dir.path().join("out");
    let os = |s: &str| std::ffi::OsString::from(s);
    let dev_zero = os("/dev/zero");
    for (flag, path) in [("--data", &dev_zero), ("--data", &dir.path().into())] {
        let args = [
            os("train"),
            os(flag),
            path.clone(),
            os("--out"),
            out.clone().into(),
        ];
        let args: Vec<_> = args.iter().map(|a| a.as_os_str()).collect();
        refused_saying(&args, &["not a regular file", "see --data"]);
    }
    let args = [
        os("train"),
        os("--data"),
        crate::support::fixture::iris().into(),
        os("--test-data"),
        dev_zero.clone(),
        os("--out"),
        out.clone().into(),
    ];
    let args: Vec<_> = args.iter().map(|a| a.as_os_str()).collect();
    refused_saying(
        &args,
        &[
            "/dev/zero is a character device, not a regular file",
            "see --test-data",
        ],
    );
    let args = [os("predict"), os("--model"), model.clone().into(), dev_zero];
    let args: Vec<_> = args.iter().map(|a| a.as_os_str()).collect();
    refused_saying(&args, &["/dev/zero is a character device", "INPUT"]);
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    // Opening a FIFO for reading blocks until someone opens it for writing; a data
    // file's open must not.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let e = fails(&mut train_cmd(&fifo, &dir.path().join("out"), &[]), 1);
    assert!(
        e.contains("pipe.csv is a FIFO (named pipe), not a regular file"),
        "{e}"
    );
}

#[test]
fn training_refuses_an_endless_row_instead_of_growing_without_bound() {
    // A 1 GB one-line CSV made the allocator abort the process; a 20 MB one stands in.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("oneline.csv");
    let mut contents = b"a,y\r\n1,p\r\n".to_vec();
    contents.resize(contents.len() + (20 << 20), b'7');
    fs::write(&data, contents).unwrap();
    let e = fails(&mut train_cmd(&data, &dir.path().join("out"), &[]), 1);
    assert!(
        e.contains("oneline.csv:3: the row is longer than 16 MiB"),
        "{e}"
    );
    assert!(e.contains("see --data"), "{e}");
}

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_wide_header_is_checked_in_linear_time_and_an_absurd_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    // 100,000 columns, the most allowed: the quadratic check took minutes on this; now
    // a duplicate at the end is found at once.
    let mut names: Vec<String> = (0..99_999).map(|i| format!("x{i}")).collect();
    names.push("x5".into());
    let data = write(dir.path(), "wide.csv", &format!("{}\n", names.join(",")));
    let e = fails(&mut train_cmd(&data, &dir.path().join("out"), &[]), 1);
    let expected = "wide.csv:1:100000: column name 'x5' appears twice (columns 6 and 100000)";
    assert!(e.contains(expected), "{e}");
    names.pop();
    names.extend(["x99999".into(), "y".into()]);
    let data = write(dir.path(), "wider.csv", &format!("{}\n", names.join(",")));
    let e = fails(&mut train_cmd(&data, &dir.path().join("out"), &[]), 1);
    assert!(
        e.contains("wider.csv:1:100001: the header has 100001 columns; at most 100000"),
        "{e}"
    );
}

/// Iris with an `id` column in front: `id(i)` for row `i`.
fn iris_with_ids(dir: &Path, name: &str, id: &dyn Fn(usize) -> String) -> std::path::PathBuf {
    let iris = fs::read_to_string(crate::support::fixture::iris()).unwrap();
    let mut text = String::new();
    for (i, line) in iris.lines().enumerate() {
        let cell = if i == 0 { "id".to_owned() } else { id(i) };
        text.push_str(&format!("{cell},{line}\n"));
    }
    write(dir, name, &text)
}

/// The model's metadata, as `inspect --json` prints it.
fn metadata(model: &Path) -> serde_json::Value {
    let json = succeeds(mlops().args(["inspect", "--json"]).arg(model));
    serde_json::from_str::<serde_json::Value>(&json).unwrap()["metadata"].clone()
}

#[test]
fn a_numeric_id_is_warned_of_and_drop_leaves_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = iris_with_ids(dir.path(), "ids.csv", &|i| i.to_string());
    let out = dir.path().join("with");
    let (run, stderr) = crate::support::bin::output(&mut train_cmd(&data, &out, &["--trees", "5"]));
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: feature 'id' has a different whole number on every row; it looks like an ID"
        ) && stderr.contains("--drop 'id'"),
        "{stderr}"
    );
    assert_eq!(metadata(&out.join("model.cbor"))["features"][0], "id");
    let out = dir.path().join("without");
    let (run, stderr) = crate::support::bin::output(&mut train_cmd(
        &data,
        &out,
        &["--trees", "5", "--drop", "id"],
    ));
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let meta = metadata(&out.join("model.cbor"));
    assert_eq!(meta["features"].as_array().unwrap().len(), 4, "{meta}");
    assert_eq!(meta["params"]["drop"], serde_json::json!(["id"]));
}

#[test]
fn a_text_id_is_refused_with_a_hint_and_trains_with_drop() {
    let dir = tempfile::tempdir().unwrap();
    let data = iris_with_ids(dir.path(), "text.csv", &|i| format!("s-{i:03}"));
    let out = dir.path().join("out");
    let e = fails(&mut train_cmd(&data, &out, &["--trees", "5"]), 1);
    assert!(
        e.contains("text.csv:2:1: feature 'id' has value 's-001'")
            && e.contains("leave it out with --drop 'id'"),
        "{e}"
    );
    let e = fails(&mut train_cmd(&data, &out, &["--drop", "id,nope"]), 1);
    assert!(
        e.contains("there is no column 'nope' to drop") && e.contains("see --drop"),
        "{e}"
    );
    // MLOPS_DROP takes the same list.
    let stdout = succeeds(train_cmd(&data, &out, &["--trees", "5"]).env("MLOPS_DROP", "id"));
    assert!(stdout.contains("150 rows x 4 features"), "{stdout}");
    let model = out.join("model.cbor");
    // predict passes the dropped column through, and reads the features by name.
    let predicted = succeeds(mlops().arg("predict").arg("--model").arg(&model).arg(&data));
    let mut lines = predicted.lines();
    assert_eq!(
        lines.next(),
        Some("id,sepal_length,sepal_width,petal_length,petal_width,species,prediction")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("s-001,5.1,3.5,1.4,0.2,setosa,")
    );
    assert_eq!(lines.count(), 149);
    // evaluate and --test-data read only the model's features; verify drops as recorded.
    let report = succeeds(mlops().arg("evaluate").arg(&model).arg("--data").arg(&data));
    assert!(report.contains("accuracy"), "{report}");
    let held_out = dir.path().join("held");
    let args = [
        "--trees",
        "5",
        "--drop",
        "id",
        "--test-data",
        data.to_str().unwrap(),
    ];
    succeeds(&mut train_cmd(&data, &held_out, &args));
    let verified = succeeds(mlops().arg("verify").arg(&model).arg("--data").arg(&data));
    assert!(verified.contains("OK: identical bytes"), "{verified}");
}

#[test]
fn missing_values_that_cannot_be_taken_are_called_so_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let sc = trained(&["--trees", "3", "--learner", "smartcore"]);
    let header = "sepal_length,sepal_width,petal_length,petal_width";
    let holes = write(
        dir.path(),
        "holes.csv",
        &format!("{header},species\n5.1,NA,1.4,0.2,setosa\n6.3,3.3,6.0,2.5,virginica\n"),
    );
    // predict and evaluate with a model that cannot take them.
    let e = fails(
        mlops()
            .arg("predict")
            .arg("--model")
            .arg(&sc.model)
            .arg(&holes),
        1,
    );
    assert!(
        e.contains("holes.csv:2:2: feature 'sepal_width' is missing (an empty cell, NA or NaN)")
            && e.contains("fill them in, or use a model trained by the cart learner"),
        "{e}"
    );
    let e = fails(
        mlops()
            .arg("evaluate")
            .arg(&sc.model)
            .arg("--data")
            .arg(&holes),
        1,
    );
    assert!(
        e.contains("holes.csv:2:2: feature 'sepal_width' is missing")
            && e.contains("--learner cart"),
        "{e}"
    );
    // A held-out file for a learner that cannot take them.
    let iris = crate::support::fixture::iris();
    let args = [
        "--learner",
        "smartcore",
        "--test-data",
        holes.to_str().unwrap(),
    ];
    let e = fails(&mut train_cmd(&iris, &dir.path().join("out"), &args), 1);
    assert!(
        e.contains("holes.csv:2:2: feature 'sepal_width' is missing") && e.contains("cart"),
        "{e}"
    );
    // A missing label, with any learner.
    let no_label = write(dir.path(), "nolabel.csv", "a,y\n1,p\n2,NA\n3,q\n");
    let e = fails(&mut train_cmd(&no_label, &dir.path().join("out"), &[]), 1);
    assert!(
        e.contains("nolabel.csv:3:2: the label 'y' is missing (an empty cell, NA or NaN)")
            && e.contains("fill it in or remove the row"),
        "{e}"
    );
}
