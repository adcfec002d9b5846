//! `semiseg eval`: score a trained checkpoint on a split (per case and class).

use crate::progress::bar;
use anyhow::{anyhow, Result};
use semiseg_train::evaluate::{evaluate, with_scoring, write_report};
use semiseg_train::trainer::{dataset_splits, load_run, split_cases, LoadedRun};
use serde_json::json;
use std::path::PathBuf;

/// Evaluate a checkpoint on a dataset split; writes `<run>/eval/<split>_<checkpoint>/`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    from: super::CheckpointArgs,
    #[command(flatten)]
    device: super::DeviceArg,
    /// Split to score.
    #[arg(long, default_value = "test")]
    split: String,
    /// Dataset folder (default: the run's `data.root`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Metric convention (default: the run's `eval.convention`).
    #[arg(long)]
    convention: Option<String>,
    /// Score at the label's `original` grid or at the `network` input size (default: the run's
    /// `eval.resolution`).
    #[arg(long, value_parser = ["original", "network"])]
    resolution: Option<String>,
    /// `true`: threshold a one-logit net's raw logit at 0.5 (CLCC's legacy test script);
    /// `false`: its probability (default: the run's `eval.logit_threshold`).
    #[arg(long, value_name = "true|false")]
    logit_threshold: Option<bool>,
}

/// Runs `semiseg eval`.
pub fn run(args: Args) -> Result<()> {
    let LoadedRun { mut cfg, net, dir: run_dir, iteration, device } = load_run(args.from.run.as_deref(), &args.from.checkpoint, args.device.device.as_deref()).map_err(|e| anyhow!(e))?;
    if let Some(d) = &args.data {
        cfg.data.root = d.clone();
    }
    // scores under another convention than the run's go to their own folder
    let mut convention_suffix = String::new();
    if let Some(c) = &args.convention {
        c.parse::<semiseg_metrics::Convention>()?;
        if *c != cfg.eval.convention {
            convention_suffix = format!("_{c}");
        }
        cfg.eval.convention = c.clone();
    }
    if let Some(r) = &args.resolution {
        cfg.eval.resolution = r.clone();
    }
    if let Some(t) = args.logit_threshold {
        cfg.eval.logit_threshold = t;
    }
    let splits = dataset_splits(&cfg).map_err(|e| anyhow!(e))?;
    let cases = split_cases(&splits, &args.split, &cfg).map_err(|e| anyhow!(e))?;
    let pb = bar(cases.len(), "evaluating");
    let rows = evaluate(&net, cases, &cfg, &device, &|| pb.inc(1)).map_err(|e| anyhow!(e))?;
    pb.finish_and_clear();
    let ckpt_name = PathBuf::from(&args.from.checkpoint).file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let variant = format!(
        "{}{}{convention_suffix}",
        if cfg.eval.resolution == "network" { "_network" } else { "" },
        if cfg.eval.logit_threshold { "_logit" } else { "" }
    );
    let out = run_dir.join("eval").join(format!("{}_{ckpt_name}{variant}", args.split));
    // `best` given by name or as a path to best.ckpt was chosen on the validation split
    let on_test_note = if ckpt_name == "best" && !cfg.data.val_split.is_empty() && args.split == cfg.data.val_split {
        eprintln!("warning: the best checkpoint was chosen on split '{}', the split scored here: the figures are optimistic", args.split);
        "the best checkpoint was chosen on this same split (optimistic)"
    } else {
        ""
    };
    let meta = json!({"checkpoint": args.from.checkpoint, "iteration": iteration, "split": args.split, "data": cfg.data.root, "note": on_test_note});
    let summary = write_report(&out, &rows, with_scoring(meta, &cfg))?;
    println!("{} cases of '{}' ({} checkpoint), convention {}", rows.len(), args.split, args.from.checkpoint, cfg.eval.convention);
    print!("{}", summary.to_text());
    println!("written to {}", out.display());
    Ok(())
}
