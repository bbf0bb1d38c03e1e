//! Shared helpers of the command-line tests: the `mlops` binary with a clean
//! environment, running it, and the Iris CSV.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `mlops` binary, with no `MLOPS_*` variable from the caller changing a default.
pub fn mlops() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlops"));
    for (key, _) in std::env::vars() {
        if key.starts_with("MLOPS_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The Iris CSV shipped with the repository.
pub fn iris() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv")
}

/// Runs a command; returns its output and stderr, which must not report a panic.
pub fn output(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("the mlops binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out, stderr)
}

/// Runs a command that must fail with exit code `code`; returns its stderr.
pub fn fails(cmd: &mut Command, code: i32) -> String {
    let (out, stderr) = output(cmd);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    stderr
}
