//! `semiseg import`: a run from a PyTorch checkpoint of the reference code (CAML's
//! `iter_15000.pth`, FBA-Net's `*_best_model.pth`, an MC-Net+ or V-Net state dict, an SSL4MIS
//! UNet or UNet_CCT), ready for
//! `semiseg eval` and `semiseg predict`.

use anyhow::{anyhow, Result};
use semiseg_train::config::Config;
use semiseg_train::import::import_run;
use semiseg_train::trainer::RunDir;
use std::path::PathBuf;

/// Import a PyTorch state dict into a run directory.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.pth` / `.pt` file (`torch.save(model.state_dict())`).
    pth: PathBuf,
    /// Config describing the network (e.g. configs/la-8-caml.toml).
    #[arg(long)]
    config: PathBuf,
    /// Run directory to create.
    #[arg(long)]
    out: PathBuf,
    /// Key under which the file nests its weights (`state_dict`, `model`), if any.
    #[arg(long)]
    key: Option<String>,
    /// Override a config value (repeatable), as in `semiseg train`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// Runs `semiseg import`.
pub fn run(args: Args) -> Result<()> {
    let cfg = Config::from_file(&args.config, &args.set)?;
    let run = RunDir(args.out.clone());
    import_run(&cfg, &args.pth, args.key.as_deref(), &run, "last").map_err(|e| anyhow!(e))?;
    println!("imported {} into {} (checkpoint 'last'); use: semiseg eval --run {} --checkpoint last", args.pth.display(), run.0.display(), run.0.display());
    Ok(())
}
