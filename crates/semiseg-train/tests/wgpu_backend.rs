//! The wgpu backend against the CPU backend: one training step (same weights, same input) of
//! the networks that pass gives the same loss, the same gradient of every parameter and the same
//! BatchNorm running statistics, at `semiseg doctor`'s small sizes (CLCC, MGCC, CAML, FBA-Net+
//! and the papers' patch sizes are ignored tests: not yet within tolerance or not yet run, see
//! docs/gpu.md);
//! convolution gradients agree past the sizes where Burn's own weight gradient fails on
//! lavapipe; and `predict` gives the same masks.
//!
//! Tolerances (`semiseg_train::doctor::Tolerance`): the loss within 1e-4 relative; each
//! parameter's gradient within 1e-3 of that tensor's own largest value, except tensors whose
//! gradient vanishes in exact arithmetic (a convolution bias before batch norm: below 1e-4 of the
//! network's largest gradient), which are rounding noise on both devices and are judged against
//! the network's largest gradient; a tensor whose CPU gradient itself moves by more when the
//! input moves by one rounding step (its rounding floor: ill-conditioned steps such as batch norm
//! over few values per channel) may differ by up to 10× that; running statistics within 1e-5
//! relative; masks equal wherever the CPU's two largest class probabilities are more than 1e-3
//! apart.
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
use semiseg_nn::burn::tensor::Distribution;
use semiseg_nn::device::DeviceChoice;
use semiseg_nn::nets::{Segmenter, UNetConfig, VNetConfig};
use semiseg_nn::precision::{self, Precision};
use semiseg_train::config::Config;
use semiseg_train::doctor::{self, ce_dice, Check, Tolerance};
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

/// `doctor`'s check of `check` on wgpu: the report is printed, and every gap within
/// `doctor`'s default tolerances (each gradient tensor 1e-3 of its own largest value or 10× its
/// rounding floor, loss 1e-4, running statistics 1e-5).
fn doctor_passes(gpu: &Device, check: Check) {
    let tol = Tolerance::default();
    let report = doctor::run(&check, gpu).unwrap();
    let worst = report.worst_gradients(&tol).into_iter().take(3).map(|g| format!("{} {:.1e} (floor {:.1e})", g.name, report.judged_gap(g, &tol), report.judged_floor(g, &tol))).collect::<Vec<_>>();
    let running = report.running.iter().map(|g| g.relative()).fold(0f32, f32::max);
    eprintln!(
        "{} batch {} {:?}: loss gap {:.1e}, {} gradients, worst {}; running statistics worst {running:.1e}; cpu {:.2} s, wgpu {:.2} s",
        check.network,
        check.batch,
        check.size,
        report.loss_gap(),
        report.gradients.len(),
        worst.join(", "),
        report.cpu.seconds,
        report.device.seconds
    );
    let failures = report.failures(&tol);
    assert!(failures.is_empty(), "{} at {:?}: {}", check.network, check.size, failures.join("; "));
}

/// The networks that train like the CPU on lavapipe at `doctor`'s default small sizes (real
/// widths), within 1e-5 of every tensor's largest gradient: the UNet (64²) and the diffusion
/// autoencoder and denoiser.
#[test]
fn networks_train_alike_on_wgpu() {
    let Some(gpu) = gpu() else { return };
    for network in ["unet2d", "vae", "denoiser"] {
        doctor_passes(&gpu, Check { warmup: false, ..Check::small(network) });
    }
}

/// The networks not yet verified: on lavapipe (2026-12-07) CLCC's ProjUNet (128²) and MGCC (64²)
/// differ from the CPU by 1e-3 to 1e-1 of a tensor's largest gradient in most tensors, and the
/// V-Net (32³) by up to 4.2e-2, within 10× its rounding floor in both runs (2.2× and 5.5×: the
/// weights differ between runs where other tests share the CPU's random generator), while their losses agree to 1e-6 and every convolution alone agrees to 2e-6
/// ([`convolution_gradients_agree_at_training_sizes`]). Whether that is f32 ill-conditioning or
/// a remaining difference on the GPU side is open (docs/gpu.md); CAML and FBA-Net+ were not run
/// (minutes each on lavapipe).
#[test]
#[ignore = "open: gradient gaps of 1e-3 to 1e-1 in CLCC and MGCC, cause not settled (docs/gpu.md)"]
fn the_other_networks_train_alike_on_wgpu() {
    let Some(gpu) = gpu() else { return };
    for network in ["clcc", "mgcc", "vnet", "caml", "fbanet"] {
        doctor_passes(&gpu, Check { warmup: false, ..Check::small(network) });
    }
}

