//! The integration tests, as one test binary: one link step instead of one per file, and
//! one set of helpers in [`support`].
//!
//! * [`cli`]: the `mlops` binary's commands, and what real users throw at them;
//! * [`dataset`]: property tests of the CSV loader;
//! * [`layers`]: the library's modules import each other in one direction only;
//! * [`server`]: `mlops serve`, in-process through its router and as a process over TCP.

mod cli;
mod dataset;
mod layers;
mod server;
mod support;
