//! How flags read their `MLOPS_*` environment variables.
//!
//! Two things clap does not do the way a container user expects, fixed here for every
//! command at once (so a flag added later gets them too):
//!
//! * A switch (`--json`, `--quiet`, ...) read from a variable takes the usual spellings
//!   of a boolean: `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off` (any case). Clap's
//!   default accepts only `true` and `false`, so `MLOPS_JSON=1` was refused.
//! * A bad value that came from a variable is reported with the variable's name:
//!   `MLOPS_TREES=abc` is not a bad `--trees` to someone who never typed `--trees`.

use std::ffi::OsString;

use clap::builder::BoolishValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command};

/// The command line's definition with every switch that reads a variable made boolish.
pub fn boolish_switches(cmd: Command) -> Command {
    let cmd = cmd.mut_args(boolish);
    cmd.mut_subcommands(boolish_switches)
}

fn boolish(arg: Arg) -> Arg {
    if arg.get_env().is_some() && matches!(arg.get_action(), ArgAction::SetTrue) {
        arg.value_parser(BoolishValueParser::new())
    } else {
        arg
    }
}

/// When `e` is a bad value that came from an environment variable (the flag is not on
/// the command line `args`, and the variable holds that value), the message that names
/// the variable; `None` for any other error, which clap reports as it is.
pub fn env_value_error(cmd: &Command, e: &clap::Error, args: &[OsString]) -> Option<String> {
    if !matches!(
        e.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let (Some(ContextValue::String(flag)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return None;
    };
    // `--trees <TREES>` -> `--trees`.
    let long = flag.split(' ').next()?.strip_prefix("--")?;
    let on_command_line = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == format!("--{long}") || a.starts_with(&format!("--{long}="))
    });
    if on_command_line {
        return None;
    }
    let var = find_env(cmd, long, value)?;
    let why = match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) => format!("expected one of {}", valid.join(", ")),
        _ => std::error::Error::source(e).map_or_else(String::new, |s| s.to_string()),
    };
    Some(format!(
        "invalid value '{value}' in the environment variable {var} (it sets --{long}): {why}; fix or unset {var}"
    ))
}

/// The variable behind `--long` (in any command) that currently holds `value`.
fn find_env(cmd: &Command, long: &str, value: &str) -> Option<String> {
    let here = cmd.get_arguments().find_map(|arg| {
        let var = arg.get_env()?;
        let set = std::env::var_os(var)?;
        (arg.get_long() == Some(long) && set.to_string_lossy() == value)
            .then(|| var.to_string_lossy().into_owned())
    });
    here.or_else(|| {
        cmd.get_subcommands()
            .find_map(|sub| find_env(sub, long, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn all_args(cmd: &Command, out: &mut Vec<(String, Arg)>) {
        for arg in cmd.get_arguments() {
            out.push((cmd.get_name().to_owned(), arg.clone()));
        }
        for sub in cmd.get_subcommands() {
            all_args(sub, out);
        }
    }

    #[test]
    fn every_switch_with_a_variable_takes_the_usual_booleans() {
        let cmd = boolish_switches(super::super::Cli::command());
        let mut args = Vec::new();
        all_args(&cmd, &mut args);
        let switches: Vec<_> = args
            .into_iter()
            .filter(|(_, a)| a.get_env().is_some() && matches!(a.get_action(), ArgAction::SetTrue))
            .collect();
        assert!(switches.len() >= 3, "{}", switches.len());
        for (command, arg) in switches {
            let accepted: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_owned())
                .collect();
            for text in ["1", "0", "true", "false", "yes", "no"] {
                assert!(
                    accepted.iter().any(|a| a == text),
                    "{command} {:?} refuses {text}: {accepted:?}",
                    arg.get_id()
                );
            }
        }
    }
}
