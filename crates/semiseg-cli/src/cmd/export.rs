//! `semiseg export`: a trained run's network as a PyTorch state dict under the reference code's
//! key names (the inverse of `semiseg import`), for the paper's own test script or MONAI.
//! 3-D: V-Net / MC-Net+, CAML, FBA-Net(+); 2-D: SSL4MIS's UNet (`UNet_CCT` for CCT).

use anyhow::{anyhow, Result};
use semiseg_train::checkpoint;
use semiseg_train::config::Config;
use semiseg_train::export::{state_from_parts, write_state, Layout};
use semiseg_train::trainer::RunDir;
use std::path::PathBuf;

/// Export a run's network as a PyTorch state dict.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run directory.
    run: PathBuf,
    /// Checkpoint name in <run>/checkpoints (best, last, ...).
    #[arg(long, default_value = "best")]
    checkpoint: String,
    /// File format: `pth` (`torch.load(..., weights_only=True)`) or `safetensors`.
    #[arg(long, value_parser = ["pth", "safetensors"], default_value = "pth")]
    format: String,
    /// Key layout of a one-decoder V-Net: `split` (`encoder.…`, `decoder1.…`, as MC-Net, CAML
    /// and FBA-Net) or `flat` (UA-MT's `networks/vnet.py`).
    #[arg(long, value_parser = ["split", "flat"], default_value = "split")]
    layout: String,
    /// Checkpoint part to export (`teacher`, CPS's `net2`, ...); default: the network the
    /// method predicts with.
    #[arg(long)]
    part: Option<String>,
    /// File to write.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `semiseg export`.
pub fn run(args: Args) -> Result<()> {
    let run = RunDir(args.run.clone());
    let cfg = Config::from_file(&run.config(), &[])?;
    let (state, parts) = checkpoint::load(&run.checkpoint(&args.checkpoint)).map_err(|e| anyhow!(e))?;
    let layout = if args.layout == "flat" { Layout::Flat } else { Layout::Split };
    let exported = state_from_parts(&cfg, &parts, layout, args.part.as_deref()).map_err(|e| anyhow!("{}: {e}", run.checkpoint(&args.checkpoint).display()))?;
    write_state(&exported, &args.format, &args.out).map_err(|e| anyhow!(e))?;
    println!(
        "wrote {} ({} tensors, checkpoint '{}' at iteration {}); in PyTorch: model.load_state_dict({}, strict=True)",
        args.out.display(),
        exported.floats.tensors.len() + exported.counters.len(),
        args.checkpoint,
        state.iteration,
        if args.format == "pth" { "torch.load(FILE, weights_only=True)" } else { "safetensors.torch.load_file(FILE)" }
    );
    Ok(())
}
