//! The `mlops` binary's commands, run as processes.

mod commands;
mod learner;
mod robustness;
