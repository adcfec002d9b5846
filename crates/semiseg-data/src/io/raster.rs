//! PNG and JPEG images and masks.
//!
//! Images: 8- or 16-bit grey → 1 channel, RGB → 3 channels, RGBA → 3 channels (alpha dropped),
//! values kept in the file's range (0–255 or 0–65535). Axes: D0 = row, D1 = column.
//! Masks: grey (or RGB with R = G = B) values; a mask whose values are all in {0, 255} is a
//! binary 0/255 mask and becomes {0, 1}; any other values are class indices, kept. JPEG masks
//! (lossy, e.g. the original Kvasir-SEG release) are binarised at 128.

use super::atomic::write_atomically;
use super::declared::{self, Storage};
use crate::error::DataError;
use crate::sample::{distinct, Geometry, Image, LabelMap};
use image::{DynamicImage, GenericImageView, ImageBuffer, ImageDecoder, Luma};
use ndarray::{Array3, Array4, Axis};
use std::path::Path;

fn decode_error(path: &Path, e: image::ImageError) -> DataError {
    DataError::Decode { path: path.to_path_buf(), format: "PNG/JPEG", reason: e.to_string() }
}

fn open(path: &Path) -> Result<DynamicImage, DataError> {
    let reader = image::ImageReader::open(path).map_err(|e| DataError::io(path, e))?.with_guessed_format().map_err(|e| DataError::io(path, e))?;
    let decoder = reader.into_decoder().map_err(|e| decode_error(path, e))?;
    // The size in the header, checked before decoding against what a compressed file of this
    // size could hold: up to 8 pixels a byte (1-bit PNG), each becoming a 4-byte float here.
    let (w, h) = decoder.dimensions();
    declared::check(path, &format!("{w}x{h} pixels"), declared::payload([w as u64, h as u64], 4), Storage::Deflated { file_bytes: declared::file_len(path)?.saturating_mul(32) })?;
    // the allocation limit `ImageReader::decode` applies
    image::Limits::default().reserve(decoder.total_bytes()).map_err(|e| decode_error(path, e))?;
    DynamicImage::from_decoder(decoder).map_err(|e| decode_error(path, e))
}

/// Reads a 2-D image.
pub fn read_image(path: &Path) -> Result<Image, DataError> {
    let img = open(path)?;
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let data = match &img {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) => {
            let g = img.to_luma8();
            Array4::from_shape_fn((1, h, w, 1), |(_, y, x, _)| g.get_pixel(x as u32, y as u32)[0] as f32)
        }
        DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_) => {
            let g = img.to_luma16();
            Array4::from_shape_fn((1, h, w, 1), |(_, y, x, _)| g.get_pixel(x as u32, y as u32)[0] as f32)
        }
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_) => {
            let c = img.to_rgb16();
            Array4::from_shape_fn((3, h, w, 1), |(ch, y, x, _)| c.get_pixel(x as u32, y as u32)[ch] as f32)
        }
        _ => {
            let c = img.to_rgb8();
            Array4::from_shape_fn((3, h, w, 1), |(ch, y, x, _)| c.get_pixel(x as u32, y as u32)[ch] as f32)
        }
    };
    Ok(Image { data, spatial_dims: 2, geometry: Geometry::unit() })
}

