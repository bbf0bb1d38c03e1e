//! The command line: one file per command, as in xsv's `src/cmd/`.
//!
//! Each command file holds its flags (a clap `Args` struct) and a `run` function. Every
//! flag also reads an `MLOPS_*` environment variable, so containers and compose files
//! configure the binary without rewriting its command. Commands report what they do on
//! stdout; errors go to stderr as one `error: ...` line that says what went wrong and
//! how to fix it, with a non-zero exit code. The library's errors describe the problem;
//! the command adds which flag to change (`errors::Hint`).

mod env;
mod errors;
pub mod evaluate;
mod if_changed;
pub mod inspect;
pub mod predict;
mod progress;
pub mod train;
mod train_args;
pub mod verify;

use std::io::{self, Write};

use errors::{error_line, is_broken_pipe};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Evaluate a model on labelled data: accuracy, log loss, per-class report.
    Evaluate(evaluate::EvaluateArgs),
}

/// Parses the command line and runs it; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
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
        Command::Evaluate(args) => evaluate::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `mlops predict ... | head -1`: the reader has what it wanted. Rust ignores
        // SIGPIPE, so the write fails instead of killing us; stop quietly, as a
        // command killed by SIGPIPE would, without an error line for a non-error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Paths, names and values from files reach the terminal escaped.
            let line = crate::text::printable(&error_line(&e)).into_owned();
            let _ = writeln!(io::stderr(), "error: {line}");
            ExitCode::FAILURE
        }
    }
}

/// The ids of the flags in `matches` given on the command line or by variable.
fn given(matches: &clap::ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| {
            matches
                .value_source(id.as_str())
                .is_some_and(|s| s != clap::parser::ValueSource::DefaultValue)
        })
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// The command line, read as [`env`] describes; on an error (or `--help`), the exit
/// code after clap (or [`env::env_value_error`]) has said what is wrong.
fn parse() -> Result<Cli, ExitCode> {
    let args: Vec<_> = std::env::args_os().collect();
    let cmd = env::boolish_switches(Cli::command());
    let e = match cmd.clone().try_get_matches_from(&args).and_then(|m| {
        let mut cli = Cli::from_arg_matches(&m)?;
        if let (Command::Train(train), Some(("train", sub))) = (&mut cli.command, m.subcommand()) {
            train.given = given(sub);
        }
        Ok(cli)
    }) {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if let Some(message) = env::env_value_error(&cmd, &e, &args) {
        let _ = writeln!(io::stderr(), "error: {message}");
        return Err(ExitCode::from(2));
    }
    let _ = e.print();
    Err(ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)))
}
