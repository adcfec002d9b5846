//! The 3-D methods' loss terms equal PyTorch's on one fixed batch, values and gradients
//! (`tests/fixtures/volume_losses/gen.py`, from methods.md §3.2 and §4.3; float32, 1e-5):
//! CAML's and FBA-Net's foreground soft Dice, SSL4MIS CE + Dice and UA-MT's CE + foreground Dice
//! on volumes, the sharpened mutual consistency of two and three decoders, MC-Net+'s two terms
//! together, UA-MT's masked consistency in 3-D, SimMax, SimMin and the omni-correlation (as the
//! reference, and with its quirks fixed).

mod common;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use semiseg_train::losses::correlation::{omni_correlation, omni_correlation_with};
use semiseg_train::losses::{ce_dice, ce_foreground_dice};
use semiseg_train::methods::{mcnet_terms, ua_mt_consistency};
use semiseg_train::losses::fba::{sim_max, sim_min};
use semiseg_train::losses::mutual::{foreground_soft_dice, mutual_consistency};
use serde_json::Value;

fn load<const D: usize>(name: &str, device: &Device) -> Tensor<D> {
    common::npy_tensor(&common::fixtures("volume_losses"), name, device)
}

fn expected(name: &str) -> f64 {
    let text = std::fs::read_to_string(common::fixtures("volume_losses").join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v[name].as_f64().unwrap_or_else(|| panic!("{name}: no expected value"))
}

/// The term's value, then the gradient of each named input, against the fixture.
fn check<const D: usize>(name: &str, inputs: &[&str], term: impl Fn(&[Tensor<D>]) -> Tensor<1>) {
    let device = Device::flex().autodiff();
    let xs: Vec<Tensor<D>> = inputs.iter().map(|k| load::<D>(&format!("{name}_{k}"), &device).require_grad()).collect();
    let value = term(&xs);
    let got = value.clone().into_scalar::<f32>() as f64;
    let want = expected(name);
    assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "{name}: {got} vs PyTorch {want}");
    let grads = value.backward();
    for (x, k) in xs.iter().zip(inputs) {
        let want = load::<D>(&format!("{name}_d{k}"), &Device::flex());
        let got = x.grad(&grads).unwrap_or_else(|| panic!("{name}: no gradient for {k}"));
        let scale = want.clone().abs().max().into_scalar::<f32>().max(1e-3);
        let err = (got - want).abs().max().into_scalar::<f32>();
        assert!(err <= 1e-5 * scale.max(1.0), "{name}: gradient of {k} off by {err} (scale {scale})");
    }
}

#[test]
fn foreground_soft_dice_matches_pytorch() {
    let y = load::<5>("fg_dice_y", &Device::flex().autodiff());
    check::<5>("fg_dice", &["logits"], |x| foreground_soft_dice(softmax(x[0].clone(), 1).narrow(1, 1, 1), y.clone()));
}

#[test]
fn ce_dice_on_volumes_matches_pytorch() {
    let one_hot = load::<5>("ce_dice_one_hot", &Device::flex().autodiff());
    check::<5>("ce_dice", &["logits"], |x| ce_dice(x[0].clone(), one_hot.clone()));
}

#[test]
fn mutual_consistency_matches_pytorch() {
    let probs = |x: &[Tensor<5>]| x.iter().map(|o| softmax(o.clone(), 1)).collect::<Vec<_>>();
    check::<5>("mutual2", &["a", "b"], |x| mutual_consistency(&probs(x), 0.1));
    check::<5>("mutual3", &["a", "b", "c"], |x| mutual_consistency(&probs(x), 0.1));
}

#[test]
fn sim_max_and_sim_min_match_pytorch() {
    check::<2>("sim_max", &["z"], |x| sim_max(x[0].clone()));
    check::<2>("sim_min", &["zf", "zb"], |x| sim_min(x[0].clone(), x[1].clone()));
}

#[test]
fn omni_correlation_matches_pytorch() {
    let memory = load::<2>("correlation_memory", &Device::flex().autodiff());
    check::<2>("correlation", &["uv", "ua"], |x| omni_correlation(x[0].clone(), x[1].clone(), memory.clone(), 0.1));
}

#[test]
fn ua_mt_supervised_loss_on_volumes_matches_pytorch() {
    let one_hot = load::<5>("ce_fg_dice_one_hot", &Device::flex().autodiff());
    check::<5>("ce_fg_dice", &["logits"], |x| ce_foreground_dice(x[0].clone(), one_hot.clone()));
}

#[test]
fn mcnet_terms_match_pytorch() {
    // the labeled part's one-hot: the same mask as the fixture's `y`
    let one_hot = load::<5>("ce_fg_dice_one_hot", &Device::flex().autodiff());
    check::<5>("mcnet", &["a", "b", "c"], |x| {
        let (dice, consistency) = mcnet_terms(x, one_hot.clone(), 2, 0.1);
        dice + consistency.expect("three decoders") * 0.7
    });
}

#[test]
fn ua_mt_consistency_in_3d_matches_pytorch() {
    let device = Device::flex().autodiff();
    let (teacher, passes) = (load::<5>("uamt3d_teacher", &device), load::<5>("uamt3d_passes", &device));
    check::<5>("uamt3d", &["student"], |x| ua_mt_consistency(x[0].clone(), teacher.clone(), passes.clone(), 0.8 * std::f64::consts::LN_2));
}

#[test]
fn omni_correlation_with_the_quirks_fixed_matches_pytorch() {
    let device = Device::flex().autodiff();
    let (memory, ua) = (load::<2>("correlation_fixed_memory", &device), load::<2>("correlation_fixed_ua", &device).require_grad());
    check::<2>("correlation_fixed", &["uv"], |x| omni_correlation_with(x[0].clone(), ua.clone(), memory.clone(), 0.1, true, true));
    // the detached target passes no gradient to model A; the reference's form does
    let uv = load::<2>("correlation_fixed_uv", &device).require_grad();
    for (detach, flows) in [(true, false), (false, true)] {
        let grads = omni_correlation_with(uv.clone(), ua.clone(), memory.clone(), 0.1, true, detach).backward();
        let g = ua.grad(&grads).map_or(0.0, |g| g.abs().max().into_scalar::<f32>());
        assert_eq!(g > 0.0, flows, "detach_target = {detach}: gradient to model A {g}");
    }
}
