//! NumPy `.npy` arrays: 2-D (H, W) or 3-D volumes; 4-D images are channel-first (C, ...).
//! Any of the common dtypes is accepted (float32/64, (u)int8/16/32/64, bool); the file carries
//! no geometry.

use super::atomic::write_atomically;
use crate::error::DataError;
use crate::sample::{Geometry, Image, LabelMap};
use ndarray::{Array3, Array4, ArrayD, Axis, Ix3, Ix4};
use ndarray_npy::{read_npy, write_npy, ReadNpyError};
use std::path::Path;

fn decode(path: &Path, reason: impl ToString) -> DataError {
    DataError::Decode { path: path.to_path_buf(), format: "NPY", reason: reason.to_string() }
}

/// Reads any numeric dtype as f64.
fn read_any(path: &Path) -> Result<ArrayD<f64>, DataError> {
    super::require_file(path)?;
    macro_rules! attempt {
        ($($t:ty),*) => {$(
            match read_npy::<_, ArrayD<$t>>(path) {
                Ok(a) => return Ok(a.mapv(|v| v as f64)),
                Err(ReadNpyError::WrongDescriptor(_)) => {}
                Err(e) => return Err(decode(path, e)),
            }
        )*};
    }
    attempt!(f32, f64, u8, i8, u16, i16, u32, i32, u64, i64);
    match read_npy::<_, ArrayD<bool>>(path) {
        Ok(a) => Ok(a.mapv(|v| f64::from(u8::from(v)))),
        Err(e) => Err(decode(path, e)),
    }
}

/// Reads an image: (H, W), (X, Y, Z) or channel-first (C, X, Y, Z).
pub fn read_image(path: &Path) -> Result<Image, DataError> {
    let a = read_any(path)?.mapv(|v| v as f32);
    let (data, dims): (Array4<f32>, usize) = match a.ndim() {
        2 => (a.insert_axis(Axis(2)).insert_axis(Axis(0)).into_dimensionality::<Ix4>().map_err(|e| decode(path, e))?, 2),
        3 => (a.insert_axis(Axis(0)).into_dimensionality::<Ix4>().map_err(|e| decode(path, e))?, 3),
        4 => (a.into_dimensionality::<Ix4>().map_err(|e| decode(path, e))?, 3),
        n => return Err(DataError::invalid(path, format!("{n}-D array; expected 2, 3 or 4 dimensions"))),
    };
    Ok(Image { data, spatial_dims: dims, geometry: Geometry::unit() })
}

/// Reads a label map: (H, W) or (X, Y, Z) integer class indices.
pub fn read_label(path: &Path) -> Result<LabelMap, DataError> {
    let a = read_any(path)?;
    if let Some(v) = a.iter().find(|v| v.fract() != 0.0 || **v < 0.0 || **v > 255.0) {
        return Err(DataError::invalid(path, format!("label value {v} is not a class index (integer 0-255)")));
    }
    let dims = a.ndim();
    let a = match dims {
        2 => a.insert_axis(Axis(2)),
        3 => a,
        n => return Err(DataError::invalid(path, format!("{n}-D label array; expected 2 or 3 dimensions"))),
    };
    let data: Array3<u8> = a.mapv(|v| v as u8).into_dimensionality::<Ix3>().map_err(|e| decode(path, e))?;
    Ok(LabelMap { data, spatial_dims: dims, geometry: Geometry::unit() })
}

/// Writes a label map as uint8 (2-D masks without the trailing axis).
pub fn write_label(path: &Path, label: &LabelMap) -> Result<(), DataError> {
    write_atomically(path, |tmp| {
        let r = if label.spatial_dims == 2 { write_npy(tmp, &label.data.index_axis(Axis(2), 0)) } else { write_npy(tmp, &label.data) };
        r.map_err(|e| decode(tmp, e))
    })
}

/// Writes an image as float32: (H, W) / (X, Y, Z) for one channel, channel-first otherwise.
pub fn write_image(path: &Path, image: &Image) -> Result<(), DataError> {
    write_atomically(path, |tmp| {
        let r = match (image.channels(), image.spatial_dims) {
            (1, 2) => write_npy(tmp, &image.data.index_axis(Axis(0), 0).index_axis(Axis(2), 0)),
            (1, _) => write_npy(tmp, &image.data.index_axis(Axis(0), 0)),
            _ => write_npy(tmp, &image.data),
        };
        r.map_err(|e| decode(tmp, e))
    })
}
