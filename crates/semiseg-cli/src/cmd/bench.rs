//! `semiseg bench`: time a workload the way `../shared/reference/torch_bench.py` times its
//! counterpart, so that the two figures from one machine give a ratio.
//!
//! `--model metrics`: HD95 + ASD (medpy convention) of every ground-truth label of a dataset
//! split against a copy eroded twice and shifted by (3, −2, 1) voxels, all cases in parallel.
//! `bench/medpy_metrics.py` times medpy on the same predictions and checks the values agree.
//!
//! `--model unet2d`: one training iteration (forward, `0.5·(CE + soft Dice)`, backward, SGD
//! 0.01 / 0.9 / 1e-4) or one inference forward, of the SSL4MIS UNet on a random batch, as
//! `torch_bench.py --model unet2d` times it: 2 warm-up iterations, median of 5.
//!
//! `--model clcc`: the same for CLCC's ProjUNet at 320² (RGB), every image whole and as its 5×5
//! grid of 64² patches, structure + PatchNCE + consistency loss (`torch_bench.py --model clcc`).
//! `--model mgcc`: MGCC at `dim_mult` 4 (122 M parameters), RGB 256², four decoders
//! (`torch_bench.py --model mgcc`).
//! `--model ops`: each op the networks spend their time in, alone, at a shape one of them uses
//! (`bench_ops.rs`; `bench/ops_torch.py` times PyTorch's).
//! `--model vnet|caml|fbanet`: the 3-D networks at 112×112×80, batch 4 (2 labeled + 2
//! unlabeled), with torch_bench.py's losses (`bench_net3d.rs`).

use anyhow::{bail, Result};
use ndarray::{ArrayD, Dimension, IxDyn};
use rayon::prelude::*;
use semiseg_data::layout::detect;
use semiseg_metrics::surface::erode;
use semiseg_metrics::{binary_metrics, Convention};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Time a workload on this machine.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to time: `metrics`, `ops` (each kernel alone, CPU), `unet2d`, `clcc`, `mgcc`, `vnet`,
    /// `caml`, `fbanet`.
    #[arg(long)]
    model: String,
    /// Network benchmarks: `train` (one full iteration) or `infer` (eval-mode forward).
    #[arg(long, default_value = "train", value_parser = ["train", "infer"])]
    mode: String,
    /// Network benchmarks: total batch (labeled first, as torch_bench.py; its default per
    /// network: 8 for the 2-D ones, 4 for the 3-D ones).
    #[arg(long)]
    batch: Option<usize>,
    /// Network benchmarks: input size, `256` or `256x256` (2-D), `112x112x80` (3-D); default
    /// torch_bench.py's: 256 (unet2d, mgcc), 320 (clcc), 112x112x80 (vnet, caml, fbanet).
    #[arg(long)]
    size: Option<String>,
    /// Untimed warm-up iterations.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Dataset folder (metrics: its labels are the ground truth).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Split of the dataset to use (default: test if present, else all).
    #[arg(long)]
    split: Option<String>,
    /// Timed repetitions (the median is reported).
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Print one JSON line.
    #[arg(long)]
    json: bool,
    /// Network benchmarks on the CPU: each kernel's share of the timed iterations (convolution
    /// forward / input gradient / weight gradient, batch norm, pooling, resizing, ...) and the
    /// rest (Burn's element-wise ops, `cat`, dropout, losses, optimizer).
    #[arg(long)]
    profile: bool,
    /// Network benchmarks on a GPU: convolutions in f32, f16 or bf16 (as `torch.autocast`,
    /// torch_bench.py's `--amp fp16|bf16`); the CPU computes in f32 only.
    #[arg(long, default_value = "f32")]
    precision: String,
    #[command(flatten)]
    device: super::DeviceArg,
}

/// The benchmark prediction: erode twice, then shift by (3, −2, 1) (2-D: (3, −2)) with zero fill.
pub fn eroded_shifted(gt: &ArrayD<bool>) -> Result<ArrayD<bool>> {
    let once = erode(&gt.view())?;
    let twice = erode(&once.view())?;
    let shift = [3isize, -2, 1];
    let shape = twice.shape().to_vec();
    Ok(ArrayD::from_shape_fn(IxDyn(&shape), |idx| {
        let mut src = Vec::with_capacity(shape.len());
        for (a, &i) in idx.slice().iter().enumerate() {
            let s = i as isize - shift[a];
            if s < 0 || s >= shape[a] as isize {
                return false;
            }
            src.push(s as usize);
        }
        twice[IxDyn(&src)]
    }))
}

