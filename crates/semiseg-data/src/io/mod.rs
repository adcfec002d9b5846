//! One reader (and writer) per file format, chosen by file name.
//!
//! Contract at this seam: readers return [`Image`] `[C, D0, D1, D2]` and [`LabelMap`]
//! `[D0, D1, D2]` with geometry; they never panic on a bad file but return a [`DataError`]
//! naming it. Writers write atomically (temporary file in the same folder, then rename), so an
//! interrupted write never leaves a half file under the final name.
//!
//! To add a format: a module with `read_image` / `read_label` (and writers if it has them), a
//! [`Format`] variant, and one line in [`Format::of`].

pub mod atomic;
pub mod declared;
pub mod h5;
pub mod nifti_io;
pub mod npy;
pub mod raster;

use crate::error::DataError;
use crate::sample::{Image, LabelMap};
use std::path::Path;

pub use h5::H5Axes;

/// File formats semiseg reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG (8/16-bit grey, RGB, RGBA).
    Png,
    /// JPEG.
    Jpeg,
    /// NIfTI-1 `.nii` or `.nii.gz`.
    Nifti,
    /// HDF5 in the SSL4MIS / UA-MT layout (`image`, `label` datasets).
    H5,
    /// NumPy `.npy`.
    Npy,
}

impl Format {
    /// The format of a file, from its name.
    pub fn of(path: &Path) -> Result<Self, DataError> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
        let format = if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Self::Nifti
        } else if name.ends_with(".png") {
            Self::Png
        } else if name.ends_with(".jpg") || name.ends_with(".jpeg") {
            Self::Jpeg
        } else if name.ends_with(".h5") || name.ends_with(".hdf5") {
            Self::H5
        } else if name.ends_with(".npy") {
            Self::Npy
        } else {
            return Err(DataError::UnsupportedFormat { path: path.to_path_buf() });
        };
        Ok(format)
    }

    /// Whether a file name has a supported extension.
    pub fn is_supported(path: &Path) -> bool {
        Self::of(path).is_ok()
    }
}

/// A named "not found" error for a reader to return before handing the path to a decoder
/// (whose own message may not name the file).
pub(crate) fn require_file(path: &Path) -> Result<(), DataError> {
    if path.exists() {
        Ok(())
    } else {
        Err(DataError::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")))
    }
}

/// The file name without its format extension (`case.nii.gz` → `case`).
pub fn stem(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    for ext in [".nii.gz", ".nii", ".png", ".jpg", ".jpeg", ".h5", ".hdf5", ".npy"] {
        if lower.ends_with(ext) {
            return name[..name.len() - ext.len()].to_string();
        }
    }
    name.to_string()
}

/// Reads an image of any supported format (h5: the `image` dataset, axes as [`H5Axes::Auto`]).
pub fn read_image(path: &Path) -> Result<Image, DataError> {
    read_image_with(path, H5Axes::Auto)
}

/// Reads an image, a 3-D h5 dataset with its axes as `axes` says.
pub fn read_image_with(path: &Path, axes: H5Axes) -> Result<Image, DataError> {
    match Format::of(path)? {
        Format::Png | Format::Jpeg => raster::read_image(path),
        Format::Nifti => nifti_io::read_image(path),
        Format::H5 => h5::read_image(path, axes),
        Format::Npy => npy::read_image(path),
    }
}

/// Reads a label map of any supported format (h5: the `label` dataset, axes as [`H5Axes::Auto`]).
pub fn read_label(path: &Path) -> Result<LabelMap, DataError> {
    read_label_with(path, H5Axes::Auto)
}

/// Reads a label map, a 3-D h5 dataset with its axes as `axes` says.
pub fn read_label_with(path: &Path, axes: H5Axes) -> Result<LabelMap, DataError> {
    match Format::of(path)? {
        Format::Png | Format::Jpeg => raster::read_label(path),
        Format::Nifti => nifti_io::read_label(path),
        Format::H5 => h5::read_label(path, axes),
        Format::Npy => npy::read_label(path),
    }
}

/// Writes a label map in the format of `path` (PNG, NIfTI or NPY), atomically.
///
/// PNG masks are written 0/255 when binary, as class indices otherwise; NIfTI keeps the
/// label's geometry (its source header when it has one).
pub fn write_label(path: &Path, label: &LabelMap) -> Result<(), DataError> {
    match Format::of(path)? {
        Format::Png => raster::write_label(path, label),
        Format::Nifti => nifti_io::write_label(path, label),
        Format::Npy => npy::write_label(path, label),
        Format::Jpeg | Format::H5 => Err(DataError::invalid(path, "labels are written as .png, .nii, .nii.gz or .npy (JPEG is lossy; HDF5 is read-only here)")),
    }
}

/// Writes an image in the format of `path` (PNG for 2-D 8-bit-range data, NIfTI, NPY), atomically.
pub fn write_image(path: &Path, image: &Image) -> Result<(), DataError> {
    match Format::of(path)? {
        Format::Png => raster::write_image(path, image),
        Format::Nifti => nifti_io::write_image(path, image),
        Format::Npy => npy::write_image(path, image),
        Format::Jpeg | Format::H5 => Err(DataError::invalid(path, "images are written as .png, .nii, .nii.gz or .npy")),
    }
}
