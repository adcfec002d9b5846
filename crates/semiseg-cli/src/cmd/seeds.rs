//! `semiseg train --seeds 1,2,3`: one config trained once per seed, each run in `OUT/seed-N`,
//! two at a time with one thread each when the machine has at least two cores (small networks
//! gain little from a second thread), then the mean ± sample standard deviation (n − 1) over the
//! seeds of every test metric, for the best-on-validation and the last checkpoint
//! (`OUT/seeds.json`). A finished seed is skipped and an interrupted one resumed, so the same
//! command carries a sweep across sessions.

use anyhow::{anyhow, bail, Context, Result};
use semiseg_data::io::atomic;
use semiseg_metrics::paired::mean_and_sample_std;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::{Command, Stdio};

/// The seeds of `--seeds` (comma-separated, distinct).
pub fn parse_seeds(text: &str) -> Result<Vec<u64>> {
    let seeds: Vec<u64> = text.split(',').map(|s| s.trim().parse().map_err(|_| anyhow!("--seeds '{text}': '{s}' is not a non-negative integer"))).collect::<Result<_>>()?;
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if seeds.is_empty() || sorted.len() != seeds.len() {
        bail!("--seeds '{text}': give distinct seeds, e.g. 1,2,3");
    }
    Ok(seeds)
}

/// The `semiseg train` arguments of one seed's run: a new run, or the resumption of one.
fn seed_command(config: Option<&Path>, set: &[String], dir: &Path, seed: u64) -> Vec<String> {
    if dir.join("checkpoints/last.ckpt").is_file() {
        return vec!["train".into(), "--resume".into(), dir.display().to_string()];
    }
    let mut args = vec!["train".to_string()];
    if let Some(c) = config {
        args.extend(["--config".into(), c.display().to_string()]);
    }
    for s in set {
        args.extend(["--set".into(), s.clone()]);
    }
    args.extend(["--set".into(), format!("seed={seed}"), "--out".into(), dir.display().to_string()]);
    args
}

/// Trains every seed (skipping finished ones) and writes the summary over seeds.
pub fn run_seeds(config: Option<&Path>, set: &[String], out: &Path, seeds: &[u64]) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    let exe = std::env::current_exe()?;
    let lanes = if seeds.len() > 1 && std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) >= 2 { 2 } else { 1 };
    let pending: Vec<u64> = seeds.iter().copied().filter(|s| !out.join(format!("seed-{s}/eval/test_best/summary.json")).is_file()).collect();
    eprintln!("{} seed(s) to train ({} finished), {lanes} at a time; logs in {}/seed-N.log", pending.len(), seeds.len() - pending.len(), out.display());
    for group in pending.chunks(lanes) {
        let mut children = Vec::new();
        for &seed in group {
            let dir = out.join(format!("seed-{seed}"));
            let log = std::fs::File::create(out.join(format!("seed-{seed}.log")))?;
            let mut cmd = Command::new(&exe);
            cmd.args(seed_command(config, set, &dir, seed)).stdout(log.try_clone()?).stderr(log).stdin(Stdio::null());
            if lanes > 1 {
                cmd.env("RAYON_NUM_THREADS", "1");
            }
            children.push((seed, cmd.spawn().with_context(|| format!("starting the run of seed {seed}"))?));
        }
        for (seed, mut child) in children {
            if !child.wait()?.success() {
                bail!("the run of seed {seed} failed: see {}", out.join(format!("seed-{seed}.log")).display());
            }
        }
    }
    let summary = summarize(out, seeds)?;
    atomic::write_bytes(&out.join("seeds.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    for checkpoint in ["best", "last"] {
        println!("test, {checkpoint} checkpoint, mean ± sample std over seeds {seeds:?}:");
        if let Some(metrics) = summary[checkpoint].as_object() {
            for (name, v) in metrics {
                println!("  {name:<10} {:.4} ± {:.4}", v["mean"].as_f64().unwrap_or(f64::NAN), v["std"].as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    println!("written to {}", out.join("seeds.json").display());
    println!("paired comparison with another method's runs (a folder of seeds or run directories): semiseg compare {} OTHER", out.display());
    Ok(())
}

/// Mean and sample std over seeds of each overall test metric, per checkpoint (`null` for a
/// checkpoint no seed was scored with).
fn summarize(out: &Path, seeds: &[u64]) -> Result<Value> {
    let mut result = json!({"seeds": seeds});
    for checkpoint in ["best", "last"] {
        // metric → its mean in each seed's run, in the order the summaries list them
        let mut per_metric: Vec<(String, Vec<f64>)> = Vec::new();
        for seed in seeds {
            let path = out.join(format!("seed-{seed}/eval/test_{checkpoint}/summary.json"));
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let v: Value = serde_json::from_str(&text).with_context(|| path.display().to_string())?;
            let overall = v["summary"]["overall"].as_object().ok_or_else(|| anyhow!("{}: no summary.overall", path.display()))?;
            for (name, m) in overall {
                let Some(mean) = m["mean"].as_f64() else { continue };
                match per_metric.iter_mut().find(|(n, _)| n == name) {
                    Some((_, list)) => list.push(mean),
                    None => per_metric.push((name.clone(), vec![mean])),
                }
            }
        }
        let metrics: Map<String, Value> = per_metric
            .into_iter()
            .map(|(name, runs)| {
                let (mean, std) = mean_and_sample_std(&runs);
                (name, json!({"mean": mean, "std": std, "runs": runs}))
            })
            .collect();
        result[checkpoint] = if metrics.is_empty() { Value::Null } else { Value::Object(metrics) };
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_or_explain() {
        assert_eq!(parse_seeds("1, 2,3").unwrap(), vec![1, 2, 3]);
        assert!(parse_seeds("1,1").unwrap_err().to_string().contains("distinct"));
        assert!(parse_seeds("1,x").unwrap_err().to_string().contains("'x'"));
    }

    #[test]
    fn a_started_seed_resumes_and_a_new_one_sets_its_seed() {
        let d = tempfile::tempdir().unwrap();
        let fresh = seed_command(Some(Path::new("c.toml")), &["train.iterations=5".into()], &d.path().join("seed-3"), 3);
        assert_eq!(fresh[..3], ["train", "--config", "c.toml"]);
        assert!(fresh.windows(2).any(|w| w[0] == "--set" && w[1] == "seed=3"));
        std::fs::create_dir_all(d.path().join("seed-3/checkpoints")).unwrap();
        std::fs::write(d.path().join("seed-3/checkpoints/last.ckpt"), b"x").unwrap();
        let again = seed_command(None, &[], &d.path().join("seed-3"), 3);
        assert_eq!(again[..2], ["train", "--resume"]);
    }
}
