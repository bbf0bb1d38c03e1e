//! `mlops probe`: the container health check. Placeholder: being written.

/// Options of `mlops probe`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// The URL to GET.
    #[arg(
        long,
        env = "MLOPS_PROBE_URL",
        default_value = "http://127.0.0.1:8000/ready"
    )]
    pub url: String,
}

/// Returns true when the service answered 200.
pub fn run(args: &ProbeArgs) -> bool {
    let _ = args;
    false
}
