//! `semiseg train`: train a method from a TOML config (default: the built-in demo), resume an
//! interrupted run, stop cleanly on Ctrl-C; the run directory is locked while it trains.

use crate::progress::{bar, stop_on_ctrl_c, BarObserver};
use anyhow::{anyhow, bail, Result};
use semiseg_train::config::Config;
use semiseg_train::run_lock::RunLock;
use semiseg_train::trainer::{train, Outcome, RunDir};
use std::path::{Path, PathBuf};

/// The built-in default configuration (`configs/demo.toml`).
pub const DEMO_CONFIG: &str = include_str!("../../../../configs/demo.toml");

/// The demo's semi-supervised method against supervised training of the same config over
/// seeds, recorded by `scripts/demo_record.sh`, printed at the end of the demo.
const DEMO_COMPARISON: &str = include_str!("../../../../demo/seeds_comparison.json");

/// "mean teacher X ± s vs supervised Y ± s over N seeds (p = …)" per checkpoint, with the date
/// and the script of the recorded comparison.
fn demo_comparison_lines() -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(DEMO_COMPARISON).ok()?;
    let method = v["method"].as_str()?.replace('_', " ");
    let seeds = v["seeds"].as_array()?.len();
    let mut lines = vec![format!(
        "recorded {} by {} for this config (test Dice over {seeds} seeds, mean ± sample std; paired over the test volumes):",
        v["date"].as_str()?,
        v["made_by"].as_str()?
    )];
    for (key, name) in [("best", "best-on-validation"), ("last", "last")] {
        let c = &v[key];
        let side = |s: &str| Some(format!("{:.4} ± {:.4}", c[s]["mean"].as_f64()?, c[s]["std"].as_f64()?));
        lines.push(format!(
            "  {name} checkpoints: {method} {} vs supervised {} over {seeds} seeds (difference {:+.4}, p = {:.3}, {} volumes)",
            side("semi_supervised")?,
            side("supervised")?,
            c["difference"].as_f64()?,
            c["p"].as_f64()?,
            c["cases"].as_u64()?
        ));
    }
    Some(lines)
}

/// Train a segmentation method.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// TOML config (default: the built-in demo, mean teacher on a small ACDC subset).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override a config value, e.g. `--set train.iterations=100` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run directory (default: runs/<name>, or runs/<name>-N if that exists).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Resume the run in this directory from its last checkpoint, with its saved config.
    #[arg(long, conflicts_with_all = ["config", "set", "out", "seeds"])]
    resume: Option<PathBuf>,
    /// Train once per seed (e.g. `1,2,3`), two runs at a time, into OUT/seed-N, then write the
    /// mean ± sample std of every test metric to OUT/seeds.json (run again to resume).
    #[arg(long)]
    seeds: Option<String>,
    #[command(flatten)]
    device: super::DeviceArg,
    /// What convolutions compute in on a GPU device: f32, f16 (with dynamic loss scaling) or
    /// bf16 (default: the config's `train.precision`, else f32).
    #[arg(long, value_parser = semiseg_nn::precision::Precision::NAMES)]
    precision: Option<String>,
}

/// A data folder relative to the working directory, or else to the source tree (so the demo runs
/// from anywhere inside a checkout), made absolute: the run's saved config must find it again
/// when `eval`, `predict` or `report` run from another directory.
pub fn resolve_root(root: &Path) -> PathBuf {
    let found = if root.is_absolute() || root.exists() {
        root.to_path_buf()
    } else {
        let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(root);
        if in_tree.exists() { in_tree } else { root.to_path_buf() }
    };
    std::fs::canonicalize(&found).or_else(|_| std::path::absolute(&found)).unwrap_or(found)
}

fn fresh_run_dir(name: &str) -> PathBuf {
    let base = PathBuf::from("runs").join(name);
    if !base.exists() {
        return base;
    }
    (2..).map(|i| PathBuf::from("runs").join(format!("{name}-{i}"))).find(|p| !p.exists()).expect("some free name")
}

