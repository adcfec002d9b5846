//! The wgpu backend computes what the CPU backend computes: for every network, one training
//! step at a small size (same weights, same input) gives the same loss and the same gradient of
//! every parameter, and `predict` gives the same masks.
//!
//! Tolerances: the loss within 1e-4 relative; each parameter's gradient within
//! 2e-3 · max|gradient of that tensor| + 1e-3 · max|gradient of the network| (the two backends
//! sum in different orders, and batch norm over small batches amplifies the difference; the
//! second term covers gradients that vanish in exact arithmetic, such as a convolution's bias
//! before batch norm, which are rounding noise on both devices); masks equal wherever the
//! CPU's two largest class probabilities are more than 1e-3 apart.
//!
//! Mixed precision: one step with f16 convolutions tracks the f32 step on the same device (loss
//! within 1e-2 relative, all gradients together at cosine similarity ≥ 0.95 for the UNet, ≥ 0.5
//! for the V-Net, whose f16 gradients drift; see docs/gpu.md), and a training
//! run in f16 scales its loss and finishes with finite weights.
//!
//! Built with `--features wgpu`; `.ci/run` installs Mesa's software Vulkan driver (lavapipe).
//! Without a Vulkan adapter the tests say so and pass, except under CI (`CI` set), where they fail.
#![cfg(feature = "wgpu")]

use ndarray::Array4;
use semiseg_data::{Geometry, Image};
use semiseg_nn::burn::module::{Module, ModuleVisitor, Param};
use semiseg_nn::burn::optim::GradientsParams;
use semiseg_nn::burn::prelude::*;
use semiseg_nn::burn::tensor::activation::{log_softmax, softmax};
use semiseg_nn::burn::tensor::{Distribution, TensorData};
use semiseg_nn::device::DeviceChoice;
use semiseg_nn::nets::*;
use semiseg_nn::precision::{self, Precision};
use semiseg_train::config::Config;
use semiseg_train::infer::predict;
use semiseg_train::trainer::{load_run, train, Outcome, Quiet, RunDir};
use std::sync::atomic::AtomicBool;

mod circles;

/// The wgpu device, or `None` (with the reason printed) where this machine has no adapter.
fn gpu() -> Option<Device> {
    match DeviceChoice::Wgpu(None).open() {
        Ok(d) => Some(d),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: no wgpu adapter on this machine ({e}); install a Vulkan driver (Debian: mesa-vulkan-drivers)");
            None
        }
        Err(e) => panic!("CI must run the wgpu tests (.ci/run installs lavapipe): {e}"),
    }
}

/// Every parameter's gradient, in visiting order, as host vectors.
fn gradients<M: Module>(net: &M, loss: Tensor<1>) -> Vec<Vec<f32>> {
    struct Collect<'a>(&'a GradientsParams, Vec<Vec<f32>>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(p.id) {
                self.1.push(g.into_data().convert::<f32>().as_slice::<f32>().unwrap().to_vec());
            }
        }
    }
    let grads = GradientsParams::from_grads(loss.backward(), net);
    let mut c = Collect(&grads, Vec::new());
    net.visit(&mut c);
    c.1
}

