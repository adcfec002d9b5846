//! `semiseg compare`: two sets of runs (one method each, typically one run per seed: a
//! `train --seeds` folder is a set) compared case by case on the same evaluation split. Each
//! case's metric is averaged over its classes, then over the runs of a set; the paired differences A − B give the mean difference, its 95 %
//! confidence interval and the Wilcoxon signed-rank p value (`semiseg_metrics::paired`).

use anyhow::{anyhow, bail, Context, Result};
use semiseg_data::io::atomic;
use semiseg_metrics::paired::compare_paired;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Compare two sets of runs case by case.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Runs of method A: run directories, comma-separated (e.g. one per seed), or a folder of
    /// runs such as the OUT of `train --seeds` (every subfolder holding a run).
    runs_a: String,
    /// Runs of method B, the same way.
    runs_b: String,
    /// Metric: a column of the runs' per-case CSV (dice, jaccard, hd95, asd, precision, ...).
    #[arg(long, default_value = "dice")]
    metric: String,
    /// Evaluation to compare, a folder of each run's `eval/` (test_best, test_last, ...).
    #[arg(long, default_value = "test_best")]
    eval: String,
    /// Also write the result as JSON to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Per case, the metric averaged over the case's classes, from one run's per-case CSV.
fn per_case(run: &Path, eval: &str, metric: &str) -> Result<BTreeMap<String, f64>> {
    let csv = run.join("eval").join(eval).join("per_case.csv");
    let text = std::fs::read_to_string(&csv).with_context(|| format!("{}: cannot read (run `semiseg eval` on this run first?)", csv.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or_else(|| anyhow!("{}: empty file", csv.display()))?.split(',').collect();
    let column = header.iter().position(|h| *h == metric).ok_or_else(|| anyhow!("{}: no column '{metric}' (columns: {})", csv.display(), header.join(", ")))?;
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let value: f64 = cells
            .get(column)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("{}: line {}: no number in column '{metric}'", csv.display(), i + 2))?;
        let entry = sums.entry(cells[0].to_string()).or_insert((0.0, 0));
        entry.0 += value;
        entry.1 += 1;
    }
    Ok(sums.into_iter().map(|(case, (sum, n))| (case, sum / n as f64)).collect())
}

/// The runs `path` names: itself when it is a run (it has `config.toml` or `eval/`), else its
/// subfolders that are runs, in name order (`train --seeds`'s `seed-N`).
pub fn runs_in(path: &Path) -> Result<Vec<PathBuf>> {
    let is_run = |p: &Path| p.join("config.toml").is_file() || p.join("eval").is_dir();
    if is_run(path) {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).with_context(|| format!("{}: not a run directory or a folder of runs", path.display()))?;
    let mut runs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_run(p)).collect();
    if runs.is_empty() {
        bail!("{}: neither a run (no config.toml or eval/) nor a folder of runs (no subfolder holds one)", path.display());
    }
    runs.sort();
    Ok(runs)
}

/// Per case, the mean over the runs of a set; every run must hold the same cases.
fn set_means(runs: &str, eval: &str, metric: &str) -> Result<(Vec<PathBuf>, BTreeMap<String, f64>)> {
    let mut dirs = Vec::new();
    for entry in runs.split(',').filter(|s| !s.is_empty()) {
        dirs.extend(runs_in(Path::new(entry))?);
    }
    if dirs.is_empty() {
        bail!("no run directory in '{runs}'");
    }
    let tables = dirs.iter().map(|d| per_case(d, eval, metric)).collect::<Result<Vec<_>>>()?;
    for (dir, table) in dirs.iter().zip(&tables).skip(1) {
        if table.keys().ne(tables[0].keys()) {
            bail!("{} and {} scored different cases in eval/{eval}", dirs[0].display(), dir.display());
        }
    }
    let means = tables[0].keys().map(|case| (case.clone(), tables.iter().map(|t| t[case]).sum::<f64>() / tables.len() as f64)).collect();
    Ok((dirs, means))
}

/// Runs `semiseg compare`.
pub fn run(args: Args) -> Result<()> {
    let (dirs_a, a) = set_means(&args.runs_a, &args.eval, &args.metric)?;
    let (dirs_b, b) = set_means(&args.runs_b, &args.eval, &args.metric)?;
    if a.keys().ne(b.keys()) {
        let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).take(5).cloned().collect();
        let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).take(5).cloned().collect();
        bail!("the two sets scored different cases (only in A: {only_a:?}, only in B: {only_b:?}): compare runs evaluated on the same split");
    }
    let (va, vb): (Vec<f64>, Vec<f64>) = a.keys().map(|k| (a[k], b[k])).unzip();
    let c = compare_paired(&va, &vb).map_err(|e| anyhow!("{}: {e}", args.metric))?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("{} on eval/{}: {} cases; A = {} run(s), B = {} run(s)", args.metric, args.eval, c.n, dirs_a.len(), dirs_b.len());
    println!("mean A {:.4}, mean B {:.4}", mean(&va), mean(&vb));
    println!(
        "A − B: {:+.4} (95 % CI {:+.4} to {:+.4}); Wilcoxon signed-rank W = {}, p = {} ({})",
        c.mean_difference,
        c.ci95[0],
        c.ci95[1],
        c.wilcoxon_statistic,
        if c.p_value < 1e-3 { format!("{:.1e}", c.p_value) } else { format!("{:.4}", c.p_value) },
        if c.exact { "exact" } else { "normal approximation" }
    );
    if let Some(out) = &args.out {
        let names = |d: &[PathBuf]| d.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
        let report = json!({"metric": args.metric, "eval": args.eval, "runs_a": names(&dirs_a), "runs_b": names(&dirs_b), "mean_a": mean(&va), "mean_b": mean(&vb), "comparison": c});
        atomic::write_bytes(out, serde_json::to_string_pretty(&report)?.as_bytes()).with_context(|| out.display().to_string())?;
        println!("written to {}", out.display());
    }
    Ok(())
}
