//! The `mlops` binary's commands, run as processes.

mod card;
mod commands;
mod learner;
mod robustness;
