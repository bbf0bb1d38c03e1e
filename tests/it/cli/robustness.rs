//! The `mlops` binary against what real users throw at it: closed pipes, odd files, odd
//! flags. Each test pins down a way of breaking the binary from the outside and the
//! clear error (or quiet success) that answers it.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::support::bin::{fails, mlops, output, succeeds, train_cmd};
use crate::support::fixture::{Fixture, iris, trained};

/// Runs `mlops ARGS PATH`, which must fail with exit code 1; returns its stderr.
fn refused(args: &[&str], path: &Path) -> String {
    let mut cmd = mlops();
    cmd.args(args).arg(path);
    fails(&mut cmd, 1)
}

/// A small Iris model (5 trees): enough for tests about files and input, not accuracy.
fn small_model() -> Fixture {
    trained(&["--trees", "5"])
}

#[test]
fn an_os_error_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    let e = fails(mlops().arg("train").arg("--data").arg(&missing), 1);
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    let e = fails(mlops().arg("inspect").arg(dir.path()), 1);
    assert_eq!(e.matches("is a directory").count(), 1, "{e}");
}

#[test]
fn predict_into_a_closed_pipe_stops_quietly() {
    let Fixture { dir, model } = small_model();
    let input = dir.path().join("big.csv");
    let iris = fs::read_to_string(iris()).unwrap();
    let (header, rows) = iris.split_once('\n').unwrap();
    let mut text = format!("{header}\n");
    for _ in 0..2000 {
        text.push_str(rows);
    }
    fs::write(&input, text).unwrap();
    let mut child = mlops()
        .arg("predict")
        .arg("--model")
        .arg(&model)
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `mlops predict ... | head -1`: read one line, then close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.ends_with(",prediction\n"), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn train_with_its_output_closed_still_writes_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = train_cmd(&iris(), dir.path(), &["--trees", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `mlops train | head -0`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(dir.path().join("model.cbor").is_file());
    assert!(dir.path().join("metrics.json").is_file());
}

#[test]
fn written_files_get_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let Fixture { dir, model } = small_model();
    // What any new file gets here (0666 less the umask): a server running as another
    // user must be able to read the model, as it could read a copied one.
    let plain = dir.path().join("plain");
    fs::File::create(&plain).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&model), mode(&plain));
    assert_eq!(mode(&dir.path().join("metrics.json")), mode(&plain));
}

#[test]
fn a_huge_cell_is_not_echoed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("long.csv");
    let cell = format!("1{}", "0".repeat(400_000)); // overflows to infinity
    fs::write(&data, format!("a,y\n1,p\n{cell},q\n")).unwrap();
    let e = fails(&mut train_cmd(&data, &dir.path().join("out"), &[]), 1);
    assert!(
        e.contains("long.csv:3:1: feature 'a' has value '1000"),
        "{e}"
    );
    assert!(e.contains("400001 bytes"), "{e}");
    assert!(e.len() < 1000, "{} bytes of error", e.len());
}

/// Runs `mlops predict` with the model on a file `name` holding `contents`; it must
/// fail. Returns the error.
fn predict_refuses(model: &Path, name: &str, contents: &[u8]) -> String {
    let input = model.with_file_name(name);
    fs::write(&input, contents).unwrap();
    fails(
        mlops().arg("predict").arg("--model").arg(model).arg(&input),
        1,
    )
}

/// Input `mlops predict` refuses: file name, contents, what the error must say. Each
/// message names the place and the cause in words rather than the CSV reader's own
/// message; a column given twice is refused rather than read from either copy; a file
/// separated by semicolons says so, which explains why no column matches.
const PREDICT_REFUSALS: &[(&str, &[u8], &[&str])] = &[
    (
        "ragged.csv",
        b"sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n5.1,3.5\n",
        &["ragged.csv:3: expected 4 columns as in the header, found 2"],
    ),
    (
        "latin1.csv",
        b"sepal_length,sepal_width,petal_length,petal_width,note\n5.1,3.5,1.4,0.2,caf\xe9\n",
        &["latin1.csv:2:", "save the file as UTF-8"],
    ),
    (
        "twice.csv",
        b"sepal_length,sepal_width,petal_length,petal_width,petal_width\n5.1,3.5,1.4,0.2,9\n",
        &["twice.csv:1:5: column 'petal_width' appears twice (columns 4 and 5)"],
    ),
    (
        "semicolons.csv",
        b"sepal_length;sepal_width;petal_length;petal_width\n5,1;3,5;1,4;0,2\n",
        &["semicolons.csv:1:", "separated by ';'"],
    ),
];

