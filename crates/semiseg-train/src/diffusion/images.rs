//! The images a diffusion model learns from: every case of a split, channels fixed, resized to
//! `size`² (bilinear) and scaled to [−1, 1] (medfusion's `Normalize(0.5, 0.5)`), with a class
//! index from the file-name prefix (`benign_012` → benign) for conditioning.

use super::config::SynthConfig;
use crate::config::DataConfig;
use crate::data::augment::{resize_image, Interp};
use crate::data::prepare_plane;
use crate::trainer::read_splits;
use ndarray::{Array3, Axis};
use rayon::prelude::*;

/// Training images and their classes.
pub struct SynthImages {
    /// `[C, size, size]` in [−1, 1].
    pub images: Vec<Array3<f32>>,
    /// Class index of each image (into `class_names`).
    pub classes: Vec<usize>,
    /// Class names in index order (sorted file-name prefixes).
    pub class_names: Vec<String>,
}

/// The class a case id names: the text before the first `_`, space or `(`.
pub fn class_of(id: &str) -> String {
    id.split(['_', ' ', '(']).next().unwrap_or(id).to_string()
}

/// Reads and prepares the configured split.
pub fn load_images(cfg: &SynthConfig) -> Result<SynthImages, String> {
    let d = &cfg.data;
    let splits = read_splits(&d.root, &d.random_split, d.split_seed)?;
    let cases = splits.get(&d.split).ok_or_else(|| format!("{}: no split '{}' (has: {})", d.root.display(), d.split, splits.keys().cloned().collect::<Vec<_>>().join(", ")))?;
    if cases.is_empty() {
        return Err(format!("{}: split '{}' is empty", d.root.display(), d.split));
    }
    let prep = DataConfig { channels: d.channels, normalize: "divide255".into(), ..Default::default() };
    let images: Result<Vec<Array3<f32>>, String> = cases
        .par_iter()
        .map(|c| {
            let image = c.read_image().map_err(|e| e.to_string())?;
            if image.spatial_shape()[2] != 1 {
                return Err(format!("{}: a volume; semiseg synth learns 2-D images", c.images[0].display()));
            }
            let plane = prepare_plane(image.data.index_axis(Axis(3), 0).to_owned(), &prep).map_err(|e| format!("{}: {e}", c.images[0].display()))?;
            Ok(resize_image(&plane, d.size, d.size, Interp::Bilinear).mapv(|v| (v * 2.0 - 1.0).clamp(-1.0, 1.0)))
        })
        .collect();
    let mut class_names: Vec<String> = cases.iter().map(|c| class_of(&c.id)).collect();
    class_names.sort();
    class_names.dedup();
    let classes = cases.iter().map(|c| class_names.binary_search(&class_of(&c.id)).expect("listed")).collect();
    Ok(SynthImages { images: images?, classes, class_names })
}
