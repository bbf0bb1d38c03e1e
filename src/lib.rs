//! mlops
