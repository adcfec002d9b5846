//! `semiseg metrics`: score a folder of predictions against a folder of ground truth.

use crate::progress::bar;
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use semiseg_data::io::{atomic, read_label_with, H5Axes};
use semiseg_data::layout::{match_pairs, Pair};
use semiseg_metrics::multiclass::{absent_class, present_classes};
use semiseg_metrics::report::{to_csv, CaseRow, Summary};
use semiseg_metrics::{class_metrics, Convention};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Score predictions against ground truth, one CSV row per case and foreground class.
///
/// Files are matched by name (`case_pred.nii.gz` ↔ `case.nii.gz`; `_pred`, `_gt`, `_0000`
/// suffixes are tolerated). Any file without a counterpart is an error naming it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of predicted label maps (.png, .nii.gz, .nii, .npy, .h5 `label`).
    #[arg(long)]
    pred: PathBuf,
    /// Folder of ground-truth label maps.
    #[arg(long)]
    gt: PathBuf,
    /// medpy (SSL literature: pooled HD95, empty prediction = 0), monai (max of directed HD95, NaN/inf on empty masks) or smoothed (CMU-Net/MGCC: IoU smoothed by 1e-5, both empty = 1).
    #[arg(long, default_value = "medpy")]
    convention: String,
    /// `header` (spacing of each ground-truth file; 1 for PNG/NPY/h5) or explicit values such as `1,1,1` or `0.625,0.625,0.625`.
    #[arg(long, default_value = "header")]
    spacing: String,
    /// Foreground classes to score, e.g. `1,2,3` (default: every non-zero value found in any file).
    #[arg(long, value_delimiter = ',')]
    classes: Option<Vec<u8>>,
    #[command(flatten)]
    axes: super::H5AxesArg,
    /// Tolerance of the normalised surface Dice, in spacing units.
    #[arg(long, default_value_t = 1.0)]
    nsd_tolerance: f64,
    /// Per-case CSV; `summary.json` is written beside it.
    #[arg(long, default_value = "metrics/per_case.csv")]
    out: PathBuf,
}

/// How voxel spacing is chosen.
#[derive(Debug, Clone, PartialEq)]
enum SpacingMode {
    Header,
    Fixed(Vec<f64>),
}

fn parse_spacing(s: &str) -> Result<SpacingMode> {
    if s == "header" || s == "auto" {
        return Ok(SpacingMode::Header);
    }
    let v: Result<Vec<f64>, _> = s.split(',').map(|x| x.trim().parse::<f64>()).collect();
    match v {
        Ok(v) if !v.is_empty() && v.len() <= 3 && v.iter().all(|x| *x > 0.0 && x.is_finite()) => Ok(SpacingMode::Fixed(v)),
        _ => bail!("--spacing '{s}': expected 'header' or 2-3 positive numbers such as 1,1,1"),
    }
}

/// Reads and scores one pair: the classes given, or those present in either file.
fn score(pair: &Pair, classes: Option<&[u8]>, spacing: &SpacingMode, convention: Convention, tol: f64, axes: H5Axes) -> Result<(CaseRow, usize)> {
    let pred = read_label_with(&pair.pred, axes)?;
    let gt = read_label_with(&pair.gt, axes)?;
    if pred.spatial_shape() != gt.spatial_shape() || pred.spatial_dims != gt.spatial_dims {
        bail!("{}: shape {} differs from ground truth {} ({})", pair.pred.display(), pred.shape_string(), gt.shape_string(), pair.gt.display());
    }
    let sp: Vec<f64> = match spacing {
        SpacingMode::Header => gt.spacing_nd().to_vec(),
        SpacingMode::Fixed(v) if v.len() == gt.spatial_dims => v.clone(),
        SpacingMode::Fixed(v) if v.len() == 3 && gt.spatial_dims == 2 => v[..2].to_vec(),
        SpacingMode::Fixed(v) => bail!("{}: --spacing has {} values for a {}-D mask", pair.gt.display(), v.len(), gt.spatial_dims),
    };
    let present;
    let classes = match classes {
        Some(c) => c,
        None => {
            present = present_classes(&pred.view_nd(), &gt.view_nd());
            &present
        }
    };
    let classes = class_metrics(pred.view_nd(), gt.view_nd(), classes, &sp, convention, tol).with_context(|| pair.case.clone())?;
    Ok((CaseRow { case: pair.case.clone(), classes }, gt.spatial_dims))
}