/// One step of `loss` on the CPU and on the GPU from the same weights and input: same loss,
/// same gradients (see the tolerances above).
fn same_step<M: Module + Clone, const D: usize>(name: &str, gpu: &Device, build: impl Fn(&Device) -> M, shape: [usize; D], loss: impl Fn(&M, Tensor<D>) -> Tensor<1>) {
    let cpu = Device::flex().autodiff();
    cpu.seed(11);
    let net = build(&cpu);
    let x = Tensor::<D>::random(shape, Distribution::Normal(0.0, 1.0), &cpu);
    let on_gpu = gpu.clone().autodiff();
    let (net_gpu, x_gpu) = (net.clone().fork(&on_gpu), Tensor::<D>::from_data(x.to_data(), &on_gpu));
    let (l_cpu, l_gpu) = (loss(&net, x), loss(&net_gpu, x_gpu));
    let (a, b) = (l_cpu.clone().into_scalar::<f32>(), l_gpu.clone().into_scalar::<f32>());
    assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "{name}: loss {a} on the CPU, {b} on wgpu");
    let (g_cpu, g_gpu) = (gradients(&net, l_cpu), gradients(&net_gpu, l_gpu));
    assert_eq!(g_cpu.len(), g_gpu.len(), "{name}: parameters with a gradient");
    assert!(!g_cpu.is_empty(), "{name}: no gradients");
    let largest = |g: &[f32]| g.iter().fold(0f32, |m, v| m.max(v.abs()));
    let network = g_cpu.iter().map(|g| largest(g)).fold(0f32, f32::max);
    for (k, (gc, gg)) in g_cpu.iter().zip(&g_gpu).enumerate() {
        let scale = largest(gc);
        let worst = gc.iter().zip(gg).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        assert!(worst <= 2e-3 * scale + 1e-3 * network, "{name}: parameter {k}: gradients differ by {worst} (its largest {scale}, the network's {network})");
    }
}

/// CE + soft Dice of two-class logits against a fixed half-space mask (torch_bench.py's loss).
fn ce_dice<const D: usize>(logits: Tensor<D>) -> Tensor<1> {
    let dims = logits.dims();
    let device = logits.device();
    let n: usize = dims.iter().skip(2).product::<usize>() * dims[0];
    let fg: Vec<f32> = (0..n).map(|i| ((i * 7) % 13 < 6) as u8 as f32).collect();
    let mut shape = dims;
    shape[1] = 1;
    let y = Tensor::<D>::from_data(TensorData::new(fg, shape), &device);
    let one_hot = Tensor::cat(vec![y.clone().neg().add_scalar(1.0), y.clone()], 1);
    let ce = -(log_softmax(logits.clone(), 1) * one_hot).sum().div_scalar(n as f64);
    let p = softmax(logits, 1).narrow(1, 1, 1);
    let dice = ((p.clone() * y.clone()).sum() * 2.0 + 1e-5) / (p.sum() + y.sum() + 1e-5);
    ce - dice + 1.0
}

/// BCE-with-logits + soft Dice of a one-logit net against the same mask.
fn bce_dice(logits: Tensor<4>) -> Tensor<1> {
    let two = Tensor::cat(vec![logits.zeros_like(), logits], 1);
    ce_dice(two)
}

#[test]
fn every_network_trains_alike_on_wgpu() {
    let Some(gpu) = gpu() else { return };
    same_step("unet2d", &gpu, |d| UNetConfig::new().with_width(0.25).with_aux_decoders(1).with_dropout(false).init(d), [2, 1, 32, 32], |n, x| {
        let out = n.forward(x);
        ce_dice(out)
    });
    same_step("projunet (CLCC)", &gpu, |d| ProjUNetConfig::new().with_feature_scale(16).with_proj_dim(8).init(d), [2, 3, 64, 64], |n, x| {
        let (logits, q) = n.forward_with_projection(x);
        bce_dice(logits) + q.powf_scalar(2.0).mean()
    });
    same_step("mgcc (main path)", &gpu, |d| MgccConfig::new().with_dim_mult(1).with_base_width(4).init(d), [2, 3, 32, 32], |n, x| bce_dice(n.forward(x)));
    same_step("vnet (3 decoders)", &gpu, |d| VNetConfig::new().with_filters(4).with_up_types(vec![0, 1, 2]).with_dropout(false).init(d), [2, 1, 16, 16, 48], |n, x| ce_dice(n.forward(x)));
    same_step("caml", &gpu, |d| CamlConfig::new().with_filters(4).with_feature_dim(8).with_dropout(false).with_attention_dropout(0.0).init(d), [2, 1, 16, 16, 48], |n, x| {
        let out = n.forward_both(x);
        ce_dice(out.logits_v) + ce_dice(out.logits_a) + out.features_v.powf_scalar(2.0).mean()
    });
    same_step("fbanet", &gpu, |d| FbaNetConfig::new([16, 16, 48]).with_filters(4).with_dim(8).with_dropout(false).init(d), [2, 1, 16, 16, 48], |n, x| {
        let out = n.forward_all(x);
        let contrast = out.foreground.into_iter().chain(out.background).map(|e| e.powf_scalar(2.0).mean()).reduce(|a, b| a + b).unwrap();
        out.logits.into_iter().map(ce_dice).reduce(|a, b| a + b).unwrap() + contrast
    });
    same_step("vae (synth)", &gpu, |d| VaeConfig::new().with_channels(1).with_latent_channels(2).with_widths(vec![8, 16]).init(d), [2, 1, 16, 16], |n, x| {
        let (mean, log_var) = n.moments(x.clone());
        (n.decode(mean) - x).powf_scalar(2.0).mean() + log_var.exp().mean()
    });
    same_step("denoiser (synth)", &gpu, |d| DenoiserConfig::new().with_channels(2).with_widths(vec![8, 16]).with_time_channels(16).with_groups(4).init(d), [2, 2, 8, 8], |n, x| {
        n.forward(x, &[3, 700], None).powf_scalar(2.0).mean()
    });
}