#[test]
fn predict_refuses_bad_input_saying_where() {
    let Fixture { dir: _dir, model } = small_model();
    for (name, contents, expected) in PREDICT_REFUSALS {
        let e = predict_refuses(&model, name, contents);
        for part in *expected {
            assert!(e.contains(part), "expected {part:?} in {e:?}");
        }
    }
}

#[test]
fn damaged_model_files_are_explained_in_words() {
    let Fixture { dir, model } = small_model();
    let bytes = fs::read(&model).unwrap();
    let empty = dir.path().join("empty.cbor");
    fs::write(&empty, b"").unwrap();
    let e = fails(mlops().arg("inspect").arg(&empty), 1);
    assert!(e.contains("the file is empty"), "{e}");
    let truncated = dir.path().join("truncated.cbor");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = fails(mlops().arg("inspect").arg(&truncated), 1);
    assert!(e.contains("truncated"), "{e}");
    let csv = fails(mlops().arg("inspect").arg(iris()), 1);
    for e in [&e, &csv] {
        for debug in ["Io(", "Syntax(", "Semantic(", "kind:"] {
            assert!(!e.contains(debug), "{e}");
        }
    }
}

#[test]
fn an_empty_model_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // MLOPS_NAME=${NAME} in a compose file with NAME unset.
    let e = fails(train_cmd(&iris(), dir.path(), &[]).env("MLOPS_NAME", ""), 1);
    assert!(e.contains("--name"), "{e}");
    assert!(!dir.path().join("model.cbor").exists());
}

#[test]
fn serve_refuses_an_absurd_worker_count_before_starting() {
    let e = fails(mlops().args(["serve", "--workers", "100000"]), 2);
    assert!(e.contains("--workers"), "{e}");
}

#[test]
fn serve_says_what_is_wrong_with_an_address_that_does_not_parse() {
    let Fixture { dir: _dir, model } = small_model();
    let e = refused(&["serve", "--addr", "localhost:80x", "--model"], &model);
    assert!(e.contains("HOST:PORT"), "{e}");
    assert!(!e.contains("free that port"), "{e}");
}

#[test]
fn long_lists_of_columns_are_shortened() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wide.csv");
    let names: Vec<String> = (0..300).map(|i| format!("x{i}")).collect();
    let row = vec!["1"; 300].join(",");
    fs::write(&data, format!("{},y\n{row},p\n{row},q\n", names.join(","))).unwrap();
    let e = refused(&["train", "--label", "nope", "--data"], &data);
    assert!(e.contains("x0, x1, x2"), "{e}");
    assert!(e.contains("and 291 more"), "{e}");
    assert!(e.len() < 1000, "{} bytes of error", e.len());
}

#[test]
fn inspect_json_has_an_environment_variable() {
    let Fixture { dir: _dir, model } = small_model();
    let stdout = succeeds(mlops().arg("inspect").arg(&model).env("MLOPS_JSON", "true"));
    assert!(stdout.starts_with('{'), "{stdout}");
}

#[test]
fn an_out_that_is_a_file_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    fs::write(&file, b"keep me").unwrap();
    let (out, stderr) = output(&mut train_cmd(&iris(), &file, &[]));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a directory"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Training"), "trained first: {stdout}");
    assert_eq!(fs::read(&file).unwrap(), b"keep me");
    // A directory that cannot be created (procfs refuses even root): also before training.
    if Path::new("/proc/self").exists() {
        let (out, stderr) = output(&mut train_cmd(&iris(), Path::new("/proc/mlops-out"), &[]));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("cannot write files in '/proc'"), "{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("Training"), "trained first: {stdout}");
    }
}

