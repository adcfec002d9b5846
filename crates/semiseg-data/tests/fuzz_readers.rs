//! Bounded fuzzing of every reader: random truncations and byte flips of valid PNG, JPEG, NIfTI
//! (.nii, .nii.gz), NPY and h5 files give an error, never a panic, and never ask for more than
//! 1 GiB in one allocation (the allocator of this test binary refuses such a request, which
//! aborts the run with "memory allocation of N bytes failed").

mod common;

use image::{GrayImage, Luma, Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use semiseg_data::io::{self, read_image, read_label};
use semiseg_data::{Geometry, Image, LabelMap};
use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

struct AtMostOneGib;

unsafe impl GlobalAlloc for AtMostOneGib {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > 1 << 30 {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > 1 << 30 {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > 1 << 30 {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: AtMostOneGib = AtMostOneGib;

/// Mutations tried per file.
const TRIES: usize = 150;

/// `valid` damaged at random: cut short, or 1-8 bytes flipped (half of them in the first 512
/// bytes, where the headers are).
fn mutate(valid: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut b = valid.to_vec();
    if rng.random_bool(0.3) {
        b.truncate(rng.random_range(0..valid.len()));
        return b;
    }
    for _ in 0..rng.random_range(1..=8) {
        let limit = if rng.random_bool(0.5) { b.len().min(512) } else { b.len() };
        let i = rng.random_range(0..limit);
        b[i] ^= rng.random_range(1..=255u8);
    }
    b
}

/// Reads every damaged version of `valid` (named like `name`) as image and as label; a panic
/// fails the test with the seed and the kind of damage.
fn fuzz(dir: &Path, name: &str, valid: &[u8], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut errors = 0;
    for t in 0..TRIES {
        let bytes = mutate(valid, &mut rng);
        let path = dir.join(format!("t{t}_{name}"));
        std::fs::write(&path, &bytes).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| (read_image(&path).is_err(), read_label(&path).is_err())));
        let (image_failed, label_failed) = outcome.unwrap_or_else(|_| panic!("{name}: a reader panicked on try {t} (seed {seed}, {} of {} bytes)", bytes.len(), valid.len()));
        errors += usize::from(image_failed || label_failed);
        std::fs::remove_file(&path).unwrap();
    }
    assert!(errors > TRIES / 4, "{name}: only {errors} of {TRIES} damaged files were refused; the fuzzing is not reaching the decoder");
}

fn written(dir: &Path, name: &str, write: impl FnOnce(&PathBuf)) -> Vec<u8> {
    let p = dir.join(name);
    write(&p);
    std::fs::read(p).unwrap()
}

#[test]
fn raster_readers_survive_damage() {
    let d = tempfile::tempdir().unwrap();
    let png = written(d.path(), "mask.png", |p| GrayImage::from_fn(24, 24, |x, y| Luma([if x * y > 100 { 255 } else { 0 }])).save(p).unwrap());
    fuzz(d.path(), "mask.png", &png, 1);
    let jpg = written(d.path(), "photo.jpg", |p| RgbImage::from_fn(24, 24, |x, y| Rgb([(x * 10) as u8, (y * 10) as u8, 90])).save(p).unwrap());
    fuzz(d.path(), "photo.jpg", &jpg, 2);
}

#[test]
fn nifti_and_npy_readers_survive_damage() {
    let d = tempfile::tempdir().unwrap();
    let volume = Image { data: ndarray::Array4::from_shape_fn((1, 8, 8, 4), |(_, x, y, z)| (x + 2 * y + 3 * z) as f32), spatial_dims: 3, geometry: Geometry::from_spacing([0.7, 0.7, 2.5]) };
    let label = LabelMap { data: ndarray::Array3::from_shape_fn((8, 8, 4), |(x, y, _)| u8::from(x > 2 && y < 5)), spatial_dims: 3, geometry: Geometry::unit() };
    for (i, name) in ["vol.nii", "vol.nii.gz", "vol.npy"].iter().enumerate() {
        let bytes = written(d.path(), name, |p| io::write_image(p, &volume).unwrap());
        fuzz(d.path(), name, &bytes, 10 + i as u64);
    }
    for (i, name) in ["seg.nii.gz", "seg.npy"].iter().enumerate() {
        let bytes = written(d.path(), name, |p| io::write_label(p, &label).unwrap());
        fuzz(d.path(), name, &bytes, 20 + i as u64);
    }
}

#[test]
fn h5_reader_survives_damage() {
    let Some(root) = common::shared_data("h5-samples") else { return };
    let d = tempfile::tempdir().unwrap();
    let valid = std::fs::read(root.join("acdc/patient099_frame01_slice_1.h5")).unwrap();
    fuzz(d.path(), "slice.h5", &valid, 30);
}
