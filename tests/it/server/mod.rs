//! `mlops serve`: in-process through the real router (middleware, limits and fallbacks
//! included), and as a process over real TCP.

mod errors;
mod limits;
mod openapi;
mod robustness;
mod router;
mod tcp;
mod ui;
mod v2;
