//! State dicts that PyTorch wrote with the reference code's key names (`tests/fixtures/pth/gen.py`)
//! load into our CAML and FBA-Net+ through their key maps, and the loaded networks give
//! PyTorch's outputs within 1e-4: CAML's inference path (model V, evaluation mode), both CAML
//! models in training mode (batch statistics, the cross-sample attention with dropout 0), and
//! every FBA-Net+ decoder with its foreground / background embeddings (evaluation mode); and the
//! V-Net layouts: MC-Net's `mcnet3d_v2` (`encoder`, `decoder1..3`, three up types), UA-MT's
//! flat one-decoder `networks/vnet.py` (`block_one.conv.0.weight`, …), and single-decoder
//! FBA-Net (`decoder.*`). In 2-D (`tests/fixtures/pth/gen_2d.py`): SSL4MIS's `UNet` and
//! `UNet_CCT` and MGCC's `MGCC`, evaluation mode.

use burn::prelude::*;
use burn::tensor::TensorData;
use ndarray::ArrayD;
use ndarray_npy::read_npy;
use semiseg_nn::nets::{is_cct_unet_state, is_flat_vnet_state, Caml, CamlConfig, FbaNet, FbaNetConfig, Mgcc, MgccConfig, UNet, UNetConfig, VNet, VNetConfig};
use semiseg_nn::pytorch::{import_state_dict, read_state_dict};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth").join(name)
}

fn tensor<const D: usize>(name: &str, device: &Device) -> Tensor<D> {
    let a: ArrayD<f32> = read_npy(fixture(&format!("{name}.npy"))).unwrap();
    let shape: [usize; D] = a.shape().try_into().unwrap();
    Tensor::from_data(TensorData::new(a.iter().copied().collect::<Vec<_>>(), shape), device)
}

fn assert_close<const D: usize>(what: &str, got: Tensor<D>, want: Tensor<D>) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let err = (got - want.clone()).abs().max().into_scalar::<f32>();
    let scale = want.abs().max().into_scalar::<f32>().max(1.0);
    assert!(err <= 1e-4 * scale, "{what}: max difference {err} (scale {scale})");
}

const FILTERS: usize = 2;

#[test]
fn caml_state_dict_from_pytorch_gives_pytorchs_outputs() {
    let state = read_state_dict(&fixture("caml.pth"), None).unwrap();
    let config = CamlConfig::new().with_filters(FILTERS).with_feature_dim(8).with_dropout(false).with_attention_dropout(0.0);
    let train = Device::flex().autodiff();
    let net = import_state_dict(config.init(&train), &state, &Caml::pytorch_source).unwrap();
    let out = net.forward_both(tensor::<5>("x_caml", &train));
    assert_close("model V, training mode", out.logits_v.inner(), tensor("caml_train_v", &Device::flex()));
    assert_close("model A, training mode (cross-sample attention)", out.logits_a.inner(), tensor("caml_train_a", &Device::flex()));
    // a fresh import: the training-mode pass above moved the running statistics
    let eval = import_state_dict(config.init(&Device::flex()), &state, &Caml::pytorch_source).unwrap();
    assert_close("model V, evaluation mode", eval.forward(tensor::<5>("x", &Device::flex())), tensor("caml_eval_v", &Device::flex()));
}

#[test]
fn fbanet_plus_state_dict_from_pytorch_gives_pytorchs_outputs() {
    let state = read_state_dict(&fixture("fbanet_plus.pth"), None).unwrap();
    let config = FbaNetConfig::new([16, 16, 16]).with_filters(FILTERS).with_dim(8).with_dropout(false);
    let device = Device::flex();
    let net = import_state_dict(config.init(&device), &state, &FbaNet::pytorch_source).unwrap();
    let out = net.forward_all(tensor::<5>("x", &device));
    for d in 0..3 {
        assert_close(&format!("decoder {d} logits"), out.logits[d].clone(), tensor(&format!("fba_eval_out{d}"), &device));
        assert_close(&format!("decoder {d} foreground"), out.foreground[d].clone(), tensor(&format!("fba_eval_fg{d}"), &device));
        assert_close(&format!("decoder {d} background"), out.background[d].clone(), tensor(&format!("fba_eval_bg{d}"), &device));
    }
}

#[test]
fn a_state_dict_of_another_network_is_refused_with_the_parameter_named() {
    let state = read_state_dict(&fixture("caml.pth"), None).unwrap();
    let config = FbaNetConfig::new([16, 16, 16]).with_filters(FILTERS).with_dim(8);
    let e = import_state_dict(config.init(&Device::flex()), &state, &FbaNet::pytorch_source).unwrap_err();
    assert!(e.contains("vnet.encoder") && e.contains("no tensor 'encoder."), "{e}");
    let e = read_state_dict(&fixture("config.json"), None).unwrap_err();
    assert!(e.contains("config.json"), "{e}");
}