/// The SSL4MIS UNet at the ACDC protocol's patch size, 256², batch 2. Not yet passing: on
/// lavapipe (2026-12-07) gradient gaps up to 1.3e-1 of a tensor's largest value (deep encoder
/// levels), as for the networks of [`the_other_networks_train_alike_on_wgpu`].
#[test]
#[ignore = "open: gradient gaps up to 1e-1 at 256², cause not settled (docs/gpu.md)"]
fn the_unet_trains_alike_at_its_real_patch_size() {
    let Some(gpu) = gpu() else { return };
    doctor_passes(&gpu, Check { network: "unet2d".into(), size: vec![256, 256], batch: 2, warmup: false });
}

/// The V-Net at the LA protocol's patch size, 112×112×80, batch 1: about half an hour on
/// lavapipe with 2 cores; not run yet.
#[test]
#[ignore = "half an hour on lavapipe; not run yet (docs/gpu.md)"]
fn the_vnet_trains_alike_at_its_real_patch_size() {
    let Some(gpu) = gpu() else { return };
    doctor_passes(&gpu, Check { network: "vnet".into(), size: vec![112, 112, 80], batch: 1, warmup: false });
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
        // 3-D: f16 measured only 0.89 on lavapipe, so docs/gpu.md says f16 is not validated for the
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

/// The largest difference between the CPU's and wgpu's input and weight gradients of `op` (a
/// convolution of a random input of `shape` by a random weight of `weight`), each relative to
/// the CPU's largest value of that gradient.
fn conv_gradient_gaps<const D: usize>(gpu: &Device, shape: [usize; D], weight: [usize; D], op: impl Fn(Tensor<D>, Tensor<D>) -> Tensor<D>) -> (f32, f32) {
    let host = Device::flex();
    host.seed(5);
    let dist = Distribution::Normal(0.0, 1.0);
    let (x, k) = (Tensor::<D>::random(shape, dist, &host), Tensor::<D>::random(weight, dist, &host));
    let out_shape = op(x.clone(), k.clone()).dims();
    let out = Tensor::<D>::random(out_shape, dist, &host);
    let grads = |d: &Device| -> (Vec<f32>, Vec<f32>) {
        let (x, k, out) = (Tensor::<D>::from_data(x.to_data(), d).require_grad(), Tensor::<D>::from_data(k.to_data(), d).require_grad(), Tensor::<D>::from_data(out.to_data(), d));
        let g = (op(x.clone(), k.clone()) * out).sum().backward();
        let host = |t: Tensor<D>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        (host(x.grad(&g).unwrap()), host(k.grad(&g).unwrap()))
    };
    let ((dx0, dw0), (dx1, dw1)) = (grads(&host.autodiff()), grads(&gpu.clone().autodiff()));
    let gap = |a: &[f32], b: &[f32]| a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs())) / a.iter().fold(0f32, |m, v| m.max(v.abs()));
    (gap(&dx0, &dx1), gap(&dw0, &dw1))
}

