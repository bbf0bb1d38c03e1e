//! Project automation, run as `cargo xtask <job>` (alias in `.cargo/config.toml`).
//!
//! * `images`: build the static `mlops` binary and write byte-reproducible image archives
//!   (`target/images/mlops-train.tar`, `target/images/mlops-api.tar`) from
//!   `nix/images.toml`, the declaration the Nix flake reads too; `--load` also
//!   `docker load`s them. See [`images`].
//! * `e2e`: the container end-to-end suite (Docker engine, compose v1 and v2, registry push
//!   and pull). See [`e2e`].

mod docker;
mod e2e;
mod images;
mod proc;
mod repro;

use anyhow::{Context, Result};
use std::path::PathBuf;

fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .context("xtask has no parent directory")?
        .to_path_buf();
    Ok(root.canonicalize()?)
}

const USAGE: &str = "usage: cargo xtask <images [--load] [--binary PATH] | e2e [--no-second-checkout] [--no-install]>";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = workspace_root().and_then(|root| match args.first().map(String::as_str) {
        Some("images") => images::main(&root, &args[1..]),
        Some("e2e") => e2e::main(&root, &args[1..]),
        _ => Err(anyhow::anyhow!(USAGE)),
    });
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
