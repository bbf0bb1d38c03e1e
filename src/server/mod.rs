//! The HTTP prediction service (`mlops serve`). Placeholder: being written.

use std::path::PathBuf;

/// Options of `mlops serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The model file to serve.
    #[arg(long, env = "MLOPS_MODEL", default_value = "models/model.cbor")]
    pub model: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "MLOPS_ADDR", default_value = "0.0.0.0:8000")]
    pub addr: String,
}

/// Runs the server until shutdown.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("serve is not implemented yet ({args:?})")
}
