//! The latent autoencoder of MGCC's stage 1 (medfusion's `VAE`, methods.md §1.1): residual
//! blocks with GroupNorm and Swish, learnable down-sampling (strided conv) and up-sampling
//! (transposed conv), `hid = [64, 128, 256, 512]` with strides `[1, 2, 2, 2]` (8× smaller), a
//! diagonal Gaussian posterior over an `emb`-channel latent (8), and one deep-supervision output
//! at half resolution. A 256² RGB image becomes an 8×32×32 latent.

use crate::blocks::{conv_same, DownStep, ResBlock, ResBlockConfig, UpStep, GROUPS};
use crate::kernels::conv2d_module;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::Initializer;
use burn::prelude::*;

/// Configuration of a [`Vae`].
#[derive(Config, Debug)]
pub struct VaeConfig {
    /// Image channels (in and out).
    #[config(default = 3)]
    pub channels: usize,
    /// Latent channels.
    #[config(default = 8)]
    pub latent_channels: usize,
    /// Widths per level; each level after the first halves the size.
    #[config(default = "vec![64, 128, 256, 512]")]
    pub widths: Vec<usize>,
}

/// The autoencoder.
#[derive(Module, Debug)]
pub struct Vae {
    inc: ResBlock,
    encoder: Vec<DownStep>,
    to_moments: (Conv2d, Conv2d),
    inc_dec: ResBlock,
    decoder: Vec<UpStep>,
    out: Conv2d,
    out_deep: Conv2d,
}

/// What a training pass returns.
#[derive(Debug, Clone)]
pub struct VaeOutput {
    /// Reconstruction `[N, C, H, W]`.
    pub image: Tensor<4>,
    /// Deep-supervision reconstruction at half size `[N, C, H/2, W/2]`.
    pub deep: Tensor<4>,
    /// KL divergence to N(0, I): `0.5·Σ(μ² + σ² − 1 − log σ²) / N`.
    pub kl: Tensor<1>,
}

/// A 1×1 conv with zero weights (medfusion's `zero_conv` outputs: training starts from 0).
fn zero_conv(cin: usize, cout: usize, device: &Device) -> Conv2d {
    let mut c = conv_same(cin, cout, 1, 1, device);
    c.weight = Initializer::Zeros.init([cout, cin, 1, 1], device);
    c
}

impl VaeConfig {
    /// Builds the autoencoder on `device`.
    pub fn init(&self, device: &Device) -> Vae {
        let w = &self.widths;
        let depth = w.len();
        let encoder = (1..depth).map(|i| DownStep::new(w[i - 1], w[i], 0, GROUPS, device)).collect();
        let decoder = (0..depth - 1).map(|i| UpStep::new(w[i + 1], w[i], 0, GROUPS, device)).collect();
        let e2 = 2 * self.latent_channels;
        Vae {
            inc: ResBlockConfig::new(self.channels, w[0]).init(device),
            encoder,
            to_moments: (conv_same(w[depth - 1], e2, 3, 1, device), conv_same(e2, e2, 1, 1, device)),
            inc_dec: ResBlockConfig::new(self.latent_channels, w[depth - 1]).init(device),
            decoder,
            out: zero_conv(w[0], self.channels, device),
            out_deep: zero_conv(w[1], self.channels, device),
        }
    }
}

impl Vae {
    /// Posterior mean and log-variance (clamped to [−30, 20]) `[N, E, H/8, W/8]` each.
    pub fn moments(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let mut h = self.inc.forward(x, None);
        for d in &self.encoder {
            h = d.forward(h, None);
        }
        let m = conv2d_module(&self.to_moments.1, conv2d_module(&self.to_moments.0, h));
        let e = m.dims()[1] / 2;
        (m.clone().narrow(1, 0, e), m.narrow(1, e, e).clamp(-30.0, 20.0))
    }

    /// A latent sample `μ + σ·ε` (the diffusion model's training data).
    pub fn encode(&self, x: Tensor<4>) -> Tensor<4> {
        let (mean, logvar) = self.moments(x);
        let eps = mean.random_like(burn::tensor::Distribution::Normal(0.0, 1.0));
        mean + (logvar * 0.5).exp() * eps
    }

    /// Decoder trunk: the features before the last up step and the full-size output.
    fn decode_all(&self, z: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let mut h = self.inc_dec.forward(z, None);
        let mut deep = None;
        for (i, up) in self.decoder.iter().enumerate().rev() {
            if i == 0 {
                deep = Some(conv2d_module(&self.out_deep, h.clone()));
            }
            h = up.forward(h, None, None);
        }
        (conv2d_module(&self.out, h), deep.expect("at least two levels"))
    }

    /// Image of a latent.
    ///
    /// # Shapes
    /// `[N, E, h, w]` → `[N, C, 8h, 8w]` (for four levels)
    pub fn decode(&self, z: Tensor<4>) -> Tensor<4> {
        self.decode_all(z).0
    }

    /// Training pass: reparameterised sample, reconstruction, deep output and KL.
    pub fn forward(&self, x: Tensor<4>) -> VaeOutput {
        let n = x.dims()[0];
        let (mean, logvar) = self.moments(x);
        let eps = mean.random_like(burn::tensor::Distribution::Normal(0.0, 1.0));
        let z = mean.clone() + (logvar.clone() * 0.5).exp() * eps;
        let kl = (mean.powi_scalar(2) + logvar.clone().exp() - logvar - 1.0).sum() * (0.5 / n as f64);
        let (image, deep) = self.decode_all(z);
        VaeOutput { image, deep, kl }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_latent_size() {
        let device = Device::flex();
        let vae = VaeConfig::new().with_widths(vec![8, 16, 16, 16]).init(&device);
        let out = vae.forward(Tensor::zeros([2, 3, 64, 64], &device));
        assert_eq!(out.image.dims(), [2, 3, 64, 64]);
        assert_eq!(out.deep.dims(), [2, 3, 32, 32]);
        assert_eq!(vae.moments(Tensor::zeros([1, 3, 64, 64], &device)).0.dims(), [1, 8, 8, 8]);
        assert_eq!(vae.decode(Tensor::zeros([1, 8, 8, 8], &device)).dims(), [1, 3, 64, 64]);
        assert!(out.kl.into_scalar::<f32>().is_finite());
    }
}