/// Runs `semiseg bench`.
pub fn run(args: Args) -> Result<()> {
    match args.model.as_str() {
        "metrics" => bench_metrics(args),
        "ops" => super::bench_ops::bench_ops(args.warmup, args.iters, args.json),
        "unet2d" | "clcc" | "mgcc" => {
            let bench = net_bench(&args, 8, if args.model == "clcc" { "320" } else { "256" })?;
            let _precision = precision_scope(&args, &bench)?;
            super::bench_net::bench_network(&bench)
        }
        "vnet" | "caml" | "fbanet" => {
            let bench = net_bench(&args, 4, "112x112x80")?;
            let _precision = precision_scope(&args, &bench)?;
            super::bench_net3d::bench_volume_network(&bench)
        }
        other => bail!("unknown --model '{other}': available: metrics, ops, unet2d, clcc, mgcc, vnet, caml, fbanet"),
    }
}

/// `--precision` for the rest of this thread, refused where the device cannot compute in it.
fn precision_scope(args: &Args, bench: &super::bench_net::NetBench) -> Result<semiseg_nn::precision::PrecisionGuard> {
    let precision: semiseg_nn::precision::Precision = args.precision.parse().map_err(anyhow::Error::msg)?;
    precision.check(&bench.device).map_err(anyhow::Error::msg)?;
    Ok(semiseg_nn::precision::scoped(precision))
}

/// A network benchmark from the arguments, with torch_bench.py's batch and size by default.
fn net_bench(args: &Args, batch: usize, size: &str) -> Result<super::bench_net::NetBench> {
    let device_name = args.device.device.clone().unwrap_or_else(|| "cpu".into());
    Ok(super::bench_net::NetBench {
        model: args.model.clone(),
        mode: args.mode.clone(),
        batch: args.batch.unwrap_or(batch),
        size: args.size.clone().unwrap_or_else(|| size.to_string()),
        warmup: args.warmup,
        iters: args.iters,
        json: args.json,
        profile: args.profile,
        device: semiseg_train::config::open_device(&device_name).map_err(anyhow::Error::msg)?,
        device_name,
    })
}

fn bench_metrics(args: Args) -> Result<()> {
    let Some(data) = &args.data else { bail!("--model metrics needs --data DATASET (e.g. the LA folder)") };
    let ds = detect(data)?;
    let split = args.split.clone().unwrap_or_else(|| if ds.splits.contains_key("test") { "test".into() } else { ds.splits.keys().next().cloned().unwrap_or_default() });
    let cases = ds.split(&split)?;
    let mut inputs = Vec::new();
    for c in cases {
        let Some(l) = c.read_label()? else { continue };
        let gt = l.view_nd().mapv(|v| v != 0);
        let pred = eroded_shifted(&gt)?;
        inputs.push((pred, gt, l.spacing_nd().to_vec()));
    }
    if inputs.is_empty() {
        bail!("split '{split}' of {} has no labeled cases", data.display());
    }
    let run_once = || -> Result<Vec<(f64, f64)>> {
        inputs
            .par_iter()
            .map(|(p, g, sp)| {
                let m = binary_metrics(p.view(), g.view(), sp, Convention::Medpy, 1.0)?;
                Ok((m.hd95, m.asd))
            })
            .collect()
    };
    let values = run_once()?; // warm-up
    let mut times = Vec::new();
    for _ in 0..args.iters.max(1) {
        let t = Instant::now();
        run_once()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = semiseg_metrics::percentile::median(&times);
    let n = values.len() as f64;
    let mean_hd95 = values.iter().map(|v| v.0).sum::<f64>() / n;
    let mean_asd = values.iter().map(|v| v.1).sum::<f64>() / n;
    let threads = rayon::current_num_threads();
    if args.json {
        println!(
            "{}",
            json!({"model": "metrics", "cases": inputs.len(), "split": split, "threads": threads, "median_s": median, "min_s": times[0], "times_s": times, "mean_hd95": mean_hd95, "mean_asd": mean_asd})
        );
    } else {
        println!("metrics bench: {} cases of '{split}', {threads} threads", inputs.len());
        println!("  HD95 + ASD, median {:.4} s, min {:.4} s ({:.1} ms per case)", median, times[0], 1000.0 * median / n);
        println!("  mean HD95 {mean_hd95:.6}, mean ASD {mean_asd:.6} (compare with bench/medpy_metrics.py)");
    }
    Ok(())
}
