//! Every network's forward pass equals PyTorch's with identical weights (eval mode, within
//! 1e-4): the SSL4MIS UNet, CLCC's ProjUNet (logits and projection), the MGCC network (main
//! and the three auxiliary decoders, perturbations off), the V-Net family (MC-Net+: the
//! V-Net's encoder and decoder, and the trilinear and nearest decoders), CAML (both models, the
//! cross-sample attention and the four heads, in training mode with dropout off, since the
//! attention acts only in training) and FBA-Net+ (three decoders and their contrast heads). `tests/fixtures/forward/gen.py` writes
//! the networks from methods.md in PyTorch, with random weights, norms and running statistics.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::TensorData;
use ndarray::ArrayD;
use semiseg_nn::import::{import_ordered, Array};
use semiseg_nn::nets::{CamlConfig, FbaNetConfig, MgccConfig, ProjUNetConfig, UNetConfig, VNetConfig};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/forward")
}

fn config(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap()).unwrap()
}

fn usize_of(v: &Value, key: &str) -> usize {
    v[key].as_u64().unwrap_or_else(|| panic!("{key}")) as usize
}

fn tensor<const D: usize>(name: &str, device: &Device) -> Tensor<D> {
    let a: ArrayD<f32> = ndarray_npy::read_npy(dir().join(format!("{name}.npy"))).unwrap();
    let shape: [usize; D] = a.shape().try_into().unwrap_or_else(|_| panic!("{name}: rank {}", a.ndim()));
    Tensor::from_data(TensorData::new(a.iter().copied().collect::<Vec<_>>(), shape), device)
}

/// `net` with the fixture's weights, in eval mode.
fn with_weights<M: Module>(net: M, name: &str) -> M {
    let flat: ndarray::Array1<f32> = ndarray_npy::read_npy(dir().join(format!("{name}_params.npy"))).unwrap();
    let mut at = 0;
    let arrays: Vec<Array> = config(name)["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let shape: Vec<usize> = s.as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            let n: usize = shape.iter().product();
            at += n;
            Array { shape, values: flat.as_slice().unwrap()[at - n..at].to_vec() }
        })
        .collect();
    assert_eq!(at, flat.len(), "{name}: every value used");
    import_ordered(net, &arrays).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_close<const D: usize>(what: &str, got: Tensor<D>, want: Tensor<D>) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let scale = want.clone().abs().max().into_scalar::<f32>().max(1.0);
    let err = (got - want).abs().max().into_scalar::<f32>();
    assert!(err <= 1e-4 * scale, "{what}: max |Δ| {err} (scale {scale})");
}

#[test]
fn unet_matches_pytorch() {
    let device = Device::flex();
    let c = config("unet");
    let net = UNetConfig::new().with_in_channels(usize_of(&c, "in_channels")).with_classes(usize_of(&c, "classes")).with_width(c["width"].as_f64().unwrap()).init(&device);
    let net = with_weights(net, "unet");
    assert_close("unet logits", net.forward(tensor("unet_x", &device)), tensor("unet_logits", &device));
}

#[test]
fn projunet_matches_pytorch() {
    let device = Device::flex();
    let c = config("projunet");
    let net = ProjUNetConfig::new().with_in_channels(usize_of(&c, "in_channels")).with_feature_scale(usize_of(&c, "feature_scale")).init(&device);
    let net = with_weights(net, "projunet");
    let (logits, proj) = net.forward_with_projection(tensor("projunet_x", &device));
    assert_close("projunet logits", logits, tensor("projunet_logits", &device));
    assert_close("projunet projection", proj, tensor("projunet_proj", &device));
}

#[test]
fn mgcc_matches_pytorch() {
    let device = Device::flex();
    let c = config("mgcc");
    let net = MgccConfig::new().with_in_channels(usize_of(&c, "in_channels")).with_base_width(usize_of(&c, "base_width")).with_dim_mult(usize_of(&c, "dim_mult")).init(&device);
    let net = with_weights(net, "mgcc");
    let x = tensor("mgcc_x", &device);
    let out = net.forward_all_unperturbed(x.clone());
    assert_close("mgcc main", out.main, tensor("mgcc_main", &device));
    for (k, aux) in out.aux.into_iter().enumerate() {
        assert_close(&format!("mgcc aux{k} (bottleneck after {k} mixer blocks)"), aux, tensor(&format!("mgcc_aux{k}"), &device));
    }
    assert_close("mgcc inference path", net.forward(x), tensor("mgcc_main", &device));
}

