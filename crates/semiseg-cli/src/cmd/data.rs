//! `semiseg data inspect|convert`.

use crate::progress::bar;
use anyhow::{bail, Context, Result};
use semiseg_data::convert::{convert_dataset, convert_file, ArrayKind, Intensity};
use semiseg_data::crop::{learn_from_split, Crop, UA_MT_SIZE};
use semiseg_data::inspect::inspect;
use semiseg_data::io::atomic;
use semiseg_data::layout::detect;
use std::path::PathBuf;

/// Dataset tools.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DataCommand {
    /// Detect the layout of a dataset folder, read every case, and list counts, shapes, spacing,
    /// intensities, label values, foreground fraction and every problem (exit 1 on errors).
    Inspect {
        /// Dataset folder.
        path: PathBuf,
        /// Also write the full report (every case) as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Convert a file, or a whole dataset into the paired layout (images/, labels/, *.list).
    Convert {
        /// Input file or dataset folder.
        #[arg(long)]
        input: PathBuf,
        /// Output file (format from its extension) or folder (with --to).
        #[arg(long)]
        output: PathBuf,
        /// For a file: convert the label (h5: the `label` dataset) instead of the image.
        #[arg(long)]
        label: bool,
        /// For a folder: output format, one of nii.gz, nii, png, npy.
        #[arg(long)]
        to: Option<String>,
        /// For a folder: write each volume as 2-D slices (<id>_slice_<k>).
        #[arg(long)]
        slices: bool,
        #[command(flatten)]
        axes: super::H5AxesArg,
        /// Stretch each image to 0-255 (lossy; for viewing float volumes as PNG).
        #[arg(long)]
        rescale: bool,
        /// Z-score each image over its whole volume, before any crop (UA-MT's LA preprocessing).
        #[arg(long, conflicts_with = "rescale")]
        zscore: bool,
        /// For a folder of volumes: crop each case in its first two axes before writing.
        /// `label-box`: UA-MT's LA preprocessing, around the case's own label (at least 112×112,
        /// random 10-19 voxel margins), so test crops are placed by their ground truth;
        /// `training-prior`: leak-free, one box learned from the `train` split's labels and placed
        /// alike in every case.
        #[arg(long, value_parser = ["label-box", "training-prior"])]
        crop: Option<String>,
        /// Seed of label-box's random margins.
        #[arg(long, default_value_t = 0)]
        crop_seed: u64,
        /// Voxels added around every training label by training-prior.
        #[arg(long, default_value_t = 20)]
        crop_margin: usize,
    },
}

/// Runs a `data` subcommand.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        DataCommand::Inspect { path, json } => {
            let ds = detect(&path)?;
            let n: usize = ds.splits.values().map(Vec::len).sum();
            let pb = bar(n, "reading");
            let report = inspect(&ds, &|| pb.inc(1));
            pb.finish_and_clear();
            print!("{}", report.to_text());
            for (name, cases) in &ds.splits {
                let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
                if let Some(warning) = semiseg_data::id_classes::listed_by_class(name, &ids) {
                    println!("warning: {warning}");
                }
            }
            if let Some(j) = json {
                let text = serde_json::to_string_pretty(&report)?;
                atomic::write_bytes(&j, text.as_bytes())?;
                eprintln!("report written to {}", j.display());
            }
            if report.has_errors() {
                bail!("{} has problems (listed above)", path.display());
            }
            Ok(())
        }
        DataCommand::Convert { input, output, label, to, slices, axes, rescale, zscore, crop, crop_seed, crop_margin } => {
            let intensity = match (rescale, zscore) {
                (true, _) => Intensity::Rescale8Bit,
                (_, true) => Intensity::ZScore,
                _ => Intensity::Keep,
            };
            let axes = axes.order();
            if input.is_dir() {
                let Some(ext) = to else { bail!("converting a folder needs --to nii.gz|nii|png|npy") };
                let ds = detect(&input)?;
                let crop = match crop.as_deref() {
                    Some("label-box") => Some(Crop::LabelBox { size: UA_MT_SIZE, seed: crop_seed }),
                    Some(_) => {
                        let prior = learn_from_split(&ds, "train", UA_MT_SIZE, crop_margin)?;
                        println!("training-prior crop: {} x {} voxels centred at {:.3}, {:.3} of each volume", prior.size[0], prior.size[1], prior.centre[0], prior.centre[1]);
                        Some(Crop::TrainingPrior(prior))
                    }
                    None => None,
                };
                let n: usize = ds.splits.values().map(Vec::len).sum();
                let pb = bar(n, "converting");
                let problems = convert_dataset(&ds, &output, ext.trim_start_matches('.'), slices, intensity, crop.as_ref(), &|| pb.inc(1))?;
                pb.finish_and_clear();
                for p in &problems {
                    eprintln!("error {}: {}", p.path.display(), p.message);
                }
                if !problems.is_empty() {
                    bail!("{} cases could not be converted (listed above)", problems.len());
                }
                println!("converted {} into {}", input.display(), output.display());
                Ok(())
            } else {
                if crop.is_some() {
                    bail!("--crop works on a dataset folder (the crop of a case depends on its label or the training labels); {} is a file", input.display());
                }
                let kind = if label { ArrayKind::Label } else { ArrayKind::Image };
                convert_file(&input, &output, kind, axes, intensity).with_context(|| format!("converting {}", input.display()))?;
                println!("wrote {}", output.display());
                Ok(())
            }
        }
    }
}
