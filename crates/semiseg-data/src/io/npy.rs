//! NumPy `.npy` arrays: 2-D (H, W) or 3-D volumes; 4-D images are channel-first (C, ...).
//! Any of the common dtypes is accepted (float32/64, (u)int8/16/32/64, bool); the file carries
//! no geometry.

use super::atomic::write_atomically;
use super::declared::{self, Storage};
use crate::error::DataError;
use crate::sample::{Geometry, Image, LabelMap};
use ndarray::{Array3, Array4, ArrayD, Axis, Ix3, Ix4};
use ndarray_npy::{read_npy, write_npy, ReadNpyError};
use std::path::Path;

fn decode(path: &Path, reason: impl ToString) -> DataError {
    DataError::Decode { path: path.to_path_buf(), format: "NPY", reason: reason.to_string() }
}

/// The header's dtype item size and shape, and the header's length in bytes.
fn parse_header(path: &Path, head: &[u8]) -> Result<(u64, Vec<u64>, u64), DataError> {
    if head.len() < 10 || &head[..6] != b"\x93NUMPY" {
        return Err(decode(path, "not an NPY file (no \\x93NUMPY magic)"));
    }
    let (len, start) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as usize, 10),
        2 | 3 if head.len() >= 12 => (u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize, 12),
        v => return Err(decode(path, format!("NPY format version {v} not supported"))),
    };
    let text = head.get(start..start + len).ok_or_else(|| decode(path, format!("header of {len} bytes is cut off")))?;
    let text = String::from_utf8_lossy(text);
    let value_of = |key: &str| text.split_once(&format!("'{key}':")).map(|(_, rest)| rest.trim_start().to_string());
    let descr = value_of("descr").and_then(|v| v.strip_prefix('\'').and_then(|r| r.split_once('\'')).map(|(d, _)| d.to_string()));
    let item: u64 = descr.as_deref().and_then(|d| d.trim_start_matches(['<', '>', '|', '=']).get(1..)).and_then(|n| n.parse().ok()).ok_or_else(|| decode(path, format!("unreadable dtype in header {text}")))?;
    let shape_text = value_of("shape").and_then(|v| v.strip_prefix('(').and_then(|r| r.split_once(')')).map(|(s, _)| s.to_string())).ok_or_else(|| decode(path, format!("no shape in header {text}")))?;
    let shape: Result<Vec<u64>, _> = shape_text.split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::parse).collect();
    let shape = shape.map_err(|_| decode(path, format!("unreadable shape ({shape_text})")))?;
    Ok((item, shape, (start + len) as u64))
}

/// Refuses a header whose shape the file cannot hold, before the array is allocated.
fn check_declared(path: &Path) -> Result<(), DataError> {
    use std::io::Read;
    let total = declared::file_len(path)?;
    // magic, version and header length (12 bytes cover every version), then the header itself
    let mut head = Vec::new();
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    (&mut file).take(12).read_to_end(&mut head).map_err(|e| DataError::io(path, e))?;
    let header_end = match head.get(6) {
        Some(1) if head.len() >= 10 => 10 + u16::from_le_bytes([head[8], head[9]]) as u64,
        Some(2 | 3) if head.len() >= 12 => 12 + u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as u64,
        _ => 12,
    };
    file.take(header_end.saturating_sub(12)).read_to_end(&mut head).map_err(|e| DataError::io(path, e))?;
    let (item, shape, header_len) = parse_header(path, &head)?;
    let what = format!("shape {shape:?} of {item}-byte items");
    declared::check(path, &what, declared::payload(shape.iter().copied(), item), Storage::Raw { available: total.saturating_sub(header_len) })
}

/// Reads any numeric dtype as f64.
fn read_any(path: &Path) -> Result<ArrayD<f64>, DataError> {
    super::require_file(path)?;
    check_declared(path)?;
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
