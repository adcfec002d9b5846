//! SSL4MIS / UA-MT HDF5 files: an `image` (float32) and a `label` (uint8) dataset.
//!
//! Read with the pure-Rust `hdf5-reader` crate (gzip-chunked datasets included), so no system
//! HDF5 library is needed. Layouts seen in the field:
//! * UA-MT LA `mri_norm2.h5`: 3-D, axes X, Y, Z ([`H5Axes::AsStored`]);
//! * SSL4MIS ACDC volumes `patientXXX_frameYY.h5`: 3-D (Z, H, W), turned to (H, W, Z) by
//!   [`H5Axes::SliceFirst`] so that slice `z` is `[:, :, z]` as in the NIfTI copies;
//! * SSL4MIS slices `..._slice_K.h5`: 2-D (H, W).
//! The files carry no spacing: geometry is unit spacing, identity affine. Outside a detected
//! layout, [`H5Axes::Auto`] tells the two 3-D kinds apart by the SSL4MIS ACDC file names.

use super::declared::{self, Storage};
use crate::error::DataError;
use crate::sample::{Geometry, Image, LabelMap};
use hdf5_reader::Hdf5File;
use ndarray::{Array3, Array4, ArrayD, Axis, Ix3, IxDyn};
use std::path::Path;

/// How the axes of a 3-D h5 dataset map to semiseg's (D0, D1, D2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum H5Axes {
    /// Decided by the file name: [`H5Axes::SliceFirst`] for SSL4MIS ACDC volumes
    /// (`patientNNN_frameNN.h5`), [`H5Axes::AsStored`] otherwise.
    #[default]
    Auto,
    /// Keep the stored order (UA-MT LA: X, Y, Z).
    AsStored,
    /// The first axis is the slice axis (SSL4MIS ACDC volumes: Z, H, W → H, W, Z).
    SliceFirst,
}

impl H5Axes {
    /// The command-line names, in the order of the variants.
    pub const NAMES: [&'static str; 3] = ["auto", "as-stored", "slice-first"];

    /// The order used for the file at `path` ([`H5Axes::Auto`] resolved by its name).
    pub fn for_file(self, path: &Path) -> Self {
        if self != H5Axes::Auto {
            return self;
        }
        let stem = path.file_name().and_then(|n| n.to_str()).unwrap_or("").trim_end_matches(".h5");
        let numbered = |s: &str, prefix: &str| s.strip_prefix(prefix).is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        match stem.split_once('_') {
            Some((patient, frame)) if numbered(patient, "patient") && numbered(frame, "frame") => H5Axes::SliceFirst,
            _ => H5Axes::AsStored,
        }
    }
}

impl std::str::FromStr for H5Axes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(H5Axes::Auto),
            "as-stored" => Ok(H5Axes::AsStored),
            "slice-first" => Ok(H5Axes::SliceFirst),
            _ => Err(format!("unknown h5 axis order '{s}' (expected one of {})", Self::NAMES.join(", "))),
        }
    }
}

fn decode(path: &Path, reason: impl ToString) -> DataError {
    DataError::Decode { path: path.to_path_buf(), format: "HDF5", reason: reason.to_string() }
}

fn open(path: &Path) -> Result<Hdf5File, DataError> {
    super::require_file(path)?;
    Hdf5File::open(path).map_err(|e| decode(path, e))
}

/// Names of the datasets at the root of the file.
pub fn dataset_names(path: &Path) -> Result<Vec<String>, DataError> {
    let f = open(path)?;
    let root = f.root_group().map_err(|e| decode(path, e))?;
    let mut names: Vec<String> = root.datasets().map_err(|e| decode(path, e))?.iter().map(|d| d.name().to_string()).collect();
    names.sort();
    Ok(names)
}

