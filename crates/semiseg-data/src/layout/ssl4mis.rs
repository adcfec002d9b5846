//! The HDF5 layouts of SSL4MIS (ACDC: `data/<frame>.h5` volumes (Z, H, W) and
//! `data/slices/<frame>_slice_K.h5` slices) and UA-MT (LA:
//! `2018LA_Seg_Training Set/<ID>/mri_norm2.h5`, axes X, Y, Z), with their list files.

use super::case::{Case, Problem};
use super::lists::{list_file, read_list, SPLIT_NAMES};
use super::{Dataset, LayoutKind};
use crate::error::DataError;
use crate::io::H5Axes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn scan_lists(root: &Path, kind: LayoutKind, path_of: impl Fn(&str, &str) -> PathBuf, axes: H5Axes) -> Result<Dataset, DataError> {
    let mut splits = BTreeMap::new();
    let mut problems = Vec::new();
    for name in SPLIT_NAMES {
        let Some(list) = list_file(root, name) else { continue };
        let mut cases = Vec::new();
        for id in read_list(&list)? {
            let p = path_of(name, &id);
            if !p.is_file() {
                problems.push(Problem::error(&p, format!("listed in {} but missing", list.display())));
                continue;
            }
            let mut c = Case::new(id, p.clone(), Some(p));
            c.h5_axes = axes;
            cases.push(c);
        }
        splits.insert(name.to_string(), cases);
    }
    Ok(Dataset { root: root.to_path_buf(), kind, splits, declared_labels: None, declared_channels: None, problems })
}

/// SSL4MIS: volumes in `data/`, training slices in `data/slices/`.
pub fn scan_ssl4mis(root: &Path) -> Result<Dataset, DataError> {
    let data = root.join("data");
    scan_lists(
        root,
        LayoutKind::Ssl4misH5,
        |split, id| if split == "train_slices" { data.join("slices").join(format!("{id}.h5")) } else { data.join(format!("{id}.h5")) },
        H5Axes::SliceFirst,
    )
}

/// UA-MT LA: one folder per case holding `mri_norm2.h5`.
pub fn scan_uamt(root: &Path) -> Result<Dataset, DataError> {
    let base = root.join("2018LA_Seg_Training Set");
    scan_lists(root, LayoutKind::UamtH5, |_, id| base.join(id).join("mri_norm2.h5"), H5Axes::AsStored)
}
