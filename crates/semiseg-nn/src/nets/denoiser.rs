//! The latent denoiser of MGCC's stage 1 (medfusion's estimator UNet, methods.md §1.1): a UNet
//! of residual blocks on the 8-channel latent, widths `[256, 256, 512, 1024]` with strides
//! `[1, 2, 2, 2]`, every block told the step by a sinusoidal time embedding (→ MLP, 1024 wide),
//! optionally a class embedding added to it (benign / malignant / normal; none = unconditional,
//! as classifier-free guidance trains it). Predicts the noise ε.

use crate::blocks::{conv_same, DownStep, ResBlock, ResBlockConfig, UpStep};
use crate::kernels::conv2d_module;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;
use burn::tensor::TensorData;

/// Configuration of a [`Denoiser`].
#[derive(Config, Debug)]
pub struct DenoiserConfig {
    /// Latent channels (in and out).
    #[config(default = 8)]
    pub channels: usize,
    /// Widths per level; each level after the first halves the size.
    #[config(default = "vec![256, 256, 512, 1024]")]
    pub widths: Vec<usize>,
    /// Width of the time embedding.
    #[config(default = 1024)]
    pub time_channels: usize,
    /// Number of classes for conditioning (0: unconditional).
    #[config(default = 0)]
    pub classes: usize,
    /// GroupNorm groups (medfusion's estimator UNet: 32).
    #[config(default = 32)]
    pub groups: usize,
}

/// The ε-prediction UNet.
#[derive(Module, Debug)]
pub struct Denoiser {
    time_mlp: (Linear, Linear),
    class_embedding: Option<Embedding>,
    inc: ResBlock,
    encoder: Vec<DownStep>,
    decoder: Vec<UpStep>,
    out: Conv2d,
    time_channels: usize,
}

/// `[sin(t·f_k), cos(t·f_k)]` with `f_k = 10000^(−k/(d/2 − 1))`, `[N, d]`.
pub fn sinusoidal_embedding(t: &[usize], dim: usize, device: &Device) -> Tensor<2> {
    let half = dim / 2;
    let scale = (10000f64).ln() / (half.max(2) - 1) as f64;
    let mut v = Vec::with_capacity(t.len() * dim);
    for &s in t {
        let freqs = (0..half).map(|k| s as f64 * (-scale * k as f64).exp());
        let (sin, cos): (Vec<f32>, Vec<f32>) = freqs.map(|a| (a.sin() as f32, a.cos() as f32)).unzip();
        v.extend(sin);
        v.extend(cos);
    }
    Tensor::from_data(TensorData::new(v, [t.len(), 2 * half]), device)
}

impl DenoiserConfig {
    /// Builds the denoiser on `device`.
    pub fn init(&self, device: &Device) -> Denoiser {
        let w = &self.widths;
        let tc = self.time_channels;
        let g = self.groups;
        let encoder = (1..w.len()).map(|i| DownStep::new(w[i - 1], w[i], tc, g, device)).collect();
        let decoder = (0..w.len() - 1).map(|i| UpStep::new(w[i + 1], w[i], tc, g, device)).collect();
        let mut out = conv_same(w[0], self.channels, 1, 1, device);
        out.weight = Initializer::Zeros.init([self.channels, w[0], 1, 1], device);
        Denoiser {
            time_mlp: (LinearConfig::new(tc / 4, tc).init(device), LinearConfig::new(tc, tc).init(device)),
            class_embedding: (self.classes > 0).then(|| EmbeddingConfig::new(self.classes, tc).init(device)),
            inc: ResBlockConfig::new(self.channels, w[0]).with_time_channels(tc).with_groups(g).init(device),
            encoder,
            decoder,
            out,
            time_channels: tc,
        }
    }
}

impl Denoiser {
    /// Predicted noise.
    ///
    /// `t`: each sample's step; `class`: each sample's class, or `None` for all unconditional
    /// (also when the network has no class embedding).
    ///
    /// # Shapes
    /// `[N, C, h, w]` (h, w divisible by 8) → `[N, C, h, w]`
    pub fn forward(&self, x: Tensor<4>, t: &[usize], class: Option<&[usize]>) -> Tensor<4> {
        let device = x.device();
        let sin = sinusoidal_embedding(t, self.time_channels / 4, &device);
        let mut temb = self.time_mlp.1.forward(silu(self.time_mlp.0.forward(sin)));
        if let (Some(emb), Some(c)) = (&self.class_embedding, class) {
            let ids = Tensor::<2, Int>::from_data(TensorData::new(c.iter().map(|&v| v as i64).collect::<Vec<_>>(), [c.len(), 1]), &device);
            temb = temb + emb.forward(ids).reshape([c.len(), self.time_channels]);
        }
        let mut h = self.inc.forward(x, Some(&temb));
        let mut skips = vec![h.clone()];
        for d in &self.encoder {
            h = d.forward(h, Some(&temb));
            skips.push(h.clone());
        }
        skips.pop(); // the bottleneck is `h` itself
        for up in self.decoder.iter().rev() {
            let skip = skips.pop().expect("one skip per level");
            h = up.forward(h, Some(skip), Some(&temb));
        }
        conv2d_module(&self.out, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_with_and_without_classes() {
        let device = Device::flex();
        let net = DenoiserConfig::new().with_widths(vec![16, 16, 32, 32]).with_time_channels(32).with_classes(3).init(&device);
        let x = Tensor::<4>::zeros([2, 8, 16, 16], &device);
        assert_eq!(net.forward(x.clone(), &[3, 999], Some(&[0, 2])).dims(), [2, 8, 16, 16]);
        assert_eq!(net.forward(x, &[0, 5], None).dims(), [2, 8, 16, 16]);
    }

    #[test]
    fn time_embedding_is_sin_then_cos() {
        let e = sinusoidal_embedding(&[0, 7], 8, &Device::flex()).into_data();
        let v = e.as_slice::<f32>().unwrap();
        assert_eq!(&v[..8], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        assert!((v[8] - 7f32.sin()).abs() < 1e-6 && (v[12] - 7f32.cos()).abs() < 1e-6);
    }
}
