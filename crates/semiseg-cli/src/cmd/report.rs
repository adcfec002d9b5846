//! `semiseg report --run DIR`: loss and validation curves from `train.jsonl`, and overlays of
//! predictions on test images (drawn by `overlay`), as PNG files in `<run>/plots/`.

use super::overlay::{overlay, with_legend};
use anyhow::{anyhow, bail, Context, Result};
use plotters::prelude::*;
use semiseg_train::infer::predict;
use semiseg_train::trainer::{load_run, read_dataset, split_cases, LoadedRun};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// DejaVu Sans (Bitstream Vera licence, `assets/DejaVuSans-LICENSE.txt`): plots need a font, and
/// embedding one keeps the build free of system font libraries.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Makes the embedded font plotters' "sans-serif".
pub(super) fn register_font() -> Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).map_err(|_| anyhow!("embedded font is invalid"))
}

/// Draw training curves and prediction overlays for a run.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directory.
    #[arg(long)]
    run: PathBuf,
    /// Checkpoint for the overlays (`best`, `last`, `iter_N`).
    #[arg(long, default_value = "best")]
    checkpoint: String,
    /// Number of test cases to overlay.
    #[arg(long, default_value_t = 4)]
    overlays: usize,
}

type Series = Vec<(f64, f64)>;

fn read_log(path: &Path) -> Result<(BTreeMap<String, Series>, Series, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut terms: BTreeMap<String, Series> = BTreeMap::new();
    let mut val = Vec::new();
    let mut val_metric = String::from("dice");
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).with_context(|| format!("{}: line {} is not JSON", path.display(), i + 1))?;
        let it = v["iter"].as_f64().unwrap_or(0.0);
        // the validation metric the run selects by (runs before eval.select_by logged val_dice)
        let metric = v["val_metric"].as_str().unwrap_or("dice");
        if let Some(d) = v[format!("val_{metric}")].as_f64() {
            val.push((it, d));
            val_metric = metric.to_string();
        }
        if let Some(l) = v["loss"].as_f64() {
            terms.entry("loss (weighted total)".into()).or_default().push((it, l));
            for (k, x) in v["terms"].as_object().into_iter().flatten() {
                if !k.ends_with("_weight") {
                    if let Some(x) = x.as_f64() {
                        terms.entry(k.clone()).or_default().push((it, x));
                    }
                }
            }
        }
    }
    Ok((terms, val, val_metric))
}

/// Moving average over `w` points, so noisy per-iteration losses read as curves.
fn smooth(s: &Series, w: usize) -> Series {
    s.iter().enumerate().map(|(i, &(x, _))| {
        let lo = i.saturating_sub(w - 1);
        let ys = &s[lo..=i];
        (x, ys.iter().map(|p| p.1).sum::<f64>() / ys.len() as f64)
    }).collect()
}

fn plot(path: &Path, title: &str, y_label: &str, series: &[(String, Series)]) -> Result<()> {
    let root = BitMapBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let x_max = series.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)).fold(1.0, f64::max);
    let y_max = series.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).filter(|v| v.is_finite()).fold(1e-6, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max * 1.05)
        .map_err(|e| anyhow!("{e}"))?;
    chart.configure_mesh().x_desc("iteration").y_desc(y_label).draw().map_err(|e| anyhow!("{e}"))?;
    for (i, (name, s)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(s.iter().copied(), color.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(())
}

/// Runs `semiseg report`.
pub fn run(args: Args) -> Result<()> {
    for p in write_plots(&args.run, &args.checkpoint, args.overlays)? {
        println!("{}", p.display());
    }
    Ok(())
}

/// Writes the curves of `run` and `overlays` test overlays from `checkpoint` into `run/plots/`,
/// returning the files written.
pub fn write_plots(run: &Path, checkpoint: &str, overlays: usize) -> Result<Vec<PathBuf>> {
    let plots = run.join("plots");
    std::fs::create_dir_all(&plots)?;
    register_font()?;
    let (terms, val, val_metric) = read_log(&run.join("train.jsonl"))?;
    if terms.is_empty() {
        bail!("{}: no training iterations logged yet", run.join("train.jsonl").display());
    }
    let window = (terms.values().next().map_or(1, Vec::len) / 50).max(1);
    let series: Vec<(String, Series)> = terms.iter().map(|(k, s)| (k.clone(), smooth(s, window))).collect();
    plot(&plots.join("loss.png"), &format!("training losses (moving average of {window})"), "loss", &series)?;
    let mut written = vec![plots.join("loss.png")];
    if !val.is_empty() {
        let name = semiseg_train::config::select_by_label(&val_metric);
        plot(&plots.join("validation.png"), &format!("validation: mean foreground {name}"), name, &[(format!("validation {name}"), val)])?;
        written.push(plots.join("validation.png"));
    }
    let has_checkpoint = run.join("checkpoints").join(format!("{}.ckpt", checkpoint)).is_file();
    if overlays > 0 && !has_checkpoint {
        eprintln!("no overlays: {} has no checkpoints/{}.ckpt", run.display(), checkpoint);
    }
    if overlays > 0 && has_checkpoint {
        let LoadedRun { cfg, net, device, .. } = load_run(Some(run), checkpoint, None).map_err(|e| anyhow!(e))?;
        let split = if cfg.data.test_split.is_empty() { cfg.data.val_split.clone() } else { cfg.data.test_split.clone() };
        if split.is_empty() {
            bail!("{}: the run has neither a test nor a validation split to draw overlays from (use --overlays 0)", run.display());
        }
        // the run's own splits (a random split is redrawn from its seed), not the folder's lists
        let dataset = read_dataset(&cfg.data.root, &cfg.data.random_split, cfg.data.split_seed).map_err(|e| anyhow!(e))?;
        let name_of = |c: u8| dataset.declared_labels.as_ref().and_then(|d| d.get(&c)).map_or_else(|| format!("class {c}"), |n| format!("{c} {n}"));
        for case in split_cases(&dataset.splits, &split, &cfg).map_err(|e| anyhow!(e))?.iter().filter(|c| c.label.is_some()).take(overlays) {
            let image = case.read_image()?;
            let label = case.read_label()?.expect("filtered on labels");
            let (pred, _) = predict(&net, &image, &cfg, &device).map_err(|e| anyhow!("{}: {e}", case.images[0].display()))?;
            let z = image.spatial_shape()[2] / 2; // middle slice of a volume
            let img = image.data.index_axis(ndarray::Axis(0), 0).index_axis(ndarray::Axis(2), z).to_owned();
            let out = plots.join(format!("overlay_{}.png", case.id));
            let picture = overlay(&img.view(), &label.data.index_axis(ndarray::Axis(2), z), &pred.data.index_axis(ndarray::Axis(2), z), cfg.model.classes);
            // Small images are enlarged (nearest) so that outlines stay visible.
            let k = (256 / picture.width().min(picture.height()).max(1)).max(1);
            let enlarged = image::imageops::resize(&picture, picture.width() * k, picture.height() * k, image::imageops::FilterType::Nearest);
            with_legend(&enlarged, cfg.model.classes, &name_of)?.save(&out).with_context(|| format!("writing {}", out.display()))?;
            written.push(out);
        }
    }
    Ok(written)
}
