//! MGCC's loss terms equal PyTorch's on one fixed batch of decoder outputs, computed by
//! `tests/fixtures/mgcc/gen.py` from methods.md §1.3 (float32; 1e-5 relative).

mod common;

use burn::prelude::*;
use semiseg_nn::nets::MgccOutput;
use semiseg_train::methods::{mgcc_bce_dice, mgcc_loss};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    common::fixtures("mgcc")
}

fn tensor(name: &str, device: &Device) -> Tensor<4> {
    common::npy_tensor(&dir(), name, device)
}

#[test]
fn loss_terms_match_pytorch() {
    let device = Device::flex();
    let e: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap();
    let l = e["labeled"].as_u64().unwrap() as usize;
    let want = |k: &str| e["values"][k].as_f64().unwrap();
    let check = |name: &str, got: Tensor<1>, w: f64| {
        let g = got.into_scalar::<f32>() as f64;
        assert!((g - w).abs() <= 1e-5 * w.abs(), "{name}: got {g}, PyTorch {w}");
    };
    let label = tensor("label", &device);
    let out = MgccOutput { main: tensor("out0", &device), aux: (1..4).map(|i| tensor(&format!("out{i}"), &device)).collect() };
    check("bce_dice", mgcc_bce_dice(out.main.clone().narrow(0, 0, l), label.clone()), want("bce_dice_main"));
    let (sup, cons) = mgcc_loss(&out, label, l);
    check("supervised", sup, want("supervised"));
    check("consistency", cons.expect("unlabeled part"), want("consistency"));
}
