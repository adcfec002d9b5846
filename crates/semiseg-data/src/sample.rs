//! In-memory images and label maps with their geometry.

use ndarray::{Array, Array3, Array4, ArrayView3, ArrayViewD, Axis, Dimension};

/// Where the voxels are in space.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// Voxel size along array axes D0, D1, D2 (mm for NIfTI; 1 where the file has none).
    pub spacing: [f64; 3],
    /// Voxel index (D0, D1, D2, 1) → world coordinates; identity scaled by spacing when unknown.
    pub affine: [[f64; 4]; 4],
    /// The NIfTI header the data came from, kept so that outputs carry the same geometry
    /// (qform, sform, units, orientation) back.
    pub nifti_header: Option<Box<nifti::NiftiHeader>>,
}

impl Geometry {
    /// Spacing only, axis-aligned affine.
    pub fn from_spacing(spacing: [f64; 3]) -> Self {
        let mut affine = [[0.0; 4]; 4];
        for (i, s) in spacing.iter().enumerate() {
            affine[i][i] = *s;
        }
        affine[3][3] = 1.0;
        Self { spacing, affine, nifti_header: None }
    }

    /// Unit spacing, identity affine (PNG/JPG, NPY, h5).
    pub fn unit() -> Self {
        Self::from_spacing([1.0; 3])
    }
}

/// Zero mean and unit standard deviation over all of `x` (the standard deviation floored at
/// 1e-8, so a constant image becomes zeros): UA-MT's and SSL4MIS's `(x − mean) / std`.
pub fn zscore_in_place<D: Dimension>(x: &mut Array<f32, D>) {
    let n = x.len() as f32;
    let mean = x.sum() / n;
    let std = (x.mapv(|v| (v - mean) * (v - mean)).sum() / n).sqrt().max(1e-8);
    x.mapv_inplace(|v| (v - mean) / std);
}

/// An image: `[C, D0, D1, D2]` intensities in the file's own units (no normalisation).
#[derive(Debug, Clone)]
pub struct Image {
    /// Channel-first data.
    pub data: Array4<f32>,
    /// 2 for a 2-D image (`D2 == 1`), 3 for a volume.
    pub spatial_dims: usize,
    /// Spacing and orientation.
    pub geometry: Geometry,
}

/// A label map: class index per voxel, `[D0, D1, D2]`.
#[derive(Debug, Clone)]
pub struct LabelMap {
    /// Class indices (0 = background).
    pub data: Array3<u8>,
    /// 2 for a 2-D mask (`D2 == 1`), 3 for a volume.
    pub spatial_dims: usize,
    /// Spacing and orientation.
    pub geometry: Geometry,
}

impl Image {
    /// Spatial shape `[D0, D1, D2]`.
    pub fn spatial_shape(&self) -> [usize; 3] {
        let s = self.data.shape();
        [s[1], s[2], s[3]]
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.data.shape()[0]
    }

    /// Spatial shape as the user thinks of it: 2 or 3 numbers.
    pub fn shape_string(&self) -> String {
        shape_string(self.spatial_shape(), self.spatial_dims)
    }
}

impl LabelMap {
    /// Spatial shape `[D0, D1, D2]`.
    pub fn spatial_shape(&self) -> [usize; 3] {
        let (a, b, c) = self.data.dim();
        [a, b, c]
    }

    /// The mask with its true dimensionality (2-D masks drop `D2`), for metrics.
    pub fn view_nd(&self) -> ArrayViewD<'_, u8> {
        if self.spatial_dims == 2 {
            self.data.index_axis(Axis(2), 0).into_dyn()
        } else {
            self.data.view().into_dyn()
        }
    }

    /// Spacing of the true dimensions, for metrics.
    pub fn spacing_nd(&self) -> &[f64] {
        &self.geometry.spacing[..self.spatial_dims]
    }

    /// Sorted distinct label values.
    pub fn values(&self) -> Vec<u8> {
        distinct(self.data.view())
    }

    /// Fraction of voxels that are not background.
    pub fn foreground_fraction(&self) -> f64 {
        let fg = self.data.iter().filter(|&&v| v != 0).count();
        fg as f64 / self.data.len().max(1) as f64
    }

    /// Spatial shape as the user thinks of it: 2 or 3 numbers.
    pub fn shape_string(&self) -> String {
        shape_string(self.spatial_shape(), self.spatial_dims)
    }
}

/// Sorted distinct values of a `u8` array.
pub fn distinct(a: ArrayView3<u8>) -> Vec<u8> {
    let mut seen = [false; 256];
    a.iter().for_each(|&v| seen[v as usize] = true);
    (0..=255u8).filter(|&v| seen[v as usize]).collect()
}

fn shape_string(s: [usize; 3], dims: usize) -> String {
    s[..dims].iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
}
