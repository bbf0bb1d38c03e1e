//! Shared helpers of the command-line tests: the `mlops` binary with a clean
//! environment, and the Iris CSV.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

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
