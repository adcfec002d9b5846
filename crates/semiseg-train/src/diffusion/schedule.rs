//! The diffusion forward process: `x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε`, with the β schedules of
//! medfusion's `GaussianNoiseScheduler` (computed in f64 as there). `t` is 0-based: `t = 0`
//! is one step of noise.

use burn::prelude::*;
use burn::tensor::TensorData;

/// β and ᾱ of every step.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseSchedule {
    /// `β_t`, t = 0..T.
    pub betas: Vec<f64>,
    /// `ᾱ_t = Π_{s≤t} (1 − β_s)`.
    pub alphas_cumprod: Vec<f64>,
}

impl NoiseSchedule {
    /// From explicit βs.
    pub fn from_betas(betas: Vec<f64>) -> Self {
        let alphas_cumprod = betas
            .iter()
            .scan(1.0, |acc, b| {
                *acc *= 1.0 - b;
                Some(*acc)
            })
            .collect();
        Self { betas, alphas_cumprod }
    }

    /// `linspace(√start, √end, T)²` (Stable Diffusion's and medfusion's `scaled_linear`; the
    /// LDM default is start 0.002, end 0.02, T 1000).
    pub fn scaled_linear(steps: usize, start: f64, end: f64) -> Self {
        Self::from_betas(linspace(start.sqrt(), end.sqrt(), steps).into_iter().map(|b| b * b).collect())
    }

    /// `linspace(start, end, T)` (DDPM).
    pub fn linear(steps: usize, start: f64, end: f64) -> Self {
        Self::from_betas(linspace(start, end, steps))
    }

    /// Number of steps T.
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Whether the schedule has no step.
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }

    /// `ᾱ` of each sample's step as `[B, 1, 1, 1]`, passed through `f`.
    pub fn per_sample(&self, t: &[usize], f: impl Fn(f64) -> f64, device: &Device) -> Tensor<4> {
        let v: Vec<f32> = t.iter().map(|&s| f(self.alphas_cumprod[s]) as f32).collect();
        Tensor::from_data(TensorData::new(v, [t.len(), 1, 1, 1]), device)
    }

    /// `x_t` of `x_0` and noise `ε` at each sample's step.
    pub fn q_sample(&self, x0: Tensor<4>, noise: Tensor<4>, t: &[usize]) -> Tensor<4> {
        let device = x0.device();
        x0 * self.per_sample(t, f64::sqrt, &device) + noise * self.per_sample(t, |a| (1.0 - a).sqrt(), &device)
    }

    /// `x̂_0 = (x_t − √(1 − ᾱ_t)·ε̂) / √ᾱ_t`, optionally clipped to [−1, 1].
    pub fn predict_x0(&self, x_t: Tensor<4>, eps: Tensor<4>, t: &[usize], clip: bool) -> Tensor<4> {
        let device = x_t.device();
        let x0 = x_t * self.per_sample(t, |a| (1.0 / a).sqrt(), &device) - eps * self.per_sample(t, |a| (1.0 / a - 1.0).sqrt(), &device);
        if clip {
            x0.clamp(-1.0, 1.0)
        } else {
            x0
        }
    }
}

/// `n` evenly spaced values from `a` to `b` inclusive (`torch.linspace` in f64).
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![a],
        _ => (0..n).map(|i| a + (b - a) * i as f64 / (n - 1) as f64).collect(),
    }
}
