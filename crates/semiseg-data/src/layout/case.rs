//! One case of a dataset: where its image channels and its label are, and how to read them.

use crate::error::DataError;
use crate::io::{self, H5Axes};
use crate::sample::{Image, LabelMap};
use ndarray::{concatenate, Axis};
use serde::Serialize;
use std::path::PathBuf;

/// One case: image file(s) (one per channel for nnU-Net's `_0000`, `_0001`, ...) and label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Identifier (file stem without channel suffix).
    pub id: String,
    /// The patient the case belongs to (labeled subsets count patients, as SSL4MIS does).
    pub patient: String,
    /// Image files, one per channel.
    pub images: Vec<PathBuf>,
    /// Label file (for h5 files the same file as the image), if the case is labeled.
    pub label: Option<PathBuf>,
    /// Axis order of 3-D h5 datasets.
    #[serde(skip)]
    pub h5_axes: H5Axes,
}

impl Case {
    /// A case with one image file and an optional label.
    pub fn new(id: impl Into<String>, image: PathBuf, label: Option<PathBuf>) -> Self {
        let id = id.into();
        Self { patient: patient_of(&id), id, images: vec![image], label, h5_axes: H5Axes::Auto }
    }

    /// Reads the image, stacking channel files.
    pub fn read_image(&self) -> Result<Image, DataError> {
        let read = |p: &PathBuf| io::read_image_with(p, self.h5_axes);
        let mut first = read(&self.images[0])?;
        if self.images.len() > 1 {
            let mut parts = vec![first.data.clone()];
            for p in &self.images[1..] {
                let img = read(p)?;
                if img.spatial_shape() != first.spatial_shape() {
                    return Err(DataError::invalid(p, format!("channel shape {} differs from {} of {}", img.shape_string(), first.shape_string(), self.images[0].display())));
                }
                parts.push(img.data);
            }
            let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
            first.data = concatenate(Axis(0), &views).map_err(|e| DataError::invalid(&self.images[0], e.to_string()))?;
        }
        Ok(first)
    }

    /// Reads the label, or `None` for an unlabeled case.
    pub fn read_label(&self) -> Result<Option<LabelMap>, DataError> {
        let Some(p) = &self.label else { return Ok(None) };
        io::read_label_with(p, self.h5_axes).map(Some)
    }
}

/// The patient of a case id: `patientNNN` for ACDC-style ids (`patient012_frame01_slice_3`),
/// otherwise the id itself.
pub fn patient_of(id: &str) -> String {
    if let Some(rest) = id.strip_prefix("patient") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            return format!("patient{digits}");
        }
    }
    id.to_string()
}

/// How serious a problem is: errors make `data inspect` fail, warnings are reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing (an empty mask, an unlisted file).
    Warning,
    /// The case cannot be used as it is.
    Error,
}

/// A problem with one file of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file (or folder) concerned.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// An error about `path`.
    pub fn error(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, path: path.into(), message: message.into() }
    }

    /// A warning about `path`.
    pub fn warning(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, path: path.into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::patient_of;

    #[test]
    fn acdc_ids_group_by_patient() {
        assert_eq!(patient_of("patient012_frame01_slice_3"), "patient012");
        assert_eq!(patient_of("patient099_frame01"), "patient099");
        assert_eq!(patient_of("benign_001"), "benign_001");
        assert_eq!(patient_of("patientX"), "patientX");
    }
}
