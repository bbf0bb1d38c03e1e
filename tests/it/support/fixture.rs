//! The shipped Iris data, and models trained from it by the `mlops` binary (the tests
//! train through the command line, not the library, so they depend on no training API).

use std::path::{Path, PathBuf};

use super::bin::{succeeds, train_cmd};

/// An Iris setosa row (the first of the data set), in the model's feature order.
pub const SETOSA: [f64; 4] = [5.1, 3.5, 1.4, 0.2];
/// An Iris versicolor row.
pub const VERSICOLOR: [f64; 4] = [7.0, 3.2, 4.7, 1.4];
/// An Iris virginica row.
pub const VIRGINICA: [f64; 4] = [6.3, 3.3, 6.0, 2.5];
/// The reference service's example request: [`SETOSA`] by position.
pub const SETOSA_BODY: &str = r#"{"features":[5.1,3.5,1.4,0.2]}"#;

/// The Iris CSV shipped with the repository.
pub fn iris() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv")
}

/// A model trained by `mlops train` in a temporary directory.
///
/// The directory lives as long as `dir`: destructure with `dir: _dir`, not `..`, which
/// deletes it at once.
pub struct Fixture {
    /// The directory; it also holds `metrics.json`.
    pub dir: tempfile::TempDir,
    /// `<dir>/model.cbor`.
    pub model: PathBuf,
}

/// Trains Iris into a new temporary directory, with extra `mlops train` flags.
pub fn trained(extra: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    train(&iris(), dir.path(), extra);
    Fixture {
        model: dir.path().join("model.cbor"),
        dir,
    }
}

/// Runs `mlops train --data <data> --out <out> <extra>`, which must succeed; returns
/// its stdout (the progress report).
pub fn train(data: &Path, out: &Path, extra: &[&str]) -> String {
    succeeds(&mut train_cmd(data, out, extra))
}

/// Replaces `path` atomically with `bytes` (as `mlops train` does), so a reload never
/// sees a half-written file.
pub fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A class name that is a script.
pub const HOSTILE_CLASS: &str = "<script>alert(1)</script>";

/// A model whose classes (one of them [`HOSTILE_CLASS`]), feature and name are markup.
pub fn hostile_model() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("\"<img src=x onerror=alert(2)>\",b,label\n");
    for i in 0..60 {
        let class = if i % 2 == 0 { HOSTILE_CLASS } else { "plain" };
        csv.push_str(&format!("{},{},\"{class}\"\n", i % 2, i % 7));
    }
    let data = dir.path().join("hostile.csv");
    std::fs::write(&data, csv).unwrap();
    train(
        &data,
        dir.path(),
        &["--trees", "5", "--name", "<b>bold</b>"],
    );
    Fixture {
        model: dir.path().join("model.cbor"),
        dir,
    }
}
