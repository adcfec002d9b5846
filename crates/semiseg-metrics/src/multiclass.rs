//! Per-class metrics of label maps: each foreground class is scored as a binary mask.

use crate::binary::{binary_metrics, BinaryMetrics};
use crate::convention::Convention;
use crate::error::MetricError;
use ndarray::ArrayViewD;
use serde::Serialize;
use std::collections::BTreeSet;

/// Metrics of one foreground class of one case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// The label value.
    pub class: u8,
    /// Its binary metrics.
    #[serde(flatten)]
    pub metrics: BinaryMetrics,
}

/// The foreground classes (non-zero values) present in either label map, ascending.
pub fn present_classes(pred: &ArrayViewD<u8>, gt: &ArrayViewD<u8>) -> Vec<u8> {
    let set: BTreeSet<u8> = pred.iter().chain(gt.iter()).copied().filter(|&v| v != 0).collect();
    set.into_iter().collect()
}

/// Scores each of `classes` (label values) of `pred` against `gt`.
pub fn class_metrics(
    pred: ArrayViewD<u8>,
    gt: ArrayViewD<u8>,
    classes: &[u8],
    spacing: &[f64],
    convention: Convention,
    nsd_tolerance: f64,
) -> Result<Vec<ClassMetrics>, MetricError> {
    classes
        .iter()
        .map(|&class| {
            let p = pred.mapv(|v| v == class);
            let g = gt.mapv(|v| v == class);
            let metrics = binary_metrics(p.view(), g.view(), spacing, convention, nsd_tolerance)?;
            Ok(ClassMetrics { class, metrics })
        })
        .collect()
}

/// Metrics of a class absent from both masks of a case: they depend only on the convention
/// (all 0 for medpy, NaN for MONAI), so no mask needs to be read again to fill the row.
pub fn absent_class(class: u8, ndim: usize, convention: Convention, nsd_tolerance: f64) -> Result<ClassMetrics, MetricError> {
    let empty = ndarray::ArrayD::from_elem(ndarray::IxDyn(&vec![1; ndim]), false);
    let metrics = binary_metrics(empty.view(), empty.view(), &vec![1.0; ndim], convention, nsd_tolerance)?;
    Ok(ClassMetrics { class, metrics })
}
