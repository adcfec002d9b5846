//! Conversions between h5, NIfTI, PNG and NPY, for one file or a whole dataset.
//!
//! A dataset converts into the paired layout (`images/<id>.<ext>`, `labels/<id>.<ext>`, split
//! lists copied as `<split>.list`), which every part of semiseg reads. Volumes can be written
//! as one PNG per slice (`<id>_slice_<k>.png`, k from 0) with `slices`.

use crate::crop::{crop_box, crop_image, crop_label, Crop};
use crate::error::DataError;
use crate::io::{self, Format, H5Axes};
use crate::layout::{Case, Dataset, Problem};
use crate::sample::{zscore_in_place, Image, LabelMap};
use ndarray::{s, Axis};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Which array of a file to convert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayKind {
    /// The image (h5: dataset `image`).
    Image,
    /// The label map (h5: dataset `label`).
    Label,
}

/// Whether image intensities are kept or stretched to 0–255 (for viewing as PNG; lossy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Intensity {
    /// Written as they are (PNG refuses values it cannot hold).
    #[default]
    Keep,
    /// Min–max scaled per image to 0–255 and rounded.
    Rescale8Bit,
    /// Zero mean and unit standard deviation over the whole image, before any crop (UA-MT's
    /// LA preprocessing).
    ZScore,
}

fn apply(img: Image, intensity: Intensity) -> Image {
    match intensity {
        Intensity::Keep => img,
        Intensity::Rescale8Bit => {
            let (lo, hi) = img.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
            Image { data: img.data.mapv(|v| ((v - lo) * scale).round()), ..img }
        }
        Intensity::ZScore => {
            let mut img = img;
            zscore_in_place(&mut img.data);
            img
        }
    }
}

/// Converts one file to another format (chosen by the output name).
pub fn convert_file(input: &Path, output: &Path, kind: ArrayKind, axes: H5Axes, intensity: Intensity) -> Result<(), DataError> {
    let is_h5 = Format::of(input)? == Format::H5;
    match kind {
        ArrayKind::Image => {
            let img = if is_h5 { io::h5::read_image(input, axes)? } else { io::read_image(input)? };
            io::write_image(output, &apply(img, intensity))
        }
        ArrayKind::Label => {
            let lab = if is_h5 { io::h5::read_label(input, axes)? } else { io::read_label(input)? };
            io::write_label(output, &lab)
        }
    }
}

/// The 2-D slices of a volume along D2 (a 2-D image is its own single slice).
fn image_slices(img: &Image) -> Vec<Image> {
    if img.spatial_dims == 2 {
        return vec![img.clone()];
    }
    (0..img.spatial_shape()[2])
        .map(|k| Image { data: img.data.slice(s![.., .., .., k..k + 1]).to_owned(), spatial_dims: 2, geometry: crate::Geometry::unit() })
        .collect()
}

fn label_slices(lab: &LabelMap) -> Vec<LabelMap> {
    if lab.spatial_dims == 2 {
        return vec![lab.clone()];
    }
    (0..lab.data.len_of(Axis(2)))
        .map(|k| LabelMap { data: lab.data.slice(s![.., .., k..k + 1]).to_owned(), spatial_dims: 2, geometry: crate::Geometry::unit() })
        .collect()
}

/// Writes one case; returns the ids of the files written (one per slice with `slices`).
fn convert_case(case: &Case, out: &Path, ext: &str, slices: bool, intensity: Intensity, crop: Option<&Crop>) -> Result<Vec<String>, DataError> {
    let mut img = apply(case.read_image()?, intensity);
    let mut lab = case.read_label()?;
    if let Some(crop) = crop {
        if let Some(l) = lab.as_ref().filter(|l| l.spatial_shape() != img.spatial_shape()) {
            return Err(DataError::invalid(case.label.as_ref().unwrap_or(&case.images[0]), format!("label shape {:?} differs from the image's {:?}: cannot crop both alike", l.spatial_shape(), img.spatial_shape())));
        }
        let b = crop_box(crop, &case.id, img.spatial_shape(), lab.as_ref()).map_err(|e| DataError::invalid(case.label.as_ref().unwrap_or(&case.images[0]), e))?;
        img = crop_image(&img, &b);
        lab = lab.map(|l| crop_label(&l, &b));
    }
    let (images, labels) = (out.join("images"), out.join("labels"));
    if !slices {
        io::write_image(&images.join(format!("{}.{ext}", case.id)), &img)?;
        if let Some(l) = &lab {
            io::write_label(&labels.join(format!("{}.{ext}", case.id)), l)?;
        }
        return Ok(vec![case.id.clone()]);
    }
    let mut ids = Vec::new();
    for (k, s) in image_slices(&img).iter().enumerate() {
        let id = format!("{}_slice_{k}", case.id);
        io::write_image(&images.join(format!("{id}.{ext}")), s)?;
        ids.push(id);
    }
    if let Some(l) = &lab {
        for (id, s) in ids.iter().zip(label_slices(l)) {
            io::write_label(&labels.join(format!("{id}.{ext}")), &s)?;
        }
    }
    Ok(ids)
}

/// Converts every case of `dataset` into the paired layout under `out` with extension `ext`
/// (`nii.gz`, `nii`, `png`, `npy`). Returns the problems of cases that failed; the others are
/// written. With `crop`, each volume and its label are cropped to the case's box (after the
/// intensity change). `tick` is called after each case.
pub fn convert_dataset(dataset: &Dataset, out: &Path, ext: &str, slices: bool, intensity: Intensity, crop: Option<&Crop>, tick: &(dyn Fn() + Sync)) -> Result<Vec<Problem>, DataError> {
    Format::of(Path::new(&format!("x.{ext}")))?;
    let mut unique: Vec<&Case> = Vec::new();
    for c in dataset.splits.values().flatten() {
        if !unique.iter().any(|u| u.images == c.images) {
            unique.push(c);
        }
    }
    let results: Vec<_> = unique
        .par_iter()
        .map(|c| {
            let r = convert_case(c, out, ext, slices, intensity, crop);
            tick();
            (c.id.clone(), r)
        })
        .collect();
    let mut written: HashMap<String, Vec<String>> = HashMap::new();
    let mut problems = Vec::new();
    for ((id, r), case) in results.into_iter().zip(&unique) {
        match r {
            Ok(ids) => {
                written.insert(id, ids);
            }
            Err(e) => problems.push(Problem::error(&case.images[0], e.to_string())),
        }
    }
    // Split lists name what was written, in the split's own order.
    for (name, cases) in &dataset.splits {
        let ids: Vec<&String> = cases.iter().filter_map(|c| written.get(&c.id)).flatten().collect();
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        io::atomic::write_bytes(&out.join(format!("{name}.list")), text.as_bytes())?;
    }
    Ok(problems)
}
