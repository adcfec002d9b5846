//! `semiseg`: semi-supervised medical image segmentation from the command line.
//!
//! This file only parses arguments and dispatches; each verb lives in `cmd/<verb>.rs` and calls
//! the library crates.

mod cmd;
mod progress;

use clap::{Parser, Subcommand};

/// Semi-supervised medical image segmentation: data, metrics, benchmarks.
#[derive(Debug, Parser)]
#[command(name = "semiseg", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect and convert datasets (PNG/JPG folders, NIfTI, nnU-Net/MSD, SSL4MIS/UA-MT h5, NPY).
    Data(cmd::data::Args),
    /// Score predictions against ground truth (Dice, Jaccard, HD95, ASD, ASSD, NSD, ...).
    Metrics(cmd::metrics::Args),
    /// Time a workload on this machine (see --model for what can be timed).
    Bench(cmd::bench::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(a) => cmd::data::run(a),
        Command::Metrics(a) => cmd::metrics::run(a),
        Command::Bench(a) => cmd::bench::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
