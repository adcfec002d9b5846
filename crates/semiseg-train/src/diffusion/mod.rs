//! MGCC stage 1: latent diffusion (medfusion's recipe, methods.md §1.1) to generate extra
//! unlabeled images. [`schedule`]: the forward process (β schedules, `q(x_t | x_0)`);
//! [`sampler`]: the reverse process (DDPM ancestral steps, DDIM steps and their timesteps);
//! [`ssim`] and [`vae_loss`]: the autoencoder's objective; [`config`], [`images`], [`train`]
//! and [`sample`]: `semiseg synth train|sample`.

pub mod config;
pub mod images;
pub mod sample;
pub mod sampler;
pub mod schedule;
pub mod ssim;
pub mod train;
pub mod vae_loss;

pub use sampler::{ddim_step, ddim_timesteps, ddpm_step};
pub use schedule::NoiseSchedule;
