//! Errors of the metrics crate.

use thiserror::Error;

/// What can go wrong when computing metrics.
#[derive(Debug, Error)]
pub enum MetricError {
    /// Prediction and ground truth differ in shape.
    #[error("prediction shape {pred:?} differs from ground-truth shape {gt:?}")]
    ShapeMismatch {
        /// Shape of the prediction.
        pred: Vec<usize>,
        /// Shape of the ground truth.
        gt: Vec<usize>,
    },
    /// Only 2-D and 3-D masks are supported.
    #[error("masks must be 2-D or 3-D, got {0} dimensions")]
    Dimensionality(usize),
    /// The spacing has the wrong number of entries or a non-positive value.
    #[error("spacing {spacing:?} does not fit a {ndim}-D mask (need {ndim} positive values)")]
    Spacing {
        /// The spacing given.
        spacing: Vec<f64>,
        /// Dimensions of the mask.
        ndim: usize,
    },
    /// An unknown convention name.
    #[error("unknown metric convention '{0}' (expected medpy, monai or smoothed)")]
    UnknownConvention(String),
}
