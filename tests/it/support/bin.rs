//! The `mlops` binary with a clean environment, and running it.

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

/// `mlops train --data <data> --out <out> <extra>`.
pub fn train_cmd(data: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> Command {
    let mut cmd = mlops();
    cmd.arg("train")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(extra);
    cmd
}

/// Runs a command; returns its output and stderr, which must not report a panic.
pub fn output(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("the mlops binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out, stderr)
}

/// Runs a command that must succeed; returns its stdout, which must be UTF-8.
pub fn succeeds(cmd: &mut Command) -> String {
    let (out, stderr) = output(cmd);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs a command that must fail with exit code `code`; returns its stderr.
pub fn fails(cmd: &mut Command, code: i32) -> String {
    let (out, stderr) = output(cmd);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    stderr
}
