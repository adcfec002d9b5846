//! Dataset layouts: find the cases of a folder and their splits.
//!
//! [`detect`] tries, in order: nnU-Net v2 / MSD (`dataset.json`), UA-MT LA h5
//! (`2018LA_Seg_Training Set/`), SSL4MIS h5 (`data/*.h5` with `*.list`), paired folders
//! (`images/` with `masks/`, `labels/` or MGCC's `masks/0/`), and finally a plain folder of
//! images with no masks (all unlabeled). Structural problems (a listed case without its file,
//! a mask without an image, an image without its mask) are collected, not fatal.

mod case;
mod lists;
mod nnunet;
mod paired;
mod pairing;
mod ssl4mis;

pub use case::{Case, Problem, Severity};
pub use lists::read_list;
pub use pairing::{match_pairs, pair_key, Pair};

use crate::error::DataError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which convention a dataset folder follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutKind {
    /// `dataset.json` with `channel_names` / `file_ending` (nnU-Net v2).
    NnUnet,
    /// `dataset.json` with a `training` list (Medical Segmentation Decathlon, MONAI datalists).
    Msd,
    /// UA-MT LA: `2018LA_Seg_Training Set/<ID>/mri_norm2.h5` + `train.list` / `test.list`.
    UamtH5,
    /// SSL4MIS: `data/<case>.h5`, `data/slices/<case>_slice_K.h5` + `*.list`.
    Ssl4misH5,
    /// `images/` + `masks/` (or `labels/`, `masks/0/`) matched by file stem, optional split lists.
    Paired,
    /// A folder of images without masks.
    Unlabeled,
}

/// A dataset: its cases by split, and what was found wrong with its structure.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// The folder given.
    pub root: PathBuf,
    /// The layout detected.
    pub kind: LayoutKind,
    /// Cases per split name (`train`, `val`, `test`, `train_slices`, `all`, `unlabeled`, ...).
    pub splits: BTreeMap<String, Vec<Case>>,
    /// Label values and names the dataset declares (`dataset.json`), if any.
    pub declared_labels: Option<BTreeMap<u8, String>>,
    /// Image channels the dataset declares (`dataset.json` `channel_names` / `modality`), if any.
    pub declared_channels: Option<usize>,
    /// Structural problems found while scanning.
    pub problems: Vec<Problem>,
}

impl Dataset {
    /// The cases of one split, or an error listing the splits there are.
    pub fn split(&self, name: &str) -> Result<&[Case], DataError> {
        self.splits.get(name).map(Vec::as_slice).ok_or_else(|| {
            let have: Vec<_> = self.splits.keys().cloned().collect();
            DataError::layout(&self.root, format!("no split '{name}' (splits: {})", have.join(", ")))
        })
    }
}

/// Detects the layout of `root` and lists its cases.
pub fn detect(root: &Path) -> Result<Dataset, DataError> {
    if !root.is_dir() {
        return Err(DataError::layout(root, "not a folder"));
    }
    if root.join("dataset.json").is_file() {
        return nnunet::scan(root);
    }
    if root.join("2018LA_Seg_Training Set").is_dir() {
        return ssl4mis::scan_uamt(root);
    }
    if root.join("data").is_dir() && lists::has_split_lists(root) {
        return ssl4mis::scan_ssl4mis(root);
    }
    if root.join("images").is_dir() {
        return paired::scan(root);
    }
    paired::scan_unlabeled(root)
}

/// Files with a supported image extension directly in `dir`, sorted by name (hidden files skipped).
pub fn image_files_in(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    image_files(dir)
}

fn image_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && crate::io::Format::is_supported(p))
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    files.sort();
    Ok(files)
}