/// Reads a 2-D mask (see the module doc for the value rules).
pub fn read_label(path: &Path) -> Result<LabelMap, DataError> {
    let img = open(path)?;
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let is_jpeg = matches!(super::Format::of(path), Ok(super::Format::Jpeg));
    let grey: Array3<u16> = match &img {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_) => {
            let g = img.to_luma16();
            let scale = if matches!(img, DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_)) { 1 } else { 257 };
            Array3::from_shape_fn((h, w, 1), |(y, x, _)| g.get_pixel(x as u32, y as u32)[0] / scale)
        }
        _ => {
            let c = img.to_rgb8();
            let mut colour = false;
            let a = Array3::from_shape_fn((h, w, 1), |(y, x, _)| {
                let p = c.get_pixel(x as u32, y as u32);
                colour |= p[0] != p[1] || p[1] != p[2];
                if is_jpeg { (p[0] as u16 + p[1] as u16 + p[2] as u16) / 3 } else { p[0] as u16 }
            });
            if colour && !is_jpeg {
                return Err(DataError::invalid(path, "colour mask (R, G, B differ): expected a grey class-index or 0/255 mask"));
            }
            a
        }
    };
    let data = if is_jpeg {
        grey.mapv(|v| u8::from(v >= 128))
    } else {
        if let Some(v) = grey.iter().find(|&&v| v > 255) {
            return Err(DataError::invalid(path, format!("label value {v} does not fit a class index (0-255)")));
        }
        let data = grey.mapv(|v| v as u8);
        let values = distinct(data.view());
        if values.iter().all(|&v| v == 0 || v == 255) {
            data.mapv(|v| u8::from(v == 255))
        } else {
            data
        }
    };
    Ok(LabelMap { data, spatial_dims: 2, geometry: Geometry::unit() })
}

/// Writes a 2-D label map as an 8-bit grey PNG: 0/255 if binary, class indices otherwise.
pub fn write_label(path: &Path, label: &LabelMap) -> Result<(), DataError> {
    let plane = plane_of(path, label.spatial_dims, label.data.dim().2)?;
    let binary = label.data.iter().all(|&v| v <= 1);
    let (h, w, _) = label.data.dim();
    let buf = ImageBuffer::<Luma<u8>, Vec<u8>>::from_fn(w as u32, h as u32, |x, y| {
        let v = label.data[[y as usize, x as usize, plane]];
        Luma([if binary { v * 255 } else { v }])
    });
    write_atomically(path, |tmp| save(tmp, DynamicImage::ImageLuma8(buf)))
}

/// Writes a 2-D image as PNG: 1 channel → grey, 3 channels → RGB; values must lie in 0–255
/// (8-bit) or 0–65535 with 1 channel (16-bit grey).
pub fn write_image(path: &Path, image: &Image) -> Result<(), DataError> {
    let plane = plane_of(path, image.spatial_dims, image.spatial_shape()[2])?;
    let d = image.data.index_axis(Axis(3), plane);
    let (c, h, w) = d.dim();
    let (lo, hi) = d.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if lo < 0.0 || !hi.is_finite() || d.iter().any(|v| v.fract() != 0.0) {
        return Err(DataError::invalid(path, format!("intensities {lo}..{hi} are not whole numbers >= 0: a PNG would change them (write .nii.gz or .npy, or rescale to 0-255 first)")));
    }
    let img = match (c, hi > 255.0) {
        (1, false) => DynamicImage::ImageLuma8(ImageBuffer::from_fn(w as u32, h as u32, |x, y| Luma([d[[0, y as usize, x as usize]].round() as u8]))),
        (1, true) if hi <= 65535.0 => DynamicImage::ImageLuma16(ImageBuffer::from_fn(w as u32, h as u32, |x, y| Luma([d[[0, y as usize, x as usize]].round() as u16]))),
        (3, false) => DynamicImage::ImageRgb8(ImageBuffer::from_fn(w as u32, h as u32, |x, y| {
            image::Rgb([0, 1, 2].map(|ch| d[[ch, y as usize, x as usize]].round() as u8))
        })),
        _ => return Err(DataError::invalid(path, format!("{c} channels with values up to {hi} cannot be written as PNG"))),
    };
    write_atomically(path, |tmp| save(tmp, img))
}

/// PNG holds one plane: 2-D data, or a volume with a single slice.
fn plane_of(path: &Path, dims: usize, depth: usize) -> Result<usize, DataError> {
    if dims == 2 || depth == 1 {
        Ok(0)
    } else {
        Err(DataError::invalid(path, format!("a {depth}-slice volume cannot be one PNG; convert with --slices")))
    }
}

fn save(tmp: &Path, img: DynamicImage) -> Result<(), DataError> {
    img.save_with_format(tmp, image::ImageFormat::Png)
        .map_err(|e| DataError::Decode { path: tmp.to_path_buf(), format: "PNG", reason: e.to_string() })
}
