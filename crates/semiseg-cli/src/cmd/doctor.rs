//! `semiseg doctor`: check that a device trains right before a long run on it. For each
//! network, one training step on the CPU and on the device from the same weights and batch
//! ([`semiseg_train::doctor`]); prints the loss gap, the worst gradient gaps by name, the
//! running statistics, and each side's time and memory; exits non-zero when a gap exceeds its
//! tolerance.

use anyhow::{bail, Result};
use semiseg_train::doctor::{self, Check, Gap, Report, Tolerance, NETWORKS};

/// Check that training on a device matches the CPU, tensor by tensor.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The device to check: wgpu, wgpu:N or cuda:N (cpu checks the CPU against itself).
    #[arg(long)]
    device: String,
    /// Networks to check, comma-separated (default: all of unet2d, clcc, mgcc, vnet, caml,
    /// fbanet, vae, denoiser).
    #[arg(long, value_delimiter = ',')]
    model: Vec<String>,
    /// Spatial size for every network checked: 256 or 256x256 (2-D), 112x112x80 (3-D);
    /// default a small size per network (64² in 2-D, 32³ in 3-D, 8² latents for the denoiser).
    #[arg(long)]
    size: Option<String>,
    /// Samples per batch.
    #[arg(long, default_value_t = 2)]
    batch: usize,
    /// Gradient tolerance: each tensor's largest difference over its own largest value.
    #[arg(long, default_value_t = 1e-3)]
    tolerance: f32,
    /// Gradient gaps to name per network.
    #[arg(long, default_value_t = 3)]
    show: usize,
    /// Skip the untimed warm-up step on each side (halves the time; the step time then
    /// includes kernel compilation).
    #[arg(long)]
    no_warmup: bool,
}

/// `256` → `[256, 256]` for a 2-D network; `112x112x80` for a 3-D one.
fn parse_size(s: &str, volume: bool) -> Result<Vec<usize>> {
    let v: Vec<usize> = s.split('x').map(|p| p.trim().parse()).collect::<Result<_, _>>().map_err(|_| anyhow::anyhow!("--size '{s}': expected 256, 256x256 or 112x112x80"))?;
    Ok(match (v.as_slice(), volume) {
        ([a], false) => vec![*a, *a],
        ([a], true) => vec![*a, *a, *a],
        _ => v,
    })
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "memory unknown".into(), |b| format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64))
}

/// The lines `doctor` prints for one report.
pub fn describe(r: &Report, device: &str, tol: &Tolerance, show: usize) -> Vec<String> {
    let dims = r.check.size.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("x");
    let mut lines = vec![format!("{} (batch {}, {dims}), cpu vs {device}:", r.check.network, r.check.batch)];
    lines.push(format!("  loss {:.6} vs {:.6}: relative gap {:.1e} (tolerance {:.0e})", r.cpu.loss, r.device.loss, r.loss_gap(), tol.loss));
    let worst: Vec<String> = r.worst_gradients(tol).into_iter().take(show).map(|g| format!("{} {:.1e} (rounding floor {:.1e})", g.name, r.judged_gap(g, tol), r.judged_floor(g, tol))).collect();
    let vanishing = r.gradients.iter().filter(|g| r.is_vanishing(g, tol)).count();
    lines.push(format!(
        "  gradients of {} tensors ({vanishing} vanishing, judged against the network's largest), worst: {} (tolerance {:.0e}, or {}× the rounding floor where larger)",
        r.gradients.len(),
        worst.join(", "),
        tol.gradient,
        tol.floor_factor
    ));
    if !r.running.is_empty() {
        let worst = r.running.iter().map(Gap::relative).fold(0f32, f32::max);
        lines.push(format!("  running statistics of {} tensors, worst relative gap {worst:.1e} (tolerance {:.0e})", r.running.len(), tol.running));
    }
    let held = if device == "cpu" { "peak resident" } else { "reserved" };
    lines.push(format!("  step: cpu {:.3} s, {} peak resident; {device} {:.3} s, {} {held}", r.cpu.seconds, mib(r.cpu.memory), r.device.seconds, mib(r.device.memory)));
    lines
}

/// Runs the checks and prints them.
pub fn run(args: Args) -> Result<()> {
    let device = semiseg_train::config::open_device(&args.device).map_err(anyhow::Error::msg)?;
    let networks: Vec<String> = if args.model.is_empty() { NETWORKS.iter().map(|s| s.to_string()).collect() } else { args.model.clone() };
    let tol = Tolerance { gradient: args.tolerance, ..Tolerance::default() };
    let mut failed = Vec::new();
    for name in &networks {
        let mut check = Check::small(name);
        if let Some(s) = &args.size {
            check.size = parse_size(s, check.size.len() == 3)?;
        }
        check.batch = args.batch;
        check.warmup = !args.no_warmup;
        let report = doctor::run(&check, &device).map_err(anyhow::Error::msg)?;
        for line in describe(&report, &args.device, &tol, args.show) {
            println!("{line}");
        }
        let failures = report.failures(&tol);
        if failures.is_empty() {
            println!("  ok");
        } else {
            for f in &failures {
                println!("  FAILED: {f}");
            }
            failed.push(name.clone());
        }
    }
    if !failed.is_empty() {
        bail!("{} does not train like the CPU: {} (see above)", args.device, failed.join(", "));
    }
    println!("{}: all {} networks train like the CPU", args.device, networks.len());
    Ok(())
}
