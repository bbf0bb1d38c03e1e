//! mlops: train a random forest on a CSV and serve its predictions over HTTP.
//!
//! The binary (`src/main.rs`) is a thin command line over this library. One module per
//! concept:
//! * [`dataset`]: reading and validating CSV data;
//! * [`forest`]: the crate's own forest representation and its prediction loop;
//! * [`model`]: the model file (`model.cbor`): format, provenance, checks;
//! * [`training`]: the deterministic split, smartcore training, evaluation;
//! * [`metrics`]: accuracy, per-class report and confusion matrix (`metrics.json`);
//! * [`atomic`]: crash-safe file writes;
//! * [`text`]: names and values from files, quoted safely and briefly in messages;
//! * [`cli`]: the command-line interface and what each command does;
//! * [`server`]: the HTTP prediction service (`mlops serve`);
//! * [`probe`]: the container health check (`mlops probe`).

// Every public item says why it exists; CI (clippy -D warnings) holds us to it.
#![warn(missing_docs)]

pub mod atomic;
pub mod cli;
pub mod dataset;
pub mod forest;
pub mod metrics;
pub mod model;
pub mod params;
pub mod probe;
pub mod server;
pub mod text;
pub mod training;