/// semiseg's convolutions on wgpu (Burn's forward pass and input gradient, semiseg's weight
/// gradient) against the CPU kernels, below and well past the sizes where Burn 0.22.1's own
/// weight gradient goes wrong on lavapipe (16,384 voxels per sample): 3×3(×3) convolutions with
/// padding 1, the V-Net's stride-2 down-sampling and its stride-2 transposed up-sampling.
#[test]
fn convolution_gradients_agree_at_training_sizes() {
    use semiseg_nn::kernels::{conv2d, conv3d, conv_transpose3d};
    let Some(gpu) = gpu() else { return };
    let mut gaps = Vec::new();
    for shape in [[2, 2, 128, 128], [2, 2, 160, 160], [2, 2, 256, 256]] {
        gaps.push((format!("conv2d 3x3 {shape:?}"), conv_gradient_gaps(&gpu, shape, [4, 2, 3, 3], |x, w| conv2d(x, w, None, [1, 1], [1, 1]))));
    }
    // the UNet's two deepest levels at 256²: many channels, few pixels
    for (shape, weight) in [([2, 64, 32, 32], [128, 64, 3, 3]), ([2, 128, 16, 16], [256, 128, 3, 3])] {
        gaps.push((format!("conv2d 3x3 {weight:?} on {shape:?}"), conv_gradient_gaps(&gpu, shape, weight, |x, w| conv2d(x, w, None, [1, 1], [1, 1]))));
    }
    for shape in [[2, 2, 16, 16, 48], [1, 2, 30, 30, 30], [1, 2, 112, 112, 80]] {
        gaps.push((format!("conv3d 3x3x3 {shape:?}"), conv_gradient_gaps(&gpu, shape, [4, 2, 3, 3, 3], |x, w| conv3d(x, w, None, [1, 1, 1], [1, 1, 1]))));
    }
    let down = [1, 2, 112, 112, 80];
    gaps.push((format!("conv3d 2x2x2 stride 2 {down:?}"), conv_gradient_gaps(&gpu, down, [4, 2, 2, 2, 2], |x, w| conv3d(x, w, None, [2, 2, 2], [0, 0, 0]))));
    let up = [1, 4, 56, 56, 40];
    gaps.push((format!("conv_transpose3d 2x2x2 stride 2 {up:?}"), conv_gradient_gaps(&gpu, up, [4, 2, 2, 2, 2], |x, w| conv_transpose3d(x, w, None, [2, 2, 2], [0, 0, 0]))));
    // every case is measured (and printed) before the first failure stops the test
    for (case, (dx, dw)) in &gaps {
        eprintln!("{case}: input gradient {dx:.1e}, weight gradient {dw:.1e} (relative)");
    }
    for (case, (dx, dw)) in gaps {
        assert!(dx < 1e-4 && dw < 1e-4, "{case}: gradients differ by {dx} (input) / {dw} (weight), relative");
    }
}

/// The cause of Burn 0.22.1's wrong wgpu weight gradient on lavapipe, checked directly. Burn
/// computes it (`conv_weight_backward_fallback`, no autotune) as a direct convolution whose
/// kernel is the output-gradient map with the batch as channels, so each thread loops over the
/// map's V voxels per sample, a few iterations per voxel. Mesa's llvmpipe stops a shader's loops
/// after 65,535 iterations in all (`LP_MAX_TGSI_LOOP_ITERATIONS`), silently. If that is the
/// cause, the gradient turns wrong exactly where c·V crosses 65,535, for some small number c of
/// iterations per voxel that depends on the batch N (the batch loop is vectorised). A coarse
/// sweep gave c = 3 for N = 2 (right at 144², wrong at 152²) and put c above 2 for N = 1 and above
/// 4 for N = 3; the cases below bracket 65,535 to within 1.5 % with c = 3, 3, 5 for N = 1, 2, 3.
/// Any other size limit (buffer sizes, index overflow) would not switch within such a bracket.
/// Run with `cargo test --release -p semiseg-train --features wgpu --test wgpu_backend --
/// --ignored --nocapture burns_weight`; docs/gpu.md quotes the result.
#[test]
#[ignore = "a diagnosis of Burn's own kernel on lavapipe, quoted in docs/gpu.md"]
fn burns_weight_gradient_fails_where_lavapipe_cuts_loops_short() {
    use semiseg_nn::burn::tensor::module;
    use semiseg_nn::burn::tensor::ops::ConvOptions;
    let Some(gpu) = gpu() else { return };
    // (batch, side): c·side² just below / above 65,535
    let iterations_per_voxel = |n: usize| if n == 3 { 5 } else { 3 };
    let cases = [(1, 147), (1, 148), (2, 147), (2, 148), (3, 114), (3, 115)];
    let mut wrong = Vec::new();
    for (n, side) in cases {
        let (_, dw) = conv_gradient_gaps(&gpu, [n, 2, side, side], [4, 2, 3, 3], |x, w| module::conv2d(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1)));
        let iterations = iterations_per_voxel(n) * side * side;
        let predicted_wrong = iterations > 65_535;
        eprintln!("batch {n}, {side}²: c·V = {iterations}, Burn's weight gradient off by {dw:.1e} (predicted {})", if predicted_wrong { "wrong" } else { "right" });
        wrong.push((n, side, predicted_wrong, dw > 1e-4));
    }
    for (n, side, predicted, measured) in wrong {
        assert_eq!(predicted, measured, "batch {n}, {side}²: the loop-limit explanation predicts {}", if predicted { "a wrong gradient" } else { "a right one" });
    }
}
