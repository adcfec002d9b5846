//! One module per verb: a clap `Args` struct (its doc comments are the help) and `run`.

pub mod bench;
mod bench_net;
pub mod data;
pub mod eval;
pub mod metrics;
pub mod predict;
pub mod report;
pub mod train;
