//! Project automation, run as `cargo xtask <job>` (alias in `.cargo/config.toml`).
//!
//! * `images`: the static `mlops` binary for every platform of `nix/platforms.toml` and
//!   byte-reproducible image archives (`target/images/mlops-{train,api}[-arm64].tar`, and
//!   a multi-arch index per image, `mlops-{train,api}.oci.tar`) from `nix/images.toml`,
//!   the declarations the Nix flake reads too. See [`images`] and [`index`]. With
//!   `--model DIR`, also the model image `mlops-model:<short model digest>`. See
//!   [`model_image`].
//! * `e2e`: the container end-to-end suite (Docker engine, Compose v1 and v2, registry
//!   push and pull). See [`e2e`].

mod binary;
mod e2e;
mod images;
mod index;
mod model_image;
mod repro;
mod run;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "Project automation for mlops"
)]
struct Cli {
    #[command(subcommand)]
    job: Job,
}

#[derive(Subcommand)]
enum Job {
    /// Build the static binaries (amd64, arm64) and the reproducible image archives in
    /// target/images.
    Images {
        /// `docker load` the archives afterwards.
        #[arg(long)]
        load: bool,
        /// Package this static amd64 binary (amd64 images only) instead of building.
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// Also pack this directory's model.cbor and metrics.json as the model image
        /// target/images/mlops-model.tar (`mlops-model:<short model digest>`).
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
    },
    /// Run the container end-to-end suite on a Docker engine.
    E2e(e2e::Options),
}

fn main() {
    let cli = Cli::parse();
    let result = workspace_root().and_then(|root| match cli.job {
        Job::Images {
            load,
            binary,
            model,
        } => images::main(&root, binary.as_deref(), load)
            .and_then(|()| model_image::main(&root, model.as_deref(), load)),
        Job::E2e(options) => e2e::main(&root, &options),
    });
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn workspace_root() -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?;
    Ok(root.canonicalize()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_is_not_an_error() {
        Cli::command().debug_assert();
        for args in [&["xtask", "--help"][..], &["xtask", "e2e", "--help"]] {
            let e = Cli::try_parse_from(args)
                .err()
                .expect("help stops the parse");
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
            assert_eq!(e.exit_code(), 0);
            assert!(!e.to_string().contains("Error:"), "{e}");
        }
    }

    #[test]
    fn e2e_only_takes_a_known_part() {
        assert!(Cli::try_parse_from(["xtask", "e2e", "--only", "arm64"]).is_ok());
        let e = Cli::try_parse_from(["xtask", "e2e", "--only", "arm"])
            .err()
            .expect("an unknown part is refused");
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(e.to_string().contains("arm64"), "{e}");
    }
}
