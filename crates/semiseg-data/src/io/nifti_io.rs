//! NIfTI-1 (`.nii`, `.nii.gz`) images and labels with their geometry.
//!
//! Reading applies `scl_slope`/`scl_inter` when the slope is non-zero (the NIfTI-1 rule, as
//! nibabel's `get_fdata`), in f64 before rounding to f32. Axes stay i, j, k. A 4-D image
//! (i, j, k, c) is read as `c` channels (MSD multi-modal files). Writing keeps the source
//! header (qform, sform, pixdim, units, description); with none, the affine is built from the
//! geometry's spacing.

use super::atomic::write_atomically;
use super::declared::{self, Storage};
use crate::error::DataError;
use crate::sample::{Geometry, Image, LabelMap};
use ndarray::{Array3, Array4, ArrayD, Axis, Ix3, IxDyn, ShapeBuilder};
use nifti::writer::WriterOptions;
use nifti::{InMemNiftiVolume, IntoNdArray, NiftiHeader, NiftiObject, NiftiVolume, ReaderOptions};
use std::path::Path;

fn decode(path: &Path, reason: impl ToString) -> DataError {
    DataError::Decode { path: path.to_path_buf(), format: "NIfTI", reason: reason.to_string() }
}

/// Refuses a NIfTI-1 header whose `dim` the file cannot hold, before the volume is allocated.
/// Other headers are left to the decoder, which rejects them.
fn check_declared(path: &Path) -> Result<(), DataError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    let mut head = Vec::with_capacity(348);
    let read = if gz { flate2::read::GzDecoder::new(file).take(348).read_to_end(&mut head) } else { file.take(348).read_to_end(&mut head) };
    read.map_err(|e| decode(path, e))?;
    if head.len() < 348 {
        return Err(decode(path, format!("file too short for a NIfTI-1 header ({} of 348 bytes)", head.len())));
    }
    let little = i32::from_le_bytes([head[0], head[1], head[2], head[3]]) == 348;
    if !little && i32::from_be_bytes([head[0], head[1], head[2], head[3]]) != 348 {
        return Ok(());
    }
    let i16_at = |o: usize| if little { i16::from_le_bytes([head[o], head[o + 1]]) } else { i16::from_be_bytes([head[o], head[o + 1]]) };
    let rank = i16_at(40);
    if !(1..=7).contains(&rank) {
        return Err(decode(path, format!("dim[0] = {rank}: not a rank between 1 and 7")));
    }
    let dims: Vec<i16> = (1..=rank as usize).map(|i| i16_at(40 + 2 * i)).collect();
    if dims.iter().any(|&d| d < 1) {
        return Err(decode(path, format!("dim = {dims:?}: every size must be positive")));
    }
    let bitpix = i16_at(72);
    if bitpix < 1 || bitpix % 8 != 0 {
        return Err(decode(path, format!("bitpix = {bitpix}: not a whole number of bytes")));
    }
    let offset = {
        let b = [head[108], head[109], head[110], head[111]];
        let v = if little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
        if v.is_finite() && v >= 0.0 { v as u64 } else { 352 }
    };
    let what = format!("dim {dims:?} of {bitpix}-bit voxels");
    let voxels = declared::payload(dims.iter().map(|&d| d as u64), bitpix as u64 / 8);
    let total = declared::file_len(path)?;
    let storage = if gz { Storage::Deflated { file_bytes: total } } else { Storage::Raw { available: total.saturating_sub(offset) } };
    declared::check(path, &what, voxels, storage)
}

/// Reads the header and the volume (2-D to 4-D), still in its stored type.
fn read_volume(path: &Path) -> Result<(NiftiHeader, InMemNiftiVolume), DataError> {
    super::require_file(path)?;
    check_declared(path)?;
    let obj = ReaderOptions::new().read_file(path).map_err(|e| decode(path, e))?;
    let header = obj.header().clone();
    let volume = obj.into_volume();
    let dims = volume.dimensionality();
    if !(2..=4).contains(&dims) {
        return Err(DataError::invalid(path, format!("{dims}-D NIfTI; expected 2-D, 3-D or 4-D (channels last)")));
    }
    Ok((header, volume))
}

/// Reads the header and the unscaled-then-scaled voxel data as f64 (i, j, k[, c]).
fn read_raw(path: &Path) -> Result<(NiftiHeader, ArrayD<f64>), DataError> {
    let (header, volume) = read_volume(path)?;
    // Asking for f64 makes the crate apply slope and intercept in f64, as nibabel does.
    let data = volume.into_ndarray::<f64>().map_err(|e| decode(path, e))?;
    Ok((header, data.as_standard_layout().to_owned()))
}

fn geometry(header: &NiftiHeader) -> Geometry {
    let p = header.pixdim;
    let spacing = [1, 2, 3].map(|i| if p[i] > 0.0 { p[i] as f64 } else { 1.0 });
    Geometry { spacing, affine: affine(header, spacing), nifti_header: Some(Box::new(header.clone())) }
}

