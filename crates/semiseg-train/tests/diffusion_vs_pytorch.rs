//! The latent-diffusion schedule and samplers equal PyTorch's, computed by
//! `tests/fixtures/diffusion/gen.py` from methods.md §1.1 (medfusion's scheduler and DDIM loop).

mod common;

use burn::prelude::*;
use semiseg_train::diffusion::{ddim_step, ddim_timesteps, ddpm_step, NoiseSchedule};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    common::fixtures("diffusion")
}

fn tensor(name: &str, device: &Device) -> Tensor<4> {
    common::npy_tensor(&dir(), name, device)
}

fn assert_close(name: &str, got: Tensor<4>, want: Tensor<4>) {
    let diff = (got - want.clone()).abs().max().into_scalar::<f32>();
    let scale = want.abs().max().into_scalar::<f32>().max(1.0);
    assert!(diff <= 2e-6 * scale, "{name}: max |diff| {diff}");
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

#[test]
fn schedule_and_timesteps_match() {
    let e: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap();
    let s = NoiseSchedule::scaled_linear(1000, 0.002, 0.02);
    for (k, &i) in usizes(&e["index"]).iter().enumerate() {
        let (b, a) = (e["betas"][k].as_f64().unwrap(), e["alphas_cumprod"][k].as_f64().unwrap());
        assert!((s.betas[i] - b).abs() <= 1e-15 * b.max(1.0), "beta {i}: {} vs {b}", s.betas[i]);
        assert!((s.alphas_cumprod[i] - a).abs() <= 1e-12 * a, "alpha_cumprod {i}: {} vs {a}", s.alphas_cumprod[i]);
    }
    assert_eq!(ddim_timesteps(1000, 150), usizes(&e["ddim_timesteps"]));
}

#[test]
fn forward_process_and_steps_match() {
    let device = Device::flex();
    let e: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap();
    let s = NoiseSchedule::scaled_linear(1000, 0.002, 0.02);
    let (x, eps, z) = (tensor("x", &device), tensor("eps", &device), tensor("z", &device));
    assert_close("q_sample", s.q_sample(x.clone(), eps.clone(), &usizes(&e["q_t"])), tensor("q_sample", &device));
    let [t, tn] = usizes(&e["ddim_eta1_t"])[..] else { panic!() };
    assert_close("ddim eta 1", ddim_step(&s, x.clone(), eps.clone(), t, tn, 1.0, z.clone(), false), tensor("ddim_eta1", &device));
    let [t, tn] = usizes(&e["ddim_eta0_t"])[..] else { panic!() };
    assert_close("ddim eta 0 clipped", ddim_step(&s, x.clone(), eps.clone(), t, tn, 0.0, z.clone(), true), tensor("ddim_eta0_clip", &device));
    assert_close("ddpm 500", ddpm_step(&s, x.clone(), eps.clone(), 500, z.clone(), false), tensor("ddpm_500", &device));
    assert_close("ddpm 0 = x0", ddpm_step(&s, x, eps, 0, z, false), tensor("ddpm_0", &device));
}

#[test]
fn autoencoder_loss_matches_pytorch_msssim_and_medfusion() {
    use semiseg_train::diffusion::ssim::ssim_per_image;
    use semiseg_train::diffusion::vae_loss::{reconstruction_loss, vae_loss};
    let device = Device::flex();
    let e: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("expected_vae.json")).unwrap()).unwrap();
    let (target, pred, deep) = (tensor("vae_target", &device), tensor("vae_pred", &device), tensor("vae_deep", &device));
    let ssim = ssim_per_image((pred.clone() + 1.0) / 2.0, (target.clone() + 1.0) / 2.0, 1.0).into_data();
    for (got, want) in ssim.as_slice::<f32>().unwrap().iter().zip(e["ssim"].as_array().unwrap()) {
        assert!((*got as f64 - want.as_f64().unwrap()).abs() < 1e-5, "ssim {got} vs {want}");
    }
    let close = |name: &str, got: Tensor<1>, want: f64| {
        let g = got.into_scalar::<f32>() as f64;
        assert!((g - want).abs() <= 2e-5 * want.abs(), "{name}: {g} vs {want}");
    };
    close("full level", reconstruction_loss(pred.clone(), target.clone()), e["rec_full"].as_f64().unwrap());
    let kl = Tensor::<1>::from_floats([e["kl"].as_f64().unwrap() as f32], &device);
    close("total", vae_loss(pred, deep, kl, target), e["total"].as_f64().unwrap());
}

#[test]
fn denoiser_forward_matches_pytorch() {
    use semiseg_nn::import::{import_ordered, Array};
    use semiseg_nn::nets::DenoiserConfig;
    let device = Device::flex();
    let e: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("expected_denoiser.json")).unwrap()).unwrap();
    let flat: ndarray::Array1<f32> = ndarray_npy::read_npy(dir().join("den_params.npy")).unwrap();
    let mut at = 0;
    let arrays: Vec<Array> = e["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let shape = usizes(s);
            let n: usize = shape.iter().product();
            at += n;
            Array { shape, values: flat.as_slice().unwrap()[at - n..at].to_vec() }
        })
        .collect();
    let net = DenoiserConfig::new()
        .with_widths(usizes(&e["widths"]))
        .with_time_channels(e["time_channels"].as_u64().unwrap() as usize)
        .with_classes(e["classes"].as_u64().unwrap() as usize)
        .init(&device);
    let net = import_ordered(net, &arrays).unwrap();
    let y = net.forward(tensor("den_x", &device), &usizes(&e["t"]), Some(&usizes(&e["c"])));
    assert_close("denoiser forward", y, tensor("den_y", &device));
}
