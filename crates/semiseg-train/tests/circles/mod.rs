//! A synthetic 2-D dataset for training tests: twelve 32×32 grey images of a bright disc on a
//! textured background, their masks, and a `train.list`, written under `root`.

use image::{GrayImage, Luma};
use std::path::Path;

/// Writes the dataset (`images/`, `masks/`, `train.list`) under `root`.
pub fn circles(root: &Path) {
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("masks")).unwrap();
    let mut train = String::new();
    for i in 0..12u32 {
        let (cx, cy, r) = (8 + (i * 5) % 16, 10 + (i * 3) % 12, 4 + i % 4);
        let inside = |x: u32, y: u32| (x as i32 - cx as i32).pow(2) + (y as i32 - cy as i32).pow(2) <= (r * r) as i32;
        GrayImage::from_fn(32, 32, |x, y| Luma([if inside(x, y) { 200 } else { 40 + ((x * 7 + y * 3 + i) % 30) as u8 }])).save(root.join(format!("images/c{i:02}.png"))).unwrap();
        GrayImage::from_fn(32, 32, |x, y| Luma([if inside(x, y) { 255 } else { 0 }])).save(root.join(format!("masks/c{i:02}.png"))).unwrap();
        train.push_str(&format!("c{i:02}\n"));
    }
    std::fs::write(root.join("train.list"), train).unwrap();
}
