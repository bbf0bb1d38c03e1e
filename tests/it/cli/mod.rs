//! The `mlops` binary's commands, run as processes.

mod card;
mod commands;
mod data;
mod edges;
mod learner;
mod robustness;
