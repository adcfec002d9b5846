//! Whole training steps against PyTorch: each SSL4MIS 2-D method (supervised, mean teacher,
//! UA-MT, CCT, CPS) takes two consecutive steps here (`semiseg_train::step::take_step`, what the
//! trainer runs) from the same weights, batches and random draws as the restated reference
//! scripts of `tests/fixtures/steps/gen.py`: forward of every network, every loss term,
//! backward, SGD with momentum and weight decay at the script's poly learning rate, the EMA
//! teacher. The loss terms agree within 1e-5, every parameter and running statistic after the
//! two steps within 1e-4 of its tensor's largest value, and what the two steps changed within
//! 1e-3 of the tensor's largest change plus the f32 rounding of the values (the change is what a wrong gradient, learning rate or
//! EMA factor would spoil; the weights themselves barely move in two steps).
//!
//! Random draws (dropout masks, the teacher's input noise, CCT's feature noise and feature
//! dropout factors) are the script's, replayed through `semiseg_nn::draws`.

mod common;

use burn::module::Module;
use burn::prelude::*;
use common::{fixtures, npy_tensor};
use ndarray::ArrayD;
use semiseg_nn::draws::{replay, Purpose};
use semiseg_nn::import::{export_ordered, import_ordered, Array};
use semiseg_nn::nets::UNet;
use semiseg_train::checkpoint::{find, load_module, module_part};
use semiseg_train::config::Config;
use semiseg_train::loss_scale::LossScale;
use semiseg_train::losses::one_hot_nd;
use semiseg_train::methods::{build, unet_config, DeviceBatch};
use semiseg_train::step::take_step;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    fixtures("steps")
}

fn spec(method: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{method}.json"))).unwrap()).unwrap()
}