/// The voxel-to-world matrix the header selects: sform, else qform, else the spacing.
pub fn affine(h: &NiftiHeader, spacing: [f64; 3]) -> [[f64; 4]; 4] {
    let mut m = [[0.0; 4]; 4];
    m[3][3] = 1.0;
    if h.sform_code > 0 {
        for (row, s) in [h.srow_x, h.srow_y, h.srow_z].iter().enumerate() {
            m[row] = s.map(|v| v as f64);
        }
    } else if h.qform_code > 0 {
        let (b, c, d) = (h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let r = [
            [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
            [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
            [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ];
        let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let z = [spacing[0], spacing[1], spacing[2] * qfac];
        let offset = [h.quatern_x as f64, h.quatern_y as f64, h.quatern_z as f64];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] = r[i][j] * z[j];
            }
            m[i][3] = offset[i];
        }
    } else {
        for (i, s) in spacing.iter().enumerate() {
            m[i][i] = *s;
        }
    }
    m
}

/// Reads an image: 2-D, 3-D, or 4-D with channels last.
pub fn read_image(path: &Path) -> Result<Image, DataError> {
    let (header, raw) = read_raw(path)?;
    let ndim = raw.ndim();
    let s = raw.shape().to_vec();
    let data: Array4<f32> = match ndim {
        2 => raw.mapv(|v| v as f32).into_shape_with_order(IxDyn(&[1, s[0], s[1], 1])),
        3 => raw.mapv(|v| v as f32).insert_axis(Axis(0)).into_dimensionality().map(|a: Array4<f32>| a.into_dyn()),
        _ => Ok(raw.mapv(|v| v as f32).permuted_axes(IxDyn(&[3, 0, 1, 2])).as_standard_layout().to_owned()),
    }
    .and_then(|a| a.into_dimensionality())
    .map_err(|e| decode(path, e))?;
    Ok(Image { data, spatial_dims: if ndim == 2 { 2 } else { 3 }, geometry: geometry(&header) })
}

/// Reads a label map (2-D or 3-D, integer class indices 0–255). Unscaled uint8 data (what
/// label files almost always are) is taken as stored, without a detour through f64.
pub fn read_label(path: &Path) -> Result<LabelMap, DataError> {
    let (header, volume) = read_volume(path)?;
    let identity = header.scl_slope == 0.0 || (header.scl_slope == 1.0 && header.scl_inter == 0.0);
    if header.datatype == 2 && identity && volume.dimensionality() <= 3 {
        // the stored bytes are the labels, first axis fastest: kept in that memory order, since
        // a transposing copy would cost more than the metrics computed on it
        let ndim = volume.dimensionality();
        let d = volume.dim().to_vec();
        let shape = (d[0] as usize, d[1] as usize, if ndim == 3 { d[2] as usize } else { 1 });
        let data = Array3::from_shape_vec(shape.f(), volume.into_raw_data()).map_err(|e| decode(path, e))?;
        return Ok(LabelMap { data, spatial_dims: ndim, geometry: geometry(&header) });
    }
    let data = volume.into_ndarray::<f64>().map_err(|e| decode(path, e))?;
    let raw = data.as_standard_layout().to_owned();
    let ndim = raw.ndim();
    if ndim == 4 {
        return Err(DataError::invalid(path, format!("label has 4 dimensions {:?}; expected 2-D or 3-D", raw.shape())));
    }
    if let Some(v) = raw.iter().find(|v| v.fract() != 0.0 || **v < 0.0 || **v > 255.0) {
        return Err(DataError::invalid(path, format!("label value {v} is not a class index (integer 0-255)")));
    }
    let raw = if ndim == 2 { raw.insert_axis(Axis(2)) } else { raw };
    let data: Array3<u8> = raw.mapv(|v| v as u8).into_dimensionality::<Ix3>().map_err(|e| decode(path, e))?;
    Ok(LabelMap { data, spatial_dims: ndim, geometry: geometry(&header) })
}

/// The header written with new data: the source header when there is one, else one built from
/// the geometry (sform from the affine, pixdim from the spacing, mm units).
fn header_for(g: &Geometry) -> NiftiHeader {
    if let Some(h) = &g.nifti_header {
        return (**h).clone();
    }
    let mut h = NiftiHeader::default();
    h.pixdim = [1.0, g.spacing[0] as f32, g.spacing[1] as f32, g.spacing[2] as f32, 1.0, 1.0, 1.0, 1.0];
    h.sform_code = 2;
    h.qform_code = 0;
    h.srow_x = g.affine[0].map(|v| v as f32);
    h.srow_y = g.affine[1].map(|v| v as f32);
    h.srow_z = g.affine[2].map(|v| v as f32);
    h.xyzt_units = 2; // mm
    h
}

/// Writes a label map as uint8 NIfTI with the label's geometry.
pub fn write_label(path: &Path, label: &LabelMap) -> Result<(), DataError> {
    let header = header_for(&label.geometry);
    write_atomically(path, |tmp| {
        let opts = WriterOptions::new(tmp).reference_header(&header);
        if label.spatial_dims == 2 {
            opts.write_nifti(&label.data.index_axis(Axis(2), 0))
        } else {
            opts.write_nifti(&label.data)
        }
        .map_err(|e| decode(tmp, e))
    })
}

/// Writes an image as float32 NIfTI: 3-D for one channel, 4-D (channels last) otherwise.
pub fn write_image(path: &Path, image: &Image) -> Result<(), DataError> {
    let header = header_for(&image.geometry);
    write_atomically(path, |tmp| {
        let opts = WriterOptions::new(tmp).reference_header(&header);
        let r = if image.channels() == 1 {
            let v = image.data.index_axis(Axis(0), 0);
            if image.spatial_dims == 2 { opts.write_nifti(&v.index_axis(Axis(2), 0)) } else { opts.write_nifti(&v) }
        } else {
            // channels last (i, j, k, c); the writer needs the array contiguous in that order
            opts.write_nifti(&image.data.view().permuted_axes([1, 2, 3, 0]).as_standard_layout())
        };
        r.map_err(|e| decode(tmp, e))
    })
}
