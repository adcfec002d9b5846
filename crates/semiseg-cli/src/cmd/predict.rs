//! `semiseg predict`: segment new images with a trained checkpoint. Masks are written in the
//! input's format and geometry: PNG for PNG/JPG (0/255 for two classes, class indices
//! otherwise), NIfTI (`.nii.gz`) with the source header for NIfTI and h5 inputs, NPY for NPY.

use crate::progress::bar;
use anyhow::{anyhow, bail, Result};
use ndarray::Array4;
use semiseg_data::io::{self, stem, Format};
use semiseg_data::layout::image_files_in;
use semiseg_train::infer::predict;
use semiseg_train::trainer::{load_run, LoadedRun};
use std::path::{Path, PathBuf};

/// Segment images (a file or every image of a folder) with a trained checkpoint.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    from: super::CheckpointArgs,
    #[command(flatten)]
    device: super::DeviceArg,
    /// An image file or a folder of images (any name; .png, .jpg, .nii(.gz), .h5, .npy).
    #[arg(long)]
    input: PathBuf,
    /// Output folder.
    #[arg(long)]
    output: PathBuf,
    /// Also write class probabilities as `<name>_prob.npy` ([K, D0, D1, D2], float32).
    #[arg(long)]
    probabilities: bool,
    #[command(flatten)]
    axes: super::H5AxesArg,
    /// Segment only part i of n of the inputs (0-based; name-sorted, every n-th from i), for
    /// array jobs: `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long, value_name = "I/N")]
    shard: Option<crate::shard::Shard>,
}

/// The output mask path for an input file.
fn mask_path(input: &Path, out: &Path) -> Result<PathBuf> {
    let ext = match Format::of(input)? {
        Format::Png | Format::Jpeg => "png",
        Format::Nifti | Format::H5 => "nii.gz",
        Format::Npy => "npy",
    };
    Ok(out.join(format!("{}.{ext}", stem(input))))
}

/// Runs `semiseg predict`.
pub fn run(args: Args) -> Result<()> {
    let LoadedRun { cfg, net, device, .. } = load_run(args.from.run.as_deref(), &args.from.checkpoint, args.device.device.as_deref()).map_err(|e| anyhow!(e))?;
    let inputs = if args.input.is_dir() { image_files_in(&args.input)? } else { vec![args.input.clone()] };
    if inputs.is_empty() {
        bail!("{}: no image files", args.input.display());
    }
    let inputs = match args.shard {
        Some(shard) => {
            let total = inputs.len();
            let part = shard.select(inputs);
            println!("shard {}/{}: {} of {total} inputs", shard.index, shard.count, part.len());
            part
        }
        None => inputs,
    };
    let pb = bar(inputs.len(), "predicting");
    let mut failed = Vec::new();
    for input in &inputs {
        let result = (|| -> Result<PathBuf> {
            let image = io::read_image_with(input, args.axes.order())?;
            let (mask, probs) = predict(&net, &image, &cfg, &device).map_err(|e| anyhow!(e))?;
            let out = mask_path(input, &args.output)?;
            io::write_label(&out, &mask)?;
            if args.probabilities {
                let p: Array4<f32> = probs;
                let prob_path = args.output.join(format!("{}_prob.npy", stem(input)));
                let img = semiseg_data::Image { data: p, spatial_dims: 3, geometry: semiseg_data::Geometry::unit() };
                io::write_image(&prob_path, &img)?;
            }
            Ok(out)
        })();
        pb.inc(1);
        if let Err(e) = result {
            failed.push(format!("{}: {e:#}", input.display()));
        }
    }
    pb.finish_and_clear();
    println!("{} of {} images segmented into {}", inputs.len() - failed.len(), inputs.len(), args.output.display());
    if !failed.is_empty() {
        bail!("{} images failed:\n  {}", failed.len(), failed.join("\n  "));
    }
    Ok(())
}