fn flat(file: &str) -> Vec<f32> {
    let a: ArrayD<f32> = ndarray_npy::read_npy(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    a.iter().copied().collect()
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

/// The flat file cut into arrays of the given shapes.
fn arrays(file: &str, shapes: &[Vec<usize>]) -> Vec<Array> {
    let values = flat(file);
    let mut at = 0;
    let out = shapes
        .iter()
        .map(|s| {
            let n: usize = s.iter().product();
            at += n;
            Array { shape: s.clone(), values: values[at - n..at].to_vec() }
        })
        .collect();
    assert_eq!(at, values.len(), "{file}: every value used");
    out
}

/// The run configuration of the fixture's settings.
fn config(s: &Value) -> Config {
    let method = s["method"].as_str().unwrap();
    let start = if method == "mean_teacher" { 1000 } else { 0 };
    let width = s["widths"][0].as_f64().unwrap() / 16.0;
    let text = format!(
        r#"
        [data]
        channels = 1
        [model]
        name = "unet2d"
        classes = {classes}
        width = {width}
        [method]
        name = "{method}"
        consistency = {consistency}
        rampup = {rampup}
        ema_decay = {ema}
        consistency_start = {start}
        [train]
        iterations = {iterations}
        batch = {batch}
        labeled_batch = {labeled}
        optimizer = "sgd"
        lr = {lr}
        momentum = 0.9
        weight_decay = 1e-4
        schedule = "poly"
        poly_lag = {lag}
        "#,
        classes = s["classes"],
        consistency = s["consistency"],
        rampup = s["rampup"],
        ema = s["ema_decay"],
        iterations = s["iterations"],
        batch = s["batch"],
        labeled = s["labeled"],
        lr = s["lr"],
        lag = s["poly_lag"],
    );
    Config::from_toml(&text, "whole-step test", &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn network_shapes(s: &Value, net: &str) -> Vec<Vec<usize>> {
    s["networks"][net].as_array().unwrap().iter().map(shape).collect()
}

fn fresh_net(cfg: &Config, net: &str, device: &Device) -> UNet {
    unet_config(cfg, if cfg.method.name == "cct" && net == "net" { 3 } else { 0 }).init(device)
}

/// The batch of step `k`: the images (only the labeled part for supervised training, as its
/// script loads labeled data alone) and the one-hot labels.
fn batch(s: &Value, k: usize, device: &Device) -> DeviceBatch {
    let labeled = s["labeled"].as_u64().unwrap() as usize;
    let (classes, size) = (s["classes"].as_u64().unwrap() as usize, s["size"].as_u64().unwrap() as usize);
    let mut images = npy_tensor::<4>(&dir(), &format!("x{k}"), device);
    if s["method"] == "supervised" {
        images = images.narrow(0, 0, labeled);
    }
    let labels: Vec<u8> = flat(&format!("y{k}.npy")).iter().map(|&v| v as u8).collect();
    DeviceBatch { images, one_hot: one_hot_nd(&labels, labeled, classes, &[size, size], device), labeled, labeled_indices: (0..labeled).collect() }
}

/// Largest |a − b| and largest |b| of two equally long lists.
fn gap(a: &[f32], b: &[f32]) -> (f32, f32) {
    a.iter().zip(b).fold((0.0f32, 0.0f32), |(g, m), (x, y)| (g.max((x - y).abs()), m.max(y.abs())))
}

fn whole_steps_agree(method: &str) {
    let s = spec(method);
    let cfg = config(&s);
    let device = Device::flex().autodiff();
    let nets: Vec<String> = s["networks"].as_object().unwrap().keys().cloned().collect();

    let mut m = build(&cfg, &device);
    let mut parts = m.save();
    for net in &nets {
        let loaded = import_ordered(fresh_net(&cfg, net, &device), &arrays(&format!("{method}_{net}_init.npy"), &network_shapes(&s, net))).unwrap();
        let part = parts.iter_mut().find(|p| &p.name == net).unwrap_or_else(|| panic!("{method} saves no network '{net}'"));
        *part = module_part(net, &loaded);
    }
    m.load(&parts).unwrap();

    let mut scale = LossScale::default();
    for (k, want) in s["steps"].as_array().unwrap().iter().enumerate() {
        let purposes: Vec<(Purpose, Vec<usize>)> =
            want["draws"].as_array().unwrap().iter().map(|d| (Purpose::from_name(d[0].as_str().unwrap()).expect("known purpose"), shape(&d[1]))).collect();
        let drawn = arrays(&format!("{method}_draws{k}.npy"), &purposes.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>());
        let replayed = replay(purposes.iter().map(|(p, _)| *p).zip(drawn).collect());
        let t = want["t"].as_u64().unwrap() as usize;
        let step = take_step(m.as_mut(), &batch(&s, k, &device), t, &cfg, &mut scale).unwrap_or_else(|e| panic!("{method} step {k}: {e:?}"));
        assert!(replayed.left().is_empty(), "{method} step {k}: draws the reference made and this step did not: {:?}", replayed.left());
        drop(replayed);

        let lr = want["lr"].as_f64().unwrap();
        assert!((step.lr - lr).abs() <= 1e-12 * lr, "{method} step {k}: lr {} vs {lr}", step.lr);
        let terms = want["terms"].as_object().unwrap();
        assert_eq!(step.terms.len(), terms.len(), "{method} step {k}: terms {:?} vs {terms:?}", step.terms);
        for (name, value, weight) in &step.terms {
            let w = &terms[*name];
            let (v_ref, w_ref) = (w[0].as_f64().unwrap(), w[1].as_f64().unwrap());
            assert!((value - v_ref).abs() <= 1e-5 * v_ref.abs().max(1.0), "{method} step {k}: {name} = {value} vs PyTorch {v_ref}");
            assert!((weight - w_ref).abs() <= 1e-9, "{method} step {k}: {name} weight {weight} vs PyTorch {w_ref}");
        }
    }

    let parts = m.save();
    for net in &nets {
        let shapes = network_shapes(&s, net);
        let after = export_ordered(&load_module(fresh_net(&cfg, net, &device), find(&parts, net).unwrap()).unwrap());
        let (init, want) = (arrays(&format!("{method}_{net}_init.npy"), &shapes), arrays(&format!("{method}_{net}_final.npy"), &shapes));
        let named = names(&fresh_net(&cfg, net, &device));
        for (i, ((got, want), init)) in after.iter().zip(&want).zip(&init).enumerate() {
            assert_eq!(got.shape, want.shape, "{method} {net} {}", named[i]);
            let (err, scale) = gap(&got.values, &want.values);
            assert!(err <= 1e-4 * scale.max(1e-6), "{method} {net} {}: after two steps max |Δ| {err} (largest value {scale})", named[i]);
            let change = |a: &[f32]| a.iter().zip(&init.values).map(|(x, y)| x - y).collect::<Vec<f32>>();
            let (err, largest) = gap(&change(&got.values), &change(&want.values));
            // a change is read as the difference of two f32 values of size `scale`: it is only
            // known to a few units in their last place
            let rounding = 4.0 * f32::EPSILON * scale;
            assert!(err <= 1e-3 * largest + rounding, "{method} {net} {}: change over two steps off by {err} (largest change {largest})", named[i]);
        }
    }
}

/// Each float parameter's path, in visiting order (for messages).
fn names<M: Module>(m: &M) -> Vec<String> {
    struct Paths(Vec<String>, Vec<String>);
    impl burn::module::ModuleVisitor for Paths {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.1.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.1.pop();
        }
        fn visit_float<const D: usize>(&mut self, _: &burn::module::Param<Tensor<D>>) {
            self.0.push(self.1.join("."));
        }
    }
    let mut p = Paths(Vec::new(), Vec::new());
    m.visit(&mut p);
    p.0
}

#[test]
fn supervised_step_matches_pytorch() {
    whole_steps_agree("supervised");
}

#[test]
fn mean_teacher_step_matches_pytorch() {
    whole_steps_agree("mean_teacher");
}

#[test]
fn ua_mt_step_matches_pytorch() {
    whole_steps_agree("ua_mt");
}

#[test]
fn cct_step_matches_pytorch() {
    whole_steps_agree("cct");
}

#[test]
fn cps_step_matches_pytorch() {
    whole_steps_agree("cps");
}
