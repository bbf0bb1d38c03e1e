//! Helpers shared by every test.
//!
//! * [`bin`]: the `mlops` binary with a clean environment, and running it;
//! * [`fixture`]: the shipped Iris data, and models trained from it by the binary;
//! * [`library`]: every call the tests make into the `mlops` library, in one place;
//! * [`router`]: requests through the in-process router;
//! * [`tcp`]: a minimal HTTP/1.1 client over real TCP;
//! * [`process`]: a `mlops serve` child process.

pub mod bin;
pub mod fixture;
pub mod library;
pub mod process;
pub mod router;
pub mod tcp;