/// The masks of `net` on `image` from both devices, equal except at near-ties of the CPU's
/// probabilities.
fn same_masks(name: &str, net: Segmenter, image: &Image, cfg: &Config, gpu: &Device) {
    let (mask_cpu, probs) = predict(&net, image, cfg, &Device::flex()).unwrap();
    let on_gpu = match net {
        Segmenter::UNet(n) => Segmenter::UNet(n.fork(gpu)),
        Segmenter::VNet(n) => Segmenter::VNet(n.fork(gpu)),
        _ => unreachable!("the test builds these two"),
    };
    let (mask_gpu, _) = predict(&on_gpu, image, cfg, gpu).unwrap();
    let (a, b) = (mask_cpu.data.iter().collect::<Vec<_>>(), mask_gpu.data.iter().collect::<Vec<_>>());
    assert_eq!(a.len(), b.len());
    let voxels = a.len();
    let mut differing = 0;
    for v in 0..voxels {
        if a[v] != b[v] {
            let (p0, p1) = (probs.as_slice().unwrap()[v], probs.as_slice().unwrap()[voxels + v]);
            assert!((p0 - p1).abs() <= 1e-3, "{name}: voxel {v} differs at probabilities {p0} / {p1}");
            differing += 1;
        }
    }
    eprintln!("{name}: {differing} of {voxels} mask values differ, all at near-ties");
}

#[test]
fn predict_gives_the_same_masks_on_wgpu() {
    let Some(gpu) = gpu() else { return };
    let cpu = Device::flex();
    cpu.seed(5);
    let mut cfg = Config::default();
    cfg.data.patch = vec![32, 32];
    let image = Image { data: Array4::from_shape_fn((1, 40, 36, 1), |(_, y, x, _)| ((x * 3 + y * 5) % 17) as f32 / 17.0), spatial_dims: 2, geometry: Geometry::unit() };
    same_masks("unet2d", Segmenter::UNet(UNetConfig::new().with_width(0.25).init(&cpu)), &image, &cfg, &gpu);

    let mut cfg = Config::default();
    cfg.model.name = "vnet".into();
    cfg.data.patch = vec![16, 16, 16];
    cfg.eval.stride = vec![8, 8, 8];
    let volume = Image { data: Array4::from_shape_fn((1, 20, 19, 17), |(_, a, b, c)| ((a * 3 + b * 5 + c * 7) % 11) as f32 / 11.0), spatial_dims: 3, geometry: Geometry::unit() };
    same_masks("vnet", Segmenter::VNet(VNetConfig::new().with_filters(4).with_dropout(false).init(&cpu)), &volume, &cfg, &gpu);
}