/// Runs `semiseg train`.
pub fn run(mut args: Args) -> Result<()> {
    // the demo's baseline line is printed only for the demo as shipped (a device is no change)
    let plain_demo = args.config.is_none() && args.resume.is_none() && args.set.is_empty();
    // --device and --precision also apply to a resumed run (its config is otherwise fixed)
    let precision_override = super::string_override("train.precision", args.precision.as_deref());
    let run_overrides: Vec<String> = args.device.as_override("train.device").into_iter().chain(precision_override).collect();
    args.set.extend(run_overrides.iter().cloned());
    if let Some(seeds) = &args.seeds {
        let seeds = super::seeds::parse_seeds(seeds)?;
        let name = match &args.config {
            Some(path) => Config::from_file(path, &args.set)?.name,
            None => Config::from_toml(DEMO_CONFIG, "built-in demo config", &args.set)?.name,
        };
        let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(format!("{name}-seeds")));
        return super::seeds::run_seeds(args.config.as_deref(), &args.set, &out, &seeds);
    }
    let (cfg, run_dir, resume, _lock) = match &args.resume {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("{}: no such run directory to resume", dir.display());
            }
            let lock = RunLock::acquire(dir).map_err(|e| anyhow!(e))?;
            let cfg = Config::from_file(&dir.join("config.toml"), &run_overrides)?;
            if !dir.join("checkpoints/last.ckpt").is_file() {
                bail!("{}: no checkpoints/last.ckpt to resume from", dir.display());
            }
            (cfg, dir.clone(), true, lock)
        }
        None => {
            let mut cfg = match &args.config {
                Some(path) => Config::from_file(path, &args.set)?,
                None => Config::from_toml(DEMO_CONFIG, "built-in demo config", &args.set)?,
            };
            cfg.data.root = resolve_root(&cfg.data.root);
            cfg.data.unlabeled_dirs = cfg.data.unlabeled_dirs.iter().map(|d| resolve_root(d)).collect();
            let dir = args.out.clone().unwrap_or_else(|| fresh_run_dir(&cfg.name));
            // locked before the check, so a run that starts meanwhile cannot slip past it
            let lock = RunLock::acquire(&dir).map_err(|e| anyhow!(e))?;
            if dir.join("checkpoints/last.ckpt").exists() {
                bail!("{} already holds a run: use --resume {} or another --out", dir.display(), dir.display());
            }
            (cfg, dir, false, lock)
        }
    };
    let stop = stop_on_ctrl_c()?;
    eprintln!("run directory: {}", run_dir.display());
    eprintln!("method {} on {} ({} labeled {}), {} iterations", cfg.method.name, cfg.data.root.display(), cfg.data.labeled, cfg.data.labeled_unit, cfg.train.iterations);
    let pb = bar(cfg.train.iterations, "training");
    let mut obs = BarObserver { bar: pb.clone() };
    let outcome = train(&cfg, &RunDir(run_dir.clone()), resume, &stop, &mut obs).map_err(|e| anyhow!(e))?;
    pb.finish_and_clear();
    match outcome {
        Outcome::Interrupted(t) => {
            println!("stopped at iteration {t}; resume with: semiseg train --resume {}", run_dir.display());
        }
        Outcome::Finished { test_dice_last, test_dice_best } => {
            if let Some(d) = test_dice_last {
                println!("test Dice (last checkpoint): {d:.4}");
            }
            if let Some(d) = test_dice_best {
                println!("test Dice (best-on-validation checkpoint): {d:.4}");
            }
            if plain_demo {
                for line in demo_comparison_lines().unwrap_or_default() {
                    println!("{line}");
                }
            }
            println!("run directory: {}", run_dir.display());
            // A failed plot must not hide a finished run: say why and carry on.
            match super::report::write_plots(&run_dir, "best", 4) {
                Ok(_) => println!("plots (training curves, test overlays: {}): {}", super::overlay::key(cfg.model.classes), run_dir.join("plots").display()),
                Err(e) => eprintln!("no plots: {e:#} (try `semiseg report --run {}`)", run_dir.display()),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_demo_comparison_prints_both_sides_over_seeds() {
        let lines = demo_comparison_lines().expect("demo/seeds_comparison.json has every field");
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("scripts/demo_record.sh"), "{}", lines[0]);
        for line in &lines[1..] {
            assert!(line.contains(" vs supervised ") && line.contains(" over 3 seeds ") && line.contains("p = "), "{line}");
        }
        let cfg = Config::from_toml(DEMO_CONFIG, "built-in demo config", &[]).unwrap();
        let recorded: serde_json::Value = serde_json::from_str(DEMO_COMPARISON).unwrap();
        assert_eq!(recorded["method"], cfg.method.name, "the record is of the shipped demo's method");
    }
}
