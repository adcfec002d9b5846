//! Paired folders: `images/` and a mask folder matched by file stem (BUSI, Kvasir-SEG, the
//! NIfTI copies of LA and ACDC), with optional split lists; and plain unlabeled folders.

use super::case::{Case, Problem};
use super::lists::{list_file, read_list, SPLIT_NAMES};
use super::{image_files, Dataset, LayoutKind};
use crate::error::DataError;
use crate::io::stem;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Mask-file suffixes that still match the image stem (`case_mask.png` ↔ `case.png`).
const MASK_SUFFIXES: [&str; 5] = ["_mask", "_gt", "_label", "_seg", "_segmentation"];

/// The key a mask stem matches an image stem by.
pub(crate) fn match_key(stem: &str) -> &str {
    MASK_SUFFIXES.iter().find_map(|s| stem.strip_suffix(s)).unwrap_or(stem)
}

/// The mask folder: MGCC's `masks/0/`, then `masks/`, `labels/`, `labelsTr/`, `gt/`.
fn mask_dir(root: &Path) -> Option<PathBuf> {
    let nested = root.join("masks").join("0");
    if nested.is_dir() {
        return Some(nested);
    }
    ["masks", "labels", "labelsTr", "gt"].iter().map(|d| root.join(d)).find(|p| p.is_dir())
}

/// Scans `root/images` and its mask folder.
pub fn scan(root: &Path) -> Result<Dataset, DataError> {
    let images = image_files(&root.join("images"))?;
    let mut problems = Vec::new();
    let mut masks: BTreeMap<String, PathBuf> = BTreeMap::new();
    if let Some(dir) = mask_dir(root) {
        for m in image_files(&dir)? {
            let key = match_key(&stem(&m)).to_string();
            if let Some(prev) = masks.insert(key.clone(), m.clone()) {
                problems.push(Problem::error(&m, format!("second mask for case '{key}' (first: {})", prev.display())));
            }
        }
    }
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    for img in images {
        let id = stem(&img);
        if !seen.insert(id.clone()) {
            problems.push(Problem::error(&img, format!("second image for case '{id}'")));
            continue;
        }
        let label = masks.remove(&id);
        if label.is_none() {
            problems.push(Problem::warning(&img, "no mask: used as unlabeled"));
        }
        cases.push(Case::new(id, img, label));
    }
    for (key, m) in masks {
        problems.push(Problem::error(&m, format!("mask without image (no images/{key}.*)")));
    }
    let splits = splits_from_lists(root, cases, &mut problems)?;
    Ok(Dataset { root: root.to_path_buf(), kind: LayoutKind::Paired, splits, declared_labels: None, declared_channels: None, problems })
}

/// Groups cases into the splits named by list files, or one split `all` when there are none.
fn splits_from_lists(root: &Path, cases: Vec<Case>, problems: &mut Vec<Problem>) -> Result<BTreeMap<String, Vec<Case>>, DataError> {
    let mut splits = BTreeMap::new();
    let by_id: BTreeMap<&str, &Case> = cases.iter().map(|c| (c.id.as_str(), c)).collect();
    for name in SPLIT_NAMES {
        let Some(list) = list_file(root, name) else { continue };
        let mut members = Vec::new();
        for id in read_list(&list)? {
            match by_id.get(id.as_str()) {
                Some(c) => members.push((*c).clone()),
                None => problems.push(Problem::error(&list, format!("lists '{id}' but images/ has no such case"))),
            }
        }
        splits.insert(name.to_string(), members);
    }
    if splits.is_empty() {
        splits.insert("all".to_string(), cases);
    }
    Ok(splits)
}

/// A folder of images with no masks: every case unlabeled.
pub fn scan_unlabeled(root: &Path) -> Result<Dataset, DataError> {
    let files = image_files(root)?;
    if files.is_empty() {
        return Err(DataError::layout(
            root,
            "no dataset found: expected dataset.json (nnU-Net/MSD), images/ (+ masks/), data/*.h5 with train.list (SSL4MIS), \
             '2018LA_Seg_Training Set/' (UA-MT), or image files (.png, .jpg, .nii.gz, .h5, .npy)",
        ));
    }
    let cases = files.into_iter().map(|p| Case::new(stem(&p), p, None)).collect();
    let splits = BTreeMap::from([("unlabeled".to_string(), cases)]);
    Ok(Dataset { root: root.to_path_buf(), kind: LayoutKind::Unlabeled, splits, declared_labels: None, declared_channels: None, problems: Vec::new() })
}