#[test]
fn mcnet_plus_and_ua_mt_vnet_state_dicts_give_pytorchs_outputs() {
    let device = Device::flex();
    let x = tensor::<5>("x", &device);
    let mcnet = read_state_dict(&fixture("mcnet_plus.pth"), None).unwrap();
    assert!(!is_flat_vnet_state(mcnet.tensors.keys()));
    let up = vec![0, 1, 2];
    let config = VNetConfig::new().with_filters(FILTERS).with_up_types(up.clone()).with_dropout(false);
    let net = import_state_dict(config.init(&device), &mcnet, &|p| VNet::pytorch_source(p, &up)).unwrap();
    for (d, logits) in net.forward_all(x.clone()).logits.into_iter().enumerate() {
        assert_close(&format!("MC-Net+ decoder {d}"), logits, tensor(&format!("mcnet_plus_eval_out{d}"), &device));
    }
    let uamt = read_state_dict(&fixture("vnet_uamt.pth"), None).unwrap();
    assert!(is_flat_vnet_state(uamt.tensors.keys()), "UA-MT's keys are told apart");
    let config = VNetConfig::new().with_filters(FILTERS).with_dropout(false);
    let net = import_state_dict(config.init(&device), &uamt, &|p| VNet::pytorch_source_flat(p, &[0])).unwrap();
    assert_close("UA-MT's V-Net", net.forward(x), tensor("vnet_uamt_eval_out0", &device));
    // the other layout's key map names the missing key
    let e = import_state_dict(config.init(&device), &uamt, &|p| VNet::pytorch_source(p, &[0])).unwrap_err();
    assert!(e.contains("encoder."), "{e}");
}

#[test]
fn single_decoder_fbanet_state_dict_gives_pytorchs_output() {
    let state = read_state_dict(&fixture("fbanet.pth"), None).unwrap();
    let config = FbaNetConfig::new([16, 16, 16]).with_filters(FILTERS).with_dim(8).with_dropout(false).with_decoders(1);
    let device = Device::flex();
    let net = import_state_dict(config.init(&device), &state, &FbaNet::pytorch_source_single).unwrap();
    let out = net.forward_all(tensor::<5>("x", &device));
    assert_close("FBA-Net logits", out.logits[0].clone(), tensor("fbanet_eval_out0", &device));
}

#[test]
fn ssl4mis_unet_and_unet_cct_state_dicts_give_pytorchs_outputs() {
    let device = Device::flex();
    let x = tensor::<4>("x2d", &device);
    let unet = read_state_dict(&fixture("unet.pth"), None).unwrap();
    assert!(!is_cct_unet_state(unet.tensors.keys()));
    let config = UNetConfig::new().with_width(0.25).with_classes(4).with_dropout(false);
    let net = import_state_dict(config.init(&device), &unet, &|p| UNet::pytorch_source(p, false)).unwrap();
    assert_close("UNet", net.forward(x.clone()), tensor("unet_eval", &device));
    let cct = read_state_dict(&fixture("unet_cct.pth"), None).unwrap();
    assert!(is_cct_unet_state(cct.tensors.keys()), "UNet_CCT's keys are told apart");
    let config = UNetConfig::new().with_width(0.25).with_aux_decoders(3).with_dropout(false);
    let net = import_state_dict(config.init(&device), &cct, &|p| UNet::pytorch_source(p, true)).unwrap();
    assert_close("UNet_CCT main decoder", net.forward(x), tensor("unet_cct_eval", &device));
    // a plain UNet's key map leaves the auxiliary decoders' tensors unused, and says so
    let plain = UNetConfig::new().with_width(0.25).with_dropout(false);
    let e = import_state_dict(plain.init(&device), &cct, &|p| UNet::pytorch_source(p, false)).unwrap_err();
    assert!(e.contains("no tensor 'decoder.up1.conv1x1.weight'"), "{e}");
}

#[test]
fn mgcc_state_dict_gives_pytorchs_output() {
    let device = Device::flex();
    let state = read_state_dict(&fixture("mgcc.pth"), None).unwrap();
    let config = MgccConfig::new().with_base_width(2).with_dim_mult(1);
    let net = import_state_dict(config.init(&device), &state, &Mgcc::pytorch_source).unwrap();
    assert_close("MGCC main decoder", net.forward(tensor::<4>("x2d_rgb", &device)), tensor("mgcc_eval", &device));
}