/// One step of `loss` on the GPU in f32 and with `precision`'s convolutions, from the same
/// weights and input: the losses within 1e-2 relative, the gradients finite and (all parameters
/// as one vector) at cosine similarity ≥ `min_cosine` (the measured values are printed).
fn half_step<M: Module + Clone, const D: usize>(name: &str, gpu: &Device, precision: Precision, min_cosine: f64, build: impl Fn(&Device) -> M, shape: [usize; D], loss: impl Fn(&M, Tensor<D>) -> Tensor<1>) {
    let device = gpu.clone().autodiff();
    device.seed(11);
    let net = build(&device);
    let x = Tensor::<D>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let l_full = loss(&net, x.clone());
    let l_half = {
        let _half = precision::scoped(precision);
        loss(&net, x)
    };
    let (a, b) = (l_full.clone().into_scalar::<f32>(), l_half.clone().into_scalar::<f32>());
    assert!((a - b).abs() <= 1e-2 * a.abs().max(1.0), "{name} {precision}: loss {a} in f32, {b} with {precision} convolutions");
    let (g_full, g_half): (Vec<f32>, Vec<f32>) = (gradients(&net, l_full).concat(), gradients(&net, l_half).concat());
    assert!(g_half.iter().all(|v| v.is_finite()), "{name} {precision}: non-finite gradients");
    let dot: f64 = g_full.iter().zip(&g_half).map(|(p, q)| *p as f64 * *q as f64).sum();
    let norm = |g: &[f32]| g.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
    let cosine = dot / (norm(&g_full) * norm(&g_half)).max(1e-30);
    assert!(cosine >= min_cosine, "{name} {precision}: gradients at cosine similarity {cosine}");
    eprintln!("{name} {precision}: loss {a} / {b}, gradient cosine similarity {cosine:.6}");
}

#[test]
fn half_precision_convolutions_track_f32() {
    let Some(gpu) = gpu() else { return };
    for precision in [Precision::F16, Precision::Bf16] {
        if let Err(why) = precision.check(&gpu) {
            eprintln!("{precision} not tested: {why}");
            assert_ne!(precision, Precision::F16, "lavapipe and every Vulkan GPU of the last decade support f16");
            continue;
        }
        // 2-D: f16 measured 0.987 on lavapipe (an 11-bit significand, batch norm over two images)
        half_step("unet2d", &gpu, precision, 0.95, |d| UNetConfig::new().with_width(0.25).with_dropout(false).init(d), [2, 1, 32, 32], |n, x| ce_dice(n.forward(x)));
        // 3-D: f16 measured only 0.69 on lavapipe, so docs/gpu.md says f16 is not validated for the
        // V-Net family; this bound catches a broken path (NaN, wrong dtype), not drift
        half_step("vnet", &gpu, precision, 0.5, |d| VNetConfig::new().with_filters(4).with_dropout(false).init(d), [2, 1, 16, 16, 48], |n, x| ce_dice(n.forward(x)));
    }
}

#[test]
fn an_f16_training_scales_its_loss_and_ends_finite() {
    let Some(_) = gpu() else { return };
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("data");
    circles::circles(&root);
    let mut cfg = circles::config(&root, "mean_teacher");
    cfg.train.iterations = 4;
    cfg.train.device = "wgpu".into();
    cfg.train.precision = "f16".into();
    let run = RunDir(d.path().join("run"));
    assert!(matches!(train(&cfg, &run, false, &AtomicBool::new(false), &mut Quiet).unwrap(), Outcome::Finished { .. }));
    let log = std::fs::read_to_string(run.log()).unwrap();
    let steps: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).filter(|v: &serde_json::Value| v.get("loss").is_some()).collect();
    assert_eq!(steps.len(), 4);
    for s in &steps {
        assert!(s["loss"].as_f64().unwrap().is_finite(), "{s}");
        assert!(s["loss_scale"].as_f64().unwrap() >= 1.0, "the f16 run logs its loss scale: {s}");
    }
    let (state, _) = semiseg_train::checkpoint::load(&run.checkpoint("last")).unwrap();
    assert!(state.loss_scale.dynamic, "the loss scale is checkpointed for --resume");
    struct Finite(bool);
    impl ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0 &= p.val().into_data().convert::<f32>().as_slice::<f32>().unwrap().iter().all(|v| v.is_finite());
        }
    }
    let Segmenter::UNet(net) = load_run(Some(&run.0), "last", None).unwrap().net else { panic!("mean teacher trains the UNet") };
    let mut finite = Finite(true);
    net.visit(&mut finite);
    assert!(finite.0, "non-finite weights after f16 training");
}

