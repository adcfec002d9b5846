//! One module per verb: a clap `Args` struct (its doc comments are the help) and `run`.

pub mod bench;
pub mod data;
pub mod eval;
pub mod metrics;
pub mod predict;
pub mod train;
