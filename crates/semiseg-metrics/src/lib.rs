//! Segmentation metrics as the field reports them, in three documented conventions.
//!
//! * [`Convention::Medpy`]: the semi-supervised literature (UA-MT, SSL4MIS, CAML, FBA-Net), which
//!   calls `medpy.metric.binary`: HD95 is the 95th percentile of the *pooled* two-way surface
//!   distances, ASD is one-directional (prediction → ground truth), and an empty prediction
//!   scores 0 on every metric.
//! * [`Convention::Monai`]: `monai.metrics`: HD95 is the larger of the two directed 95th
//!   percentiles, ASD/ASSD pool the distances, empty masks give NaN or infinity.
//! * [`Convention::Smoothed`]: the per-image formulas of the CMU-Net / MGCC code used on BUSI
//!   (IoU smoothed by 1e-5, Dice from IoU), under which an image without lesion predicted empty
//!   scores 1.
//!
//! Masks are `ndarray` boolean arrays of 2 or 3 dimensions (a 2-D image is a 2-D array, never a
//! one-slice volume: erosion connectivity depends on it). Distances are in the units of
//! `spacing` (voxels when it is all ones). Surfaces and distances come from an exact separable
//! Euclidean distance transform restricted to the bounding box of both masks ([`edt`]), evaluated
//! at surface voxels by a pruned search when the surfaces lie close together.

pub mod binary;
pub mod convention;
pub mod edt;
pub mod error;
pub mod multiclass;
pub mod overlap;
pub mod paired;
pub mod percentile;
mod pruned_search;
pub mod report;
pub mod surface;

pub use binary::{binary_metrics, binary_metrics_in_box, BinaryMetrics};
pub use convention::{Convention, EmptyCase};
pub use error::MetricError;
pub use multiclass::{class_metrics, ClassMetrics};
pub use report::{CaseRow, MetricSummary, Summary};
pub use surface::{surface_distances, SurfaceDistances};