#[test]
fn a_metrics_file_that_cannot_be_replaced_leaves_the_model_as_it_was() {
    let Fixture { dir, model } = small_model();
    let before = fs::read(&model).unwrap();
    let metrics = dir.path().join("metrics.json");
    fs::remove_file(&metrics).unwrap();
    fs::create_dir(&metrics).unwrap();
    fs::write(metrics.join("x"), b"x").unwrap();
    let e = fails(&mut train_cmd(&iris(), dir.path(), &["--trees", "6"]), 1);
    assert!(e.contains("metrics.json"), "{e}");
    assert!(
        fs::read(&model).unwrap() == before,
        "model.cbor was replaced"
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn progress_that_cannot_be_written_does_not_stop_training() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not on this system
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = output(train_cmd(&iris(), dir.path(), &["--trees", "5"]).stdout(full));
    assert!(out.status.success(), "{stderr}");
    assert!(dir.path().join("model.cbor").is_file());
}

#[test]
fn predictions_that_cannot_be_written_say_where_they_were_going() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let Fixture { dir: _dir, model } = small_model();
    let mut cmd = mlops();
    cmd.arg("predict")
        .arg("--model")
        .arg(&model)
        .arg(iris())
        .stdout(full);
    let e = fails(&mut cmd, 1);
    assert!(e.contains("cannot write the predictions to stdout"), "{e}");
}

#[test]
fn predict_refuses_an_endless_row_instead_of_growing_without_bound() {
    // `mlops predict /dev/zero` (or a binary file without newlines) is one endless row;
    // reading it whole would grow until the allocator aborts. A 40 MB row stands in.
    let Fixture { dir: _dir, model } = small_model();
    let mut contents = b"sepal_length,sepal_width,petal_length,petal_width\n5,3,1,0\n".to_vec();
    contents.resize(contents.len() + (40 << 20), b'7');
    let e = predict_refuses(&model, "endless.csv", &contents);
    assert!(e.contains("endless.csv:3:"), "{e}");
    assert!(e.contains("longer than 16 MiB"), "{e}");
}

#[test]
fn predict_passes_extra_columns_through_unchanged() {
    // Predict appends a column and changes nothing else: every cell keeps its spaces
    // (an id of "  007" is not "007"), the features' cells included.
    let Fixture { dir, model } = small_model();
    let input = dir.path().join("ids.csv");
    fs::write(
        &input,
        "id, sepal_length ,sepal_width,petal_length,petal_width\n  007 , 5.1 ,3.5,1.4,0.2\n",
    )
    .unwrap();
    let stdout = succeeds(
        mlops()
            .arg("predict")
            .arg("--model")
            .arg(&model)
            .arg(&input),
    );
    assert!(
        stdout.contains("\n  007 , 5.1 ,3.5,1.4,0.2,setosa\n"),
        "{stdout}"
    );
}

#[test]
fn inspect_does_not_send_control_characters_to_the_terminal() {
    // A model file from elsewhere names its features and classes; an escape sequence in
    // one of them, printed raw, would let `mlops inspect` rewrite the user's terminal.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("esc.csv");
    fs::write(
        &data,
        "a\u{1b}[2J,y\n1,p\u{7}\n2,q\n1,p\u{7}\n2,q\n1,p\u{7}\n2,q\n1,p\u{7}\n2,q\n1,p\u{7}\n2,q\n",
    )
    .unwrap();
    let text = succeeds(&mut train_cmd(
        &data,
        dir.path(),
        &["--name", "n\u{1b}]0;title\u{7}"],
    ));
    assert!(!text.contains(['\u{1b}', '\u{7}']), "{text:?}");
    let text = succeeds(mlops().arg("inspect").arg(dir.path().join("model.cbor")));
    assert!(!text.contains(['\u{1b}', '\u{7}']), "{text:?}");
    assert!(text.contains(r"a\u{1b}[2J"), "{text}");
}

#[test]
fn verify_accepts_the_training_data_under_another_name() {
    // The data's identity is its sha256; the file name is incidental (a copy, a mount),
    // so a renamed copy reproduces the model.
    let Fixture { dir, model } = small_model();
    let copy = dir.path().join("renamed.csv");
    fs::copy(iris(), &copy).unwrap();
    let stdout = succeeds(mlops().arg("verify").arg(&model).arg("--data").arg(&copy));
    assert!(stdout.contains("OK: identical bytes"), "{stdout}");
}
