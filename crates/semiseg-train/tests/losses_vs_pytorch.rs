//! Each method's loss terms on one fixed batch of network outputs equal PyTorch's, computed by
//! `tests/fixtures/losses/gen.py` from the SSL4MIS definitions (float32; 1e-5 relative).
//!
//! ```python
//! ce_dice = 0.5 * (F.cross_entropy(logits, y) + DiceLoss(K)(softmax(logits), y))
//! mt = torch.mean((softmax(student[L:]) - softmax(teacher)) ** 2)
//! ```

mod common;

use burn::prelude::*;
use ndarray::ArrayD;
use ndarray_npy::read_npy;
use semiseg_nn::nets::UNetOutput;
use semiseg_train::losses::{ce_dice, cross_entropy, dice_loss, one_hot};
use semiseg_train::methods::{cct_loss, cps_loss, mean_teacher_loss, ua_mt_consistency};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    common::fixtures("losses")
}

fn tensor(name: &str, device: &Device) -> Tensor<4> {
    common::npy_tensor(&dir(), name, device)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

fn check(name: &str, got: f64, want: &Value) {
    let w = want.as_f64().unwrap();
    assert!((got - w).abs() <= 1e-5 * w.abs().max(1e-3), "{name}: got {got}, PyTorch {w}");
}

#[test]
fn loss_terms_match_pytorch() {
    let device = Device::flex();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap();
    let v = &expected["values"];
    let (l, k) = (expected["labeled"].as_u64().unwrap() as usize, expected["classes"].as_u64().unwrap() as usize);
    let labels: ArrayD<u8> = read_npy(dir().join("labels.npy")).unwrap();
    let (h, w) = (labels.shape()[1], labels.shape()[2]);
    let y = one_hot(labels.as_slice().unwrap(), l, k, h, w, &device);
    let student = tensor("student", &device);
    let teacher = tensor("teacher", &device);
    let lab = student.clone().narrow(0, 0, l);

    check("ce", scalar(cross_entropy(lab.clone(), y.clone())), &v["ce"]);
    check("dice", scalar(dice_loss(burn::tensor::activation::softmax(lab.clone(), 1), y.clone())), &v["dice"]);
    check("ce_dice", scalar(ce_dice(lab, y.clone())), &v["ce_dice"]);

    let (sup, cons) = mean_teacher_loss(student.clone(), teacher.clone(), y.clone(), l);
    check("mt supervised", scalar(sup), &v["ce_dice"]);
    check("mt consistency", scalar(cons), &v["mt_consistency"]);

    let b = student.dims()[0];
    let uamt = ua_mt_consistency(student.clone().narrow(0, l, b - l), teacher, tensor("passes", &device), v["uamt_threshold"].as_f64().unwrap());
    check("uamt consistency", scalar(uamt), &v["uamt_consistency"]);

    let out = UNetOutput { main: student.clone(), aux: vec![tensor("aux0", &device), tensor("aux1", &device), tensor("aux2", &device)] };
    let (sup, cons) = cct_loss(&out, y.clone(), l);
    check("cct supervised", scalar(sup), &v["cct_supervised"]);
    check("cct consistency", scalar(cons), &v["cct_consistency"]);

    let (sup, cross) = cps_loss(student, tensor("other", &device), y, l);
    check("cps supervised", scalar(sup), &v["cps_supervised"]);
    check("cps cross", scalar(cross), &v["cps_cross"]);
}
