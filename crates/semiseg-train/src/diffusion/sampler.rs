//! The reverse process: DDPM ancestral steps and DDIM steps, as medfusion's
//! `DiffusionPipeline.denoise` runs them (ε-prediction; x̂_0 clipped only when asked).

use super::schedule::NoiseSchedule;
use burn::prelude::*;

/// DDIM's timesteps, ascending: `torch.linspace(0, T − 1, steps, dtype=long)` (truncated).
pub fn ddim_timesteps(total: usize, steps: usize) -> Vec<usize> {
    let steps = steps.clamp(1, total);
    if steps == 1 {
        return vec![0];
    }
    (0..steps).map(|i| ((total - 1) as f64 * i as f64 / (steps - 1) as f64) as usize).collect()
}

/// One DDIM step from `t` to the earlier `t_next` given the predicted noise `eps` and fresh
/// noise `z`: `x = √ᾱ'·x̂_0 + √(1 − ᾱ' − σ²)·ε̂ + σ·z`, with
/// `σ = η·√((1 − ᾱ/ᾱ')(1 − ᾱ')/(1 − ᾱ))`. η = 0 is deterministic; medfusion samples with η = 1.
pub fn ddim_step(s: &NoiseSchedule, x_t: Tensor<4>, eps: Tensor<4>, t: usize, t_next: usize, eta: f64, z: Tensor<4>, clip_x0: bool) -> Tensor<4> {
    let b = x_t.dims()[0];
    let x0 = s.predict_x0(x_t, eps.clone(), &vec![t; b], clip_x0);
    let (a, a_next) = (s.alphas_cumprod[t], s.alphas_cumprod[t_next]);
    let sigma = eta * ((1.0 - a / a_next) * (1.0 - a_next) / (1.0 - a)).sqrt();
    let c = (1.0 - a_next - sigma * sigma).max(0.0).sqrt();
    x0 * a_next.sqrt() + eps * c + z * sigma
}

/// One DDPM ancestral step from `t` to `t − 1`: the posterior mean of `q(x_{t−1} | x_t, x̂_0)`
/// plus its standard deviation times `z` (none at `t = 0`, where the result is x̂_0).
pub fn ddpm_step(s: &NoiseSchedule, x_t: Tensor<4>, eps: Tensor<4>, t: usize, z: Tensor<4>, clip_x0: bool) -> Tensor<4> {
    let b = x_t.dims()[0];
    let x0 = s.predict_x0(x_t.clone(), eps, &vec![t; b], clip_x0);
    let a = s.alphas_cumprod[t];
    let a_prev = if t == 0 { 1.0 } else { s.alphas_cumprod[t - 1] };
    let beta = s.betas[t];
    let coef_x0 = beta * a_prev.sqrt() / (1.0 - a);
    let coef_xt = (1.0 - a_prev) * (1.0 - beta).sqrt() / (1.0 - a);
    let mean = x0 * coef_x0 + x_t * coef_xt;
    if t == 0 {
        return mean;
    }
    let variance = (beta * (1.0 - a_prev) / (1.0 - a)).max(1e-20);
    mean + z * variance.sqrt()
}
