//! The `mlops` binary: a thin shell over the library (see `mlops::cli`).

fn main() -> std::process::ExitCode {
    mlops::cli::main()
}