#[test]
fn vnet_family_matches_pytorch() {
    let device = Device::flex();
    let c = config("mcnet_plus");
    let up_types: Vec<usize> = c["up_types"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let net = VNetConfig::new()
        .with_in_channels(usize_of(&c, "in_channels"))
        .with_classes(usize_of(&c, "classes"))
        .with_filters(usize_of(&c, "filters"))
        .with_up_types(up_types)
        .init(&device);
    let net = with_weights(net, "mcnet_plus");
    let x = tensor::<5>("mcnet_plus_x", &device);
    let out = net.forward_all(x.clone());
    for (k, logits) in out.logits.into_iter().enumerate() {
        assert_close(&format!("MC-Net+ decoder {k} (up type {k})"), logits, tensor(&format!("mcnet_plus_out{k}"), &device));
    }
    assert_close("V-Net inference path (decoder 0)", net.forward(x), tensor("mcnet_plus_out0", &device));
}

/// Voxel feature rows `[N·H·W·D, C]` of `[N, C, H, W, D]`, as the reference flattens them.
fn rows(x: Tensor<5>) -> Tensor<2> {
    let c = x.dims()[1];
    x.permute([0, 2, 3, 4, 1]).reshape([-1, c as i64])
}

#[test]
fn caml_matches_pytorch_in_training_mode() {
    let device = Device::flex().autodiff();
    let c = config("caml");
    let net = CamlConfig::new()
        .with_filters(usize_of(&c, "filters"))
        .with_feature_dim(usize_of(&c, "feature_dim"))
        .with_dropout(false)
        .with_attention_dropout(0.0)
        .init(&device);
    let net = with_weights(net, "caml");
    let out = net.forward_both(tensor::<5>("caml_x", &device));
    let want = |name: &str| tensor::<5>(&format!("caml_{name}"), &Device::flex());
    let want_rows = |name: &str| tensor::<2>(&format!("caml_{name}"), &Device::flex());
    assert_close("CAML model V logits", out.logits_v.clone().inner(), want("logits_v"));
    assert_close("CAML model V features", out.features_v.clone().inner(), want("features_v"));
    assert_close("CAML model A logits (after the cross-sample attention)", out.logits_a.inner(), want("logits_a"));
    assert_close("CAML model A features", out.features_a.clone().inner(), want("features_a"));
    let proj_v = net.projection_head1.forward(rows(out.features_v));
    let proj_a = net.projection_head2.forward(rows(out.features_a));
    assert_close::<2>("CAML projection V", proj_v.clone().inner(), want_rows("proj_v"));
    assert_close::<2>("CAML prediction V", net.prediction_head1.forward(proj_v).inner(), want_rows("pred_v"));
    assert_close::<2>("CAML projection A", proj_a.clone().inner(), want_rows("proj_a"));
    assert_close::<2>("CAML prediction A", net.prediction_head2.forward(proj_a).inner(), want_rows("pred_a"));
}

#[test]
fn fbanet_plus_matches_pytorch() {
    let device = Device::flex();
    let c = config("fbanet_plus");
    let patch: Vec<usize> = c["patch"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let net = FbaNetConfig::new([patch[0], patch[1], patch[2]]).with_filters(usize_of(&c, "filters")).with_dim(usize_of(&c, "dim")).init(&device);
    let net = with_weights(net, "fbanet_plus");
    let x = tensor::<5>("fbanet_plus_x", &device);
    let out = net.forward_all(x.clone());
    for k in 0..3 {
        assert_close(&format!("FBA-Net+ decoder {k} logits"), out.logits[k].clone(), tensor(&format!("fbanet_plus_out{k}"), &device));
        assert_close::<2>(&format!("FBA-Net+ foreground embedding {k}"), out.foreground[k].clone(), tensor(&format!("fbanet_plus_fg{k}"), &device));
        assert_close::<2>(&format!("FBA-Net+ background embedding {k}"), out.background[k].clone(), tensor(&format!("fbanet_plus_bg{k}"), &device));
    }
    assert_close("FBA-Net+ inference path", net.forward(x), tensor("fbanet_plus_out0", &device));
}
