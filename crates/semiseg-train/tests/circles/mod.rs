//! A synthetic 2-D dataset for training tests: twelve 32×32 grey images of a bright disc on a
//! textured background, their masks, and a `train.list`, written under `root`; and a small
//! config that trains on it.

use image::{GrayImage, Luma};
use semiseg_train::config::Config;
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

/// A 6-iteration config of `method` on the dataset at `root`: 4 labeled cases, batches of 2 + 2,
/// the UNet at a quarter width, `last` saved every iteration, no validation or test.
pub fn config(root: &Path, method: &str) -> Config {
    let toml = format!(
        r#"name = "t"
seed = 7
[data]
root = "{}"
val_split = ""
test_split = ""
labeled = 4
labeled_unit = "cases"
normalize = "divide255"
patch = [32, 32]
augment = "ssl4mis"
workers = 2
[model]
classes = 2
width = 0.25
[method]
name = "{method}"
consistency = 1.0
rampup = 0
[train]
iterations = 6
batch = 4
labeled_batch = 2
val_every = 0
checkpoint_every = 0
save_every = 1
"#,
        root.display()
    );
    Config::from_toml(&toml, "test", &[]).unwrap()
}