/// The largest difference between the CPU's and wgpu's weight gradient of a 3×3×3 convolution
/// (padding 1, 2 → 4 channels) of an input of `shape`, relative to the CPU's largest value.
fn weight_gradient_gap(gpu: &Device, shape: [usize; 5]) -> f32 {
    use semiseg_nn::kernels::conv3d;
    let host = Device::flex();
    host.seed(5);
    let dist = Distribution::Normal(0.0, 1.0);
    let (x, k) = (Tensor::<5>::random(shape, dist, &host), Tensor::<5>::random([4, shape[1], 3, 3, 3], dist, &host));
    let out = Tensor::<5>::random([shape[0], 4, shape[2], shape[3], shape[4]], dist, &host);
    let grad = |d: &Device| -> Vec<f32> {
        let (x, k, out) = (Tensor::<5>::from_data(x.to_data(), d), Tensor::<5>::from_data(k.to_data(), d).require_grad(), Tensor::<5>::from_data(out.to_data(), d));
        let y = conv3d(x, k.clone(), None, [1, 1, 1], [1, 1, 1]);
        k.grad(&(y * out).sum().backward()).unwrap().into_data().convert::<f32>().as_slice::<f32>().unwrap().to_vec()
    };
    let (ours, theirs) = (grad(&host.autodiff()), grad(&gpu.clone().autodiff()));
    ours.iter().zip(&theirs).fold(0f32, |m, (p, q)| m.max((p - q).abs())) / ours.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// The sizes the tests above train at (up to 16,384 voxels per sample) get Burn's wgpu weight
/// gradients right.
#[test]
fn convolution_weight_gradients_agree_up_to_16384_voxels_per_sample() {
    let Some(gpu) = gpu() else { return };
    for shape in [[2, 2, 16, 16, 48], [2, 2, 16, 32, 32], [2, 2, 1, 128, 128]] {
        let gap = weight_gradient_gap(&gpu, shape);
        eprintln!("{shape:?}: weight gradients differ by {gap:.1e} (relative)");
        assert!(gap < 1e-4, "{shape:?}: weight gradients differ by {gap} (relative)");
    }
}

/// Burn 0.22.1's wgpu convolution weight gradient (CubeCL 0.11.3) is wrong on lavapipe once a
/// sample has more than about 16,384 voxels: 160² images or 30³ volumes give relative errors of
/// 0.3–0.9 (docs/gpu.md). Run with `--ignored` to see whether an update fixed it.
#[test]
#[ignore = "fails: Burn 0.22.1's wgpu weight gradient is wrong past ~16,384 voxels per sample (docs/gpu.md)"]
fn convolution_weight_gradients_agree_at_training_sizes() {
    let Some(gpu) = gpu() else { return };
    let shapes = [[2, 2, 1, 160, 160], [2, 2, 1, 256, 256], [1, 2, 30, 30, 30], [1, 2, 64, 32, 32]];
    // every size is measured (and printed) before the first failure stops the test
    let gaps: Vec<f32> = shapes.iter().map(|&shape| weight_gradient_gap(&gpu, shape)).collect();
    for (shape, gap) in shapes.iter().zip(&gaps) {
        eprintln!("{shape:?}: weight gradients differ by {gap:.1e} (relative)");
    }
    for (shape, gap) in shapes.iter().zip(gaps) {
        assert!(gap < 1e-4, "{shape:?}: weight gradients differ by {gap} (relative)");
    }
}
