//! One module per verb: a clap `Args` struct (its doc comments are the help) and `run`.

pub mod bench;
mod bench_net;
pub mod data;
pub mod eval;
pub mod metrics;
pub mod predict;
pub mod synth;
pub mod report;
pub mod train;

/// Which trained checkpoint to use: `--run DIR --checkpoint best|last|iter_N`, or
/// `--checkpoint PATH.ckpt` alone.
#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// Run directory.
    #[arg(long)]
    pub run: Option<std::path::PathBuf>,
    /// `best`, `last`, `iter_N`, or a path to a .ckpt file.
    #[arg(long, default_value = "best")]
    pub checkpoint: String,
}
