//! The `mlops` binary's commands, run as processes.

mod commands;
mod data;
mod edges;
mod learner;
mod robustness;
