//! Matching prediction files to ground-truth files by name, as `semiseg metrics` needs.
//!
//! Keys are file stems with a trailing `_pred`, `_gt`, `_seg`, `_label`, `_mask` or nnU-Net's
//! `_0000` removed, so `case_pred.nii.gz` matches `case.nii.gz` and `case_gt.png` matches
//! `case.png`. Every file without a counterpart is reported, not just the first.

use super::image_files;
use crate::error::DataError;
use crate::io::stem;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SUFFIXES: [&str; 6] = ["_pred", "_gt", "_seg", "_label", "_mask", "_0000"];

/// The matching key of a file name.
pub fn pair_key(path: &Path) -> String {
    let s = stem(path);
    SUFFIXES.iter().find_map(|x| s.strip_suffix(x)).unwrap_or(&s).to_string()
}

/// A prediction and its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The shared key (case id).
    pub case: String,
    /// Prediction file.
    pub pred: PathBuf,
    /// Ground-truth file.
    pub gt: PathBuf,
}

fn keyed(dir: &Path) -> Result<BTreeMap<String, PathBuf>, DataError> {
    let mut out = BTreeMap::new();
    for f in image_files(dir)? {
        let k = pair_key(&f);
        if let Some(prev) = out.insert(k.clone(), f.clone()) {
            return Err(DataError::layout(dir, format!("two files map to case '{k}': {} and {}", prev.display(), f.display())));
        }
    }
    Ok(out)
}

/// Pairs every file of `pred_dir` with one of `gt_dir`. Fails listing every file without a
/// counterpart.
pub fn match_pairs(pred_dir: &Path, gt_dir: &Path) -> Result<Vec<Pair>, DataError> {
    for d in [pred_dir, gt_dir] {
        if !d.is_dir() {
            return Err(DataError::layout(d, "not a folder"));
        }
    }
    let preds = keyed(pred_dir)?;
    let mut gts = keyed(gt_dir)?;
    let mut missing = Vec::new();
    let mut pairs = Vec::new();
    for (case, pred) in preds {
        match gts.remove(&case) {
            Some(gt) => pairs.push(Pair { case, pred, gt }),
            None => missing.push(format!("{}: no ground truth for case '{case}' in {}", pred.display(), gt_dir.display())),
        }
    }
    for (case, gt) in gts {
        missing.push(format!("{}: no prediction for case '{case}' in {}", gt.display(), pred_dir.display()));
    }
    if !missing.is_empty() {
        return Err(DataError::layout(pred_dir, format!("unmatched files:\n  {}", missing.join("\n  "))));
    }
    if pairs.is_empty() {
        return Err(DataError::layout(pred_dir, "no prediction files (.png, .nii.gz, .nii, .npy, .h5)"));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_tolerated_and_orphans_named() {
        let d = tempfile::tempdir().unwrap();
        let (p, g) = (d.path().join("p"), d.path().join("g"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::create_dir_all(&g).unwrap();
        for f in ["a_pred.nii.gz", "b.nii.gz", "c_pred.png"] {
            std::fs::write(p.join(f), b"").unwrap();
        }
        for f in ["a.nii.gz", "b_gt.nii.gz", "d.png"] {
            std::fs::write(g.join(f), b"").unwrap();
        }
        let e = match_pairs(&p, &g).unwrap_err().to_string();
        assert!(e.contains("c_pred.png") && e.contains("d.png"), "{e}");
        std::fs::remove_file(p.join("c_pred.png")).unwrap();
        std::fs::remove_file(g.join("d.png")).unwrap();
        let pairs = match_pairs(&p, &g).unwrap();
        assert_eq!(pairs.iter().map(|x| x.case.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}
