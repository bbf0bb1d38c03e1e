//! `mlops serve`: in-process through the real router (middleware, limits and fallbacks
//! included), and as a process over real TCP.

mod errors;
mod hardening;
mod limits;
mod model_files;
mod openapi;
mod parse_errors;
mod robustness;
mod router;
mod tcp;
mod ui;
mod v2;
mod v2_binary;
mod v2_versions;
