//! 3-D network timings for `semiseg bench` (`vnet`, `caml`, `fbanet`), with the losses of
//! `../shared/reference/torch_bench.py`: V-Net CE + Dice on the batch; CAML supervised on the
//! labeled half for both models, sharpened mutual consistency, and the simplified
//! omni-correlation (a memory of 512 labeled voxels through the eval-mode projectors, 25,600
//! unlabeled voxels through projector + predictor); FBA-Net+ supervised on three decoders, their
//! six consistency pairs and the three contrast terms. Measured as the 2-D ones
//! ([`super::bench_net::time_and_report`]).

use super::bench_net::{bench_ce_dice, bench_labels, bench_sgd, labeled_part, time_and_report, two_class_one_hot, NetBench, Timed, Workload};
use anyhow::{bail, Result};
use semiseg_nn::burn::module::Module;
use semiseg_nn::burn::prelude::*;
use semiseg_nn::burn::tensor::activation::softmax;
use semiseg_nn::burn::tensor::{Distribution, Int};
use semiseg_nn::nets::{Caml, CamlConfig, FbaNet, FbaNetConfig, VNet, VNetConfig};
use semiseg_nn::params::trainable_params;
use semiseg_train::losses::correlation::omni_correlation;
use semiseg_train::losses::fba::fba_contrast;
use semiseg_train::losses::mutual::mutual_consistency;

fn parse_size3(s: &str) -> Result<[usize; 3]> {
    let v: Vec<usize> = s.split('x').map(|p| p.trim().parse()).collect::<Result<_, _>>()?;
    match v.as_slice() {
        [a, b, c] if [a, b, c].iter().all(|&&d| d > 0 && d % 16 == 0) => Ok([*a, *b, *c]),
        _ => bail!("--size '{s}': expected H x W x D, each divisible by 16, e.g. 112x112x80"),
    }
}

/// `n` random voxel feature rows `[n, C]` of `[B, C, H, W, D]`, drawn evenly from the samples
/// (torch_bench.py draws samples and voxels at random; gathering per sample avoids a permuted
/// copy of the whole map here as there).
fn voxel_rows(e: Tensor<5>, n: usize) -> Tensor<2> {
    let [b, c, h, w, d] = e.dims();
    let voxels = h * w * d;
    let rows = (0..b)
        .map(|i| {
            let take = n / b + usize::from(i < n % b);
            let idx = Tensor::<1, Int>::random([take], Distribution::Uniform(0.0, voxels as f64), &e.device());
            e.clone().narrow(0, i, 1).reshape([c, voxels]).select(1, idx).transpose()
        })
        .collect();
    Tensor::cat(rows, 0)
}

/// Times `model` (`vnet`, `caml`, `fbanet`) at `size` (`H x W x D`).
pub fn bench_volume_network(bench: &NetBench) -> Result<()> {
    let [h, w, d] = parse_size3(&bench.size)?;
    let batch = bench.batch;
    if batch == 0 {
        bail!("--batch must be positive");
    }
    let device = bench.work_device();
    let y_fg = bench_labels([batch, h, w, d], &device);
    let y_onehot: Tensor<5> = two_class_one_hot(&y_fg);
    let x = Tensor::<5>::random([batch, 1, h, w, d], Distribution::Normal(0.0, 1.0), &device);
    let l = labeled_part(batch);
    let unlabeled = if batch > l { (l, batch - l) } else { (0, batch) };
    let (y_l, oh_l) = (y_fg.clone().narrow(0, 0, l), y_onehot.clone().narrow(0, 0, l));
    let sup = move |o: Tensor<5>| bench_ce_dice(o.narrow(0, 0, l), oh_l.clone(), y_l.clone());
    let (params, mut work): (usize, Box<dyn Workload>) = match bench.model.as_str() {
        "vnet" => {
            let net = VNetConfig::new().init(&device);
            let loss = move |net: &VNet, x: &Tensor<5>| bench_ce_dice(net.forward(x.clone()), y_onehot.clone(), y_fg.clone());
            (trainable_params(&net), Box::new(Timed { net, optim: bench_sgd(), x, loss: Box::new(loss), infer: VNet::forward }))
        }
        "caml" => {
            let net = CamlConfig::new().init(&device);
            let loss = move |net: &Caml, x: &Tensor<5>| {
                let out = net.forward_both(x.clone());
                let supervised = sup(out.logits_v.clone()) + sup(out.logits_a.clone());
                let probs = [softmax(out.logits_v, 1), softmax(out.logits_a, 1)];
                let consistency = mutual_consistency(&probs, 0.1);
                // the memory: eval-mode projectors, no gradient
                let (proj_v, proj_a) = (net.projection_head1.valid(), net.projection_head2.valid());
                let labeled = |e: &Tensor<5>| voxel_rows(e.clone().narrow(0, 0, l).detach().inner(), 512);
                let memory = (proj_v.forward(labeled(&out.features_v)) + proj_a.forward(labeled(&out.features_a))) * 0.5;
                let memory = Tensor::from_inner(memory);
                let unl = |e: Tensor<5>| voxel_rows(e.narrow(0, unlabeled.0, unlabeled.1), 25_600);
                let u_v = net.prediction_head1.forward(net.projection_head1.forward(unl(out.features_v)));
                let u_a = net.prediction_head2.forward(net.projection_head2.forward(unl(out.features_a)));
                supervised * 0.5 + consistency + omni_correlation(u_v, u_a, memory, 0.1) * 0.05
            };
            (trainable_params(&net), Box::new(Timed { net, optim: bench_sgd(), x, loss: Box::new(loss), infer: Caml::forward }))
        }
        "fbanet" => {
            let net = FbaNetConfig::new([h, w, d]).init(&device);
            let loss = move |net: &FbaNet, x: &Tensor<5>| {
                let out = net.forward_all(x.clone());
                let supervised = out.logits.iter().map(|o| sup(o.clone())).reduce(|a, b| a + b).expect("three decoders");
                let probs: Vec<Tensor<5>> = out.logits.into_iter().map(|o| softmax(o, 1)).collect();
                let contrast = out.foreground.into_iter().zip(out.background).map(|(f, b)| fba_contrast(f, b)).reduce(|a, b| a + b).expect("three heads");
                supervised * 0.5 + mutual_consistency(&probs, 0.1) + contrast
            };
            (trainable_params(&net), Box::new(Timed { net, optim: bench_sgd(), x, loss: Box::new(loss), infer: FbaNet::forward }))
        }
        other => bail!("'{other}' is not a 3-D network (vnet, caml, fbanet)"),
    };
    time_and_report(work.as_mut(), bench, &[h, w, d], params)
}
