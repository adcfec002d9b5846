//! Scoring a network on a split: every case is predicted whole (volumes slice by slice) and
//! scored per case and foreground class with semiseg-metrics, in the label file's spacing (or in
//! voxels with `eval.units = "voxels"`, as the LA papers report), or,
//! with `eval.resolution = "network"`, at the network's input size against the label resized
//! there (nearest), distances in pixels (MGCC and CLCC score at 256² / 320² this way).

use crate::config::Config;
use crate::data::augment::{resize_label, Interp};
use crate::infer::{predict, predict_probabilities_at, to_label_map, Decision};
use ndarray::{Array3, Axis};
use semiseg_data::{Geometry, LabelMap};
use rayon::prelude::*;
use semiseg_data::layout::Case;
use semiseg_metrics::report::{to_csv, CaseRow, Summary};
use semiseg_metrics::{class_metrics, Convention};
use semiseg_nn::burn::prelude::Device;
use semiseg_nn::nets::Segmenter;
use std::path::Path;

/// Scores every labeled case of `cases`; `tick` is called after each.
pub fn evaluate(net: &Segmenter, cases: &[Case], cfg: &Config, device: &Device, tick: &(dyn Fn() + Sync)) -> Result<Vec<CaseRow>, String> {
    let convention: Convention = cfg.eval.convention.parse().map_err(|e| format!("{e}"))?;
    let classes: Vec<u8> = (1..cfg.model.classes as u8).collect();
    let score = |case: &Case| -> Result<CaseRow, String> {
        let image = case.read_image().map_err(|e| e.to_string())?;
        let label = case.read_label().map_err(|e| e.to_string())?.ok_or_else(|| format!("{}: no label to score against", case.images[0].display()))?;
        let (pred, label) = if cfg.eval.resolution == "network" {
            let probs = predict_probabilities_at(net, &image, cfg, device, cfg.data.patch2()).map_err(|e| format!("{}: {e}", case.images[0].display()))?;
            (to_label_map(&probs, &image, Decision::of(cfg)), at_network_size(&label, cfg.data.patch2(), Interp::of(&cfg.data)))
        } else {
            (predict(net, &image, cfg, device).map_err(|e| format!("{}: {e}", case.images[0].display()))?.0, label)
        };
        let unit = vec![1.0; label.spacing_nd().len()];
        let spacing = if cfg.eval.units == "voxels" { &unit[..] } else { label.spacing_nd() };
        let rows = class_metrics(pred.view_nd(), label.view_nd(), &classes, spacing, convention, 1.0).map_err(|e| format!("{}: {e}", case.id))?;
        tick();
        Ok(CaseRow { case: case.id.clone(), classes: rows })
    };
    // One case per task: reading and scoring overlap with the next case's forward pass.
    cases.par_iter().with_max_len(1).map(score).collect()
}

/// Every plane of `label` resized (nearest) to `[h, w]`, with unit spacing.
fn at_network_size(label: &LabelMap, [h, w]: [usize; 2], interp: Interp) -> LabelMap {
    let depth = label.data.dim().2;
    let mut data = Array3::zeros((h, w, depth));
    for k in 0..depth {
        data.index_axis_mut(Axis(2), k).assign(&resize_label(&label.data.index_axis(Axis(2), k).to_owned(), h, w, interp));
    }
    LabelMap { data, spatial_dims: label.spatial_dims, geometry: Geometry::unit() }
}

/// `meta` with how the config scores: convention, resolution, threshold and distance units.
pub fn with_scoring(mut meta: serde_json::Value, cfg: &Config) -> serde_json::Value {
    let spacing = match (cfg.eval.resolution.as_str(), cfg.eval.units.as_str()) {
        ("network", _) => "pixels at the network input size",
        (_, "voxels") => "voxels (spacing ignored)",
        _ => "header",
    };
    for (k, v) in [
        ("convention", serde_json::json!(cfg.eval.convention)),
        ("resolution", serde_json::json!(cfg.eval.resolution)),
        ("logit_threshold", serde_json::json!(cfg.eval.logit_threshold)),
        ("spacing", serde_json::json!(spacing)),
    ] {
        meta[k] = v;
    }
    meta
}

/// Writes `per_case.csv` and `summary.json` into `dir`; returns the summary.
pub fn write_report(dir: &Path, rows: &[CaseRow], meta: serde_json::Value) -> Result<Summary, semiseg_data::DataError> {
    let summary = Summary::of(rows);
    semiseg_data::io::atomic::write_bytes(&dir.join("per_case.csv"), to_csv(rows).as_bytes())?;
    let mut doc = meta;
    doc["summary"] = serde_json::to_value(&summary).expect("summary serialises");
    semiseg_data::io::atomic::write_bytes(&dir.join("summary.json"), serde_json::to_string_pretty(&doc).expect("json").as_bytes())?;
    Ok(summary)
}
