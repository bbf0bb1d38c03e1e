//! mlops: train a random forest on a CSV and serve its predictions over HTTP.
//!
//! The binary (`src/main.rs`) is a thin command line over this library. Imports go one
//! way, from the command line down to the data set and the forest; `ARCHITECTURE.md`
//! has the code map and the rules. One module per concept:
//! * [`cli`]: the command line, one file per command;
//! * [`server`]: the HTTP prediction service (`mlops serve`);
//! * [`probe`]: the container health check (`mlops probe`);
//! * [`training`]: the pipeline (split, fit, evaluate, assemble) and one file per learner;
//! * [`params`]: training hyperparameters, their defaults and their checks;
//! * [`card`]: the model card, an HTML page (`GET /`, `mlops inspect --html`);
//! * [`metrics`]: accuracy, per-class report and confusion matrix (`metrics.json`);
//! * [`model`]: the model file (`model.cbor`): format, provenance, checks;
//! * [`forest`]: the crate's own forest representation and its prediction loop;
//! * [`dataset`]: reading and validating CSV data;
//! * [`atomic`]: crash-safe file writes;
//! * [`text`]: names and values from files, quoted safely and briefly in messages.

pub mod atomic;
pub mod card;
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
