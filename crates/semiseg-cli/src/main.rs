//! `semiseg`: semi-supervised medical image segmentation from the command line.
//!
//! This file only parses arguments and dispatches; each verb lives in `cmd/<verb>.rs` and calls
//! the library crates.

mod allocator;
mod cmd;
mod machine_load;
mod progress;
mod shard;

use clap::{Parser, Subcommand};

/// Semi-supervised medical image segmentation: train a segmenter from a few labeled scans plus
/// many unlabeled (or generated) ones, score it as medpy / MONAI do, and segment new scans.
#[derive(Debug, Parser)]
#[command(
    name = "semiseg",
    version,
    about = "Semi-supervised medical image segmentation: train a segmenter from a few labeled scans plus many unlabeled (or generated) ones, score it as medpy / MONAI do, and segment new scans.",
    long_about = None,
    after_help = "Start with `semiseg train` (no arguments: mean teacher on the built-in ACDC demo), then `semiseg eval`, `predict` and `report` on its run directory. Methods: supervised, mean_teacher, ua_mt, cct, cps, mcnet (baselines); clcc, mgcc, caml, fbanet (papers)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a method (no arguments: the built-in demo, mean teacher on a small ACDC subset).
    Train(cmd::train::Args),
    /// Score a trained checkpoint on a dataset split (per case and class).
    Eval(cmd::eval::Args),
    /// Segment new images with a trained checkpoint, in their own format and geometry.
    Predict(cmd::predict::Args),
    /// Make a run from a PyTorch checkpoint of the reference code (V-Net / MC-Net+, CAML, FBA-Net).
    Import(cmd::import::Args),
    /// Write a run's network as a PyTorch state dict under the reference code's key names (.pth or .safetensors).
    Export(cmd::export::Args),
    /// Draw loss and validation curves and prediction overlays of a run (PNG in <run>/plots/).
    Report(cmd::report::Args),
    /// Inspect and convert datasets (PNG/JPG folders, NIfTI, nnU-Net/MSD, SSL4MIS/UA-MT h5, NPY).
    Data(cmd::data::Args),
    /// Score predictions against ground truth (Dice, Jaccard, HD95, ASD, ASSD, NSD, ...).
    Metrics(cmd::metrics::Args),
    /// Time a workload on this machine (see --model for what can be timed).
    Bench(cmd::bench::Args),
    /// Check that a GPU trains like the CPU: one step per network, gradients compared by name.
    Doctor(cmd::doctor::Args),
    /// Compare two sets of runs case by case: mean difference, 95 % CI, Wilcoxon signed-rank p.
    Compare(cmd::compare::Args),
    /// Latent diffusion (MGCC stage 1): train on images, sample synthetic unlabeled images.
    Synth(cmd::synth::Args),
}

fn main() {
    allocator::keep_large_buffers();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => cmd::train::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Import(a) => cmd::import::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Data(a) => cmd::data::run(a),
        Command::Metrics(a) => cmd::metrics::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Doctor(a) => cmd::doctor::run(a),
        Command::Compare(a) => cmd::compare::run(a),
        Command::Synth(a) => cmd::synth::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
