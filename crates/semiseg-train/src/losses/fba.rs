//! FBA-Net's contrast between foreground and background embeddings (methods.md §4.3, from
//! CCAM): cosine similarities across the images of the batch, clamped to [0.0005, 0.9995], each
//! weighted by `exp(−α · (rank − 1))` with `rank` its position in its row sorted descending
//! (0 = largest; no gradient), so the top entry weighs `e^α`.
//! SimMax pulls embeddings of one kind together, SimMin pushes foreground from background.

use burn::prelude::*;
use burn::tensor::TensorData;

/// Row-normalised `a · bᵀ` (`F.normalize`, ε = 1e-12), clamped to [0.0005, 0.9995].
fn cosine(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let unit = |x: Tensor<2>| {
        let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
        x / norm
    };
    unit(a).matmul(unit(b).transpose()).clamp(0.0005, 0.9995)
}

/// `exp(−α · (rank − 1))` per entry, the rank of each entry within its row in descending order
/// (ties keep column order).
fn rank_weights(s: &Tensor<2>, alpha: f64) -> Tensor<2> {
    let [rows, cols] = s.dims();
    let values: Vec<f32> = s.clone().into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 similarities");
    let mut weights = vec![0f32; rows * cols];
    for r in 0..rows {
        let row = &values[r * cols..(r + 1) * cols];
        let mut order: Vec<usize> = (0..cols).collect();
        order.sort_by(|&i, &j| row[j].total_cmp(&row[i]));
        for (rank, &c) in order.iter().enumerate() {
            weights[r * cols + c] = (-alpha * (rank as f64 - 1.0)).exp() as f32;
        }
    }
    Tensor::from_data(TensorData::new(weights, [rows, cols]), &s.device())
}

/// SimMax: `mean(w ⊙ −log cos(z, z))`, α = 0.25.
pub fn sim_max(z: Tensor<2>) -> Tensor<1> {
    let s = cosine(z.clone(), z);
    let w = rank_weights(&s, 0.25);
    (w * s.log().neg()).mean()
}

/// SimMin: `mean(w ⊙ −log(1 − cos(z_f, z_b)))`, α = 2.5.
pub fn sim_min(foreground: Tensor<2>, background: Tensor<2>) -> Tensor<1> {
    let s = cosine(foreground, background);
    let w = rank_weights(&s, 2.5);
    (w * (s.neg() + 1.0).log().neg()).mean()
}

/// One decoder's contrast: `SimMax(z_f) + SimMax(z_b) + SimMin(z_f, z_b)`.
pub fn fba_contrast(foreground: Tensor<2>, background: Tensor<2>) -> Tensor<1> {
    sim_max(foreground.clone()) + sim_max(background.clone()) + sim_min(foreground, background)
}
