//! CLCC's loss terms and learning-rate schedule equal PyTorch's on one fixed batch, computed by
//! `tests/fixtures/clcc/gen.py` from methods.md §2.3–2.4 (float32; 1e-5 relative).

mod common;

use burn::prelude::*;
use semiseg_train::config::TrainConfig;
use semiseg_train::losses::binary::{dice_per_image, structure_loss};
use semiseg_train::losses::contrast::patch_nce;
use semiseg_train::methods::clcc_consistency;
use semiseg_train::schedule::learning_rate;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    common::fixtures("clcc")
}

fn tensor(name: &str, device: &Device) -> Tensor<4> {
    common::npy_tensor(&dir(), name, device)
}

fn check(name: &str, got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want.abs().max(1e-6), "{name}: got {got}, PyTorch {want}");
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap()
}

#[test]
fn loss_terms_match_pytorch() {
    let device = Device::flex();
    let e = expected();
    let v = &e["values"];
    let (l, g) = (e["labeled"].as_u64().unwrap() as usize, e["grid"].as_u64().unwrap() as usize);
    let full = tensor("full", &device);
    let label = tensor("label", &device);
    let lab = full.clone().narrow(0, 0, l);
    let scalar = |t: Tensor<1>| t.into_scalar::<f32>() as f64;
    let want = |k: &str| v[k].as_f64().unwrap();
    check("dice", scalar(dice_per_image(lab.clone(), label.clone(), 1.0)), want("dice"), 1e-5);
    check("structure", scalar(structure_loss(lab.clone(), label.clone(), false)), want("structure"), 1e-5);
    check("structure weighted", scalar(structure_loss(lab, label, true)), want("structure_weighted"), 1e-5);
    check("patch_nce", scalar(patch_nce(tensor("q", &device), tensor("k", &device), 0.07)), want("patch_nce"), 1e-5);
    check("consistency", scalar(clcc_consistency(full, tensor("patch", &device), g)), want("consistency"), 1e-5);
}

#[test]
fn consistency_gradient_reaches_the_patches_only() {
    let device = Device::flex().autodiff();
    let full = tensor("full", &device).require_grad();
    let patch = tensor("patch", &device).require_grad();
    let grads = clcc_consistency(full.clone(), patch.clone(), 5).backward();
    assert!(full.grad(&grads).is_none(), "the full-image prediction is the detached target");
    assert!(patch.grad(&grads).unwrap().abs().sum().into_scalar::<f32>() > 0.0);
}

#[test]
fn cosine_with_warmup_matches_the_reference() {
    let s = &expected()["schedule"];
    let ipe = s["ipe"].as_u64().unwrap() as usize;
    let mut cfg = TrainConfig {
        lr: s["lr"].as_f64().unwrap(),
        iterations: s["epochs"].as_u64().unwrap() as usize * ipe,
        warmup: s["warmup_epochs"].as_u64().unwrap() as usize * ipe,
        schedule: "cosine_clcc".into(),
        ..Default::default()
    };
    for (key, lr_epoch) in [("per_iteration", 0), ("per_epoch", ipe)] {
        cfg.lr_epoch = lr_epoch;
        for (t, want) in s["iterations"].as_array().unwrap().iter().zip(s[key].as_array().unwrap()) {
            let t = t.as_u64().unwrap() as usize;
            check(&format!("{key} lr at {t}"), learning_rate(&cfg, t), want.as_f64().unwrap(), 1e-12);
        }
    }
}