/// Runs `semiseg metrics`.
pub fn run(args: Args) -> Result<()> {
    let convention: Convention = args.convention.parse()?;
    let spacing = parse_spacing(&args.spacing)?;
    let pairs = match_pairs(&args.pred, &args.gt)?;
    if args.classes.as_ref().is_some_and(|c| c.contains(&0)) {
        bail!("--classes: 0 is background and is not scored");
    }
    let pb = bar(pairs.len(), "scoring");
    let results: Vec<Result<(CaseRow, usize)>> = pairs
        .par_iter()
        .map(|p| {
            let r = score(p, args.classes.as_deref(), &spacing, convention, args.nsd_tolerance, args.axes.order());
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    let errors: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().map(|e| format!("{e:#}"))).collect();
    if !errors.is_empty() {
        return Err(anyhow!("{} of {} cases failed:\n  {}", errors.len(), results.len(), errors.join("\n  ")));
    }
    let mut rows: Vec<(CaseRow, usize)> = results.into_iter().map(Result::unwrap).collect();
    // Every case gets a row for every class found anywhere; a class absent from both masks of a
    // case scores by the convention's empty rule.
    let classes: Vec<u8> = rows.iter().flat_map(|(r, _)| r.classes.iter().map(|c| c.class)).collect::<BTreeSet<u8>>().into_iter().collect();
    if classes.is_empty() {
        bail!("no foreground class in any file of {} or {}", args.pred.display(), args.gt.display());
    }
    for (row, dims) in &mut rows {
        for &c in &classes {
            if !row.classes.iter().any(|m| m.class == c) {
                row.classes.push(absent_class(c, *dims, convention, args.nsd_tolerance)?);
            }
        }
        row.classes.sort_by_key(|m| m.class);
    }
    let rows: Vec<CaseRow> = rows.into_iter().map(|(r, _)| r).collect();
    let summary = Summary::of(&rows);
    atomic::write_bytes(&args.out, to_csv(&rows).as_bytes())?;
    let summary_path = args.out.with_file_name("summary.json");
    let spacing_desc = match &spacing {
        SpacingMode::Header => "header".to_string(),
        SpacingMode::Fixed(v) => format!("{v:?}"),
    };
    let doc = json!({
        "convention": convention,
        "spacing": spacing_desc,
        "classes": classes,
        "nsd_tolerance": args.nsd_tolerance,
        "empty_policy": match convention {
            Convention::Medpy => "empty prediction scores 0 on every metric (UA-MT/SSL4MIS); empty ground truth with a prediction: Dice 0, distances NaN",
            Convention::Monai => "MONAI: empty ground truth gives NaN Dice; one empty side gives infinite HD/ASD and NaN HD95; both empty NaN",
            Convention::Smoothed => "CMU-Net/MGCC: IoU and Dice smoothed by 1e-5, so both empty scores 1 and one empty side about 0; recall/precision 0 on an empty side; distances NaN unless both have foreground",
        },
        "aggregation": "per case and class; a case's value is the mean over its classes; overall = mean over cases; NaN skipped and counted (n_nan)",
        "pred": args.pred,
        "gt": args.gt,
        "summary": summary,
    });
    atomic::write_bytes(&summary_path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    println!("{} cases, {} classes, convention {convention}, spacing {spacing_desc}", rows.len(), classes.len());
    print!("{}", summary.to_text());
    println!("per-case: {}\nsummary:  {}", args.out.display(), summary_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_parses_or_explains() {
        assert_eq!(parse_spacing("header").unwrap(), SpacingMode::Header);
        assert_eq!(parse_spacing("1,2.5").unwrap(), SpacingMode::Fixed(vec![1.0, 2.5]));
        assert!(parse_spacing("1,-1,1").unwrap_err().to_string().contains("--spacing"));
        assert!(parse_spacing("mm").is_err());
    }
}