/// Reads one dataset as `T`, with a clear error when it is missing.
fn read<T: hdf5_reader::H5Type>(path: &Path, name: &str) -> Result<ArrayD<T>, DataError> {
    let f = open(path)?;
    let ds = f.dataset(name).map_err(|_| {
        let have = dataset_names(path).map(|n| n.join(", ")).unwrap_or_default();
        DataError::invalid(path, format!("no dataset '{name}' (datasets: {have})"))
    })?;
    // chunks may be deflated: the shape must fit what the file could hold once inflated
    let what = format!("dataset '{name}' of shape {:?}", ds.shape());
    declared::check(path, &what, declared::payload(ds.shape().iter().copied(), std::mem::size_of::<T>() as u64), Storage::Deflated { file_bytes: declared::file_len(path)? })?;
    ds.read_array::<T>().map_err(|e| decode(path, format!("dataset '{name}': {e}")))
}

fn to_3d<T: Clone>(path: &Path, a: ArrayD<T>, axes: H5Axes) -> Result<(ndarray::Array3<T>, usize), DataError> {
    match a.ndim() {
        2 => Ok((a.insert_axis(Axis(2)).into_dimensionality::<Ix3>().map_err(|e| decode(path, e))?, 2)),
        3 => {
            let a = match axes.for_file(path) {
                H5Axes::AsStored | H5Axes::Auto => a,
                H5Axes::SliceFirst => a.permuted_axes(IxDyn(&[1, 2, 0])).as_standard_layout().to_owned(),
            };
            Ok((a.into_dimensionality::<Ix3>().map_err(|e| decode(path, e))?, 3))
        }
        n => Err(DataError::invalid(path, format!("dataset has {n} dimensions {:?}; expected 2 or 3", a.shape()))),
    }
}

/// Reads the `image` dataset (float; integer data is converted).
pub fn read_image(path: &Path, axes: H5Axes) -> Result<Image, DataError> {
    let raw: ArrayD<f32> = read(path, "image").or_else(|e| read::<f64>(path, "image").map(|a| a.mapv(|v| v as f32)).map_err(|_| e))?;
    let (data, dims) = to_3d(path, raw, axes)?;
    let data: Array4<f32> = data.insert_axis(Axis(0));
    Ok(Image { data, spatial_dims: dims, geometry: Geometry::unit() })
}

/// Reads the `label` dataset (uint8 class indices).
pub fn read_label(path: &Path, axes: H5Axes) -> Result<LabelMap, DataError> {
    let raw: ArrayD<u8> = read(path, "label")?;
    let (data, dims): (Array3<u8>, usize) = to_3d(path, raw, axes)?;
    Ok(LabelMap { data, spatial_dims: dims, geometry: Geometry::unit() })
}

/// Whether the file has a `label` dataset (unlabeled h5 files may have none).
pub fn has_label(path: &Path) -> Result<bool, DataError> {
    Ok(dataset_names(path)?.iter().any(|n| n == "label"))
}

#[cfg(test)]
mod tests {
    use super::H5Axes;
    use std::path::Path;

    #[test]
    fn auto_knows_ssl4mis_acdc_volumes_by_name() {
        let auto = |p: &str| H5Axes::Auto.for_file(Path::new(p));
        assert_eq!(auto("data/patient011_frame01.h5"), H5Axes::SliceFirst);
        assert_eq!(auto("data/slices/patient011_frame01_slice_3.h5"), H5Axes::AsStored, "2-D slices have no slice axis");
        assert_eq!(auto("LA/0RZDK210BSMWAA6467LU/mri_norm2.h5"), H5Axes::AsStored);
        assert_eq!(H5Axes::AsStored.for_file(Path::new("patient011_frame01.h5")), H5Axes::AsStored, "an explicit order wins");
        assert_eq!("slice-first".parse::<H5Axes>(), Ok(H5Axes::SliceFirst));
        assert!("z-first".parse::<H5Axes>().unwrap_err().contains("auto, as-stored, slice-first"));
    }
}
