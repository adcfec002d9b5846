//! Reading, checking and writing the data of semi-supervised segmentation.
//!
//! * [`Image`] and [`LabelMap`]: arrays with their geometry (spacing, affine, the source NIfTI
//!   header). Layout: images `[C, D0, D1, D2]`, labels `[D0, D1, D2]`; a 2-D image has
//!   `D2 = 1` and `spatial_dims = 2`, with `D0` = rows and `D1` = columns; a volume keeps its
//!   file's axis order (NIfTI i, j, k; UA-MT h5 X, Y, Z; SSL4MIS ACDC h5 (Z, H, W) is turned to
//!   (H, W, Z) so that it matches the NIfTI copies).
//! * [`io`]: one reader/writer per format (PNG/JPG, NIfTI, SSL4MIS/UA-MT HDF5, NPY).
//! * [`layout`]: dataset layouts (paired folders, nnU-Net/MSD, SSL4MIS/UA-MT lists, unlabeled
//!   folders) detected from a root folder, giving named splits of [`layout::Case`]s.
//! * [`split`]: the labeled subset (first N cases or patients, or a seeded random draw).
//! * [`inspect`]: every problem of a dataset, listed per file, without stopping at the first.
//! * [`convert`]: between h5, NIfTI, PNG and NPY; [`crop`]: UA-MT's label-box crop of raw
//!   volumes, or a leak-free one placed by the training labels.
//!
//! Nothing here knows about Burn.

pub mod convert;
pub mod crop;
pub mod error;
pub mod id_classes;
pub mod inspect;
pub mod io;
pub mod layout;
pub mod sample;
pub mod split;

pub use error::DataError;
pub use sample::{Geometry, Image, LabelMap};
