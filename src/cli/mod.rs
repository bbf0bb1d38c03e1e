//! The command line: one file per command, as in xsv's `src/cmd/`.
//!
//! Each command file holds its flags (a clap `Args` struct) and a `run` function. Every
//! flag also reads an `MLOPS_*` environment variable, so containers and compose files
//! configure the binary without rewriting its command. Commands report what they do on
//! stdout; errors go to stderr as one `error: ...` line that says what went wrong and
//! how to fix it, with a non-zero exit code. The library's errors describe the problem;
//! the command adds which flag to change ([`Hint`]).

pub mod inspect;
pub mod predict;
pub mod train;
pub mod verify;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The source revision this binary was built from, when the build knew it: set by the
/// image builders (`MLOPS_SOURCE_REVISION`) or found by `build.rs` from git.
pub const SOURCE_REVISION: Option<&str> = match option_env!("MLOPS_SOURCE_REVISION") {
    Some(rev) => Some(rev),
    None => option_env!("MLOPS_GIT_REVISION"),
};

/// mlops: train a random forest on a CSV and serve its predictions.
#[derive(Debug, Parser)]
#[command(name = "mlops", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a CSV and write model.cbor and metrics.json.
    Train(train::TrainArgs),
    /// Serve a model over HTTP.
    Serve(crate::server::ServeArgs),
    /// Check that a server is ready (the container health check): exit 0 if so.
    Probe(crate::probe::ProbeArgs),
    /// Predict every row of a CSV; writes the CSV with a prediction column to stdout.
    Predict(predict::PredictArgs),
    /// Show a model file's metadata and provenance.
    Inspect(inspect::InspectArgs),
    /// Retrain from a model's recorded provenance and check the bytes match.
    Verify(verify::VerifyArgs),
}

/// Parses the command line and runs it; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Serve(args) => crate::server::run(args),
        Command::Probe(args) => {
            return if crate::probe::run(&args) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Command::Predict(args) => predict::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Verify(args) => verify::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `mlops predict ... | head -1`: the reader has what it wanted. Rust ignores
        // SIGPIPE, so the write fails instead of killing us; stop quietly, as a
        // command killed by SIGPIPE would, without an error line for a non-error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {}", error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// A library error with the command's advice appended: which flag or argument to
/// change. The library cannot know how its input was given; the command does.
#[derive(Debug, thiserror::Error)]
#[error("{source}; {hint}")]
pub struct Hint {
    source: Box<dyn std::error::Error + Send + Sync>,
    hint: String,
}

/// Appends `hint` to an error's message (see [`Hint`]).
pub fn hint<E>(hint: impl Into<String>) -> impl FnOnce(E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |source| {
        Hint {
            source: Box::new(source),
            hint: hint.into(),
        }
        .into()
    }
}

/// The error and its causes on one line, "what: why". Our error types already quote
/// their cause in their own message (so a log line that prints only the error says it
/// too); a cause already in the line is not repeated.
fn error_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// True when the error comes from writing to a pipe whose reader has gone: only stdout
/// is ever a pipe here (files are written through `atomic`, data is only read).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let io = match cause.downcast_ref::<csv::Error>().map(csv::Error::kind) {
            Some(csv::ErrorKind::Io(io)) => Some(io),
            _ => cause.downcast_ref::<io::Error>(),
        };
        io.is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
