//! CAML (Gao et al., MICCAI 2023; methods.md §3.2): two V-Nets (V: transposed-conv decoder; A:
//! trilinear decoder with cross-sample attention in its encoder) trained with
//! - `0.5 · Σ_m Dice_fg(p_m)` on the labeled part (no CE),
//! - `λ_c(t) · [MSE(p_v, S(p_a)) + MSE(p_a, S(p_v))]` over the batch, S sharpening at T = 0.1,
//! - `λ_o(t) · L_o`, the omni-correlation of the unlabeled voxels where both models agree with
//!   a memory of labeled voxel features (see `caml_memory`),
//!
//! with `λ_c = consistency · rampup`, `λ_o = 0.05 · rampup` at the 1-based iteration. Model V
//! segments at inference.

use super::caml_memory::{subsample, MemoryBank, Rows};
use super::mcnet::dice_and_consistency;
use crate::loss_scale::Update;
use super::{DeviceBatch, Method, Term, Trained};
use crate::checkpoint::{find, Part};
use crate::config::Config;
use crate::data::sampler::derive_seed;
use crate::losses::correlation::omni_correlation_with;
use crate::schedule::consistency_weight;
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::{Gradients, TensorData};
use rand::rngs::StdRng;
use rand::SeedableRng;
use semiseg_nn::blocks::MlpHead;
use semiseg_nn::nets::{Caml, CamlConfig, Segmenter};

/// Final weight of the omni-correlation term (`--consis_o 0.05`).
pub const CORRELATION_WEIGHT: f64 = 0.05;
/// Weight of the supervised Dice (`0.5 · L_s`).
pub const DICE_WEIGHT: f64 = 0.5;

/// The CAML network the config describes.
pub fn caml_config(cfg: &Config) -> CamlConfig {
    CamlConfig::new()
        .with_in_channels(cfg.data.channels)
        .with_classes(cfg.model.classes)
        .with_filters(cfg.model.filters)
        .with_feature_dim(cfg.model.feature_dim)
}

/// Per sample and voxel, the most probable class and its probability, from host probabilities
/// `[B, K, V]`.
fn argmax_per_voxel(probs: &[f32], batch: usize, classes: usize) -> Vec<(usize, f32)> {
    let voxels = probs.len() / (batch * classes);
    let mut out = Vec::with_capacity(batch * voxels);
    for b in 0..batch {
        for v in 0..voxels {
            let (mut best, mut p) = (0, f32::NEG_INFINITY);
            for k in 0..classes {
                let q = probs[(b * classes + k) * voxels + v];
                if q > p {
                    (best, p) = (k, q);
                }
            }
            out.push((best, p));
        }
    }
    out
}

/// Rows `indices` of voxel features `[B, F, ...]` seen as `[B·V, F]`: one row per voxel, or with
/// `reference_view` the reference's quirk for model A's memory, the `[B, F, ...]` values read
/// as rows of F without moving the channel axis last (see `method.memory_rows_a`).
fn feature_rows(features: &Tensor<5>, indices: &[usize], reference_view: bool) -> Tensor<2> {
    let f = features.dims()[1];
    let rows = if reference_view { features.clone() } else { features.clone().permute([0, 2, 3, 4, 1]) }.reshape([-1, f as i32]);
    let idx = Tensor::<1, Int>::from_data(TensorData::new(indices.iter().map(|&i| i as i64).collect::<Vec<_>>(), [indices.len()]), &features.device());
    rows.select(0, idx)
}

/// The host copy of a tensor's values.
fn host(x: Tensor<5>) -> Vec<f32> {
    x.detach().into_data().try_into_vec::<f32>().expect("f32 values")
}

/// Two V-Nets, one optimizer, the labeled memory.
pub struct CamlMethod {
    model: Trained<Caml>,
    memory: MemoryBank,
    cfg: Config,
}

impl CamlMethod {
    /// Builds the networks, the optimizer and an empty memory.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { model: Trained::with_net(caml_config(cfg).init(device), cfg), memory: MemoryBank::new(cfg.model.feature_dim), cfg: cfg.clone() }
    }

    /// Stores, for each labeled sample, up to `memory_per_class` voxels per class where both
    /// models predict the ground truth: `(proj_v(e_v) + proj_a(e_a)) / 2` with the projection
    /// heads in evaluation mode, no gradient.
    fn remember(&mut self, batch: &DeviceBatch<5>, truth: &[usize], pred_v: &[(usize, f32)], pred_a: &[(usize, f32)], features: (&Tensor<5>, &Tensor<5>), rng: &mut StdRng) {
        let voxels = truth.len() / batch.labeled;
        let classes = self.cfg.model.classes;
        let net = &self.model.net;
        let (proj_v, proj_a) = (net.projection_head1.valid(), net.projection_head2.valid());
        // the heads' evaluation copies live on the plain device, outside the autodiff graph
        let plain = features.0.device().without_autodiff();
        let on_plain_device = |x: Tensor<2>| Tensor::<2>::from_data(x.detach().into_data(), &plain);
        for (i, &case) in batch.labeled_indices.iter().enumerate() {
            let mut per_class = Vec::with_capacity(classes);
            for c in 0..classes {
                let correct: Vec<usize> = (i * voxels..(i + 1) * voxels).filter(|&v| truth[v] == c && pred_v[v].0 == c && pred_a[v].0 == c).collect();
                let kept = if self.cfg.method.memory_store == "all" { correct } else { subsample(&correct, self.cfg.method.memory_per_class, rng) };
                if kept.is_empty() {
                    per_class.push(Rows::default());
                    continue;
                }
                let reference_a = self.cfg.method.memory_rows_a == "reference";
                let rows = (proj_v.forward(on_plain_device(feature_rows(features.0, &kept, false))) + proj_a.forward(on_plain_device(feature_rows(features.1, &kept, reference_a)))) / 2.0;
                per_class.push(Rows { values: rows.into_data().try_into_vec::<f32>().expect("f32 rows"), count: kept.len() });
            }
            self.memory.store(case, per_class);
        }
    }

    /// `L_o`: the unlabeled voxels where both models agree, their features through projection
    /// and prediction heads (training mode, over all agreeing voxels), the `unlabeled_per_class`
    /// most confident of each pseudo-class (by model V's probability), correlated with a draw
    /// from the memory. `None` when either side is empty.
    fn correlation(&self, batch: &DeviceBatch<5>, pred_v: &[(usize, f32)], pred_a: &[(usize, f32)], features: (&Tensor<5>, &Tensor<5>), rng: &mut StdRng) -> Option<Tensor<1>> {
        let m = &self.cfg.method;
        let classes = self.cfg.model.classes;
        let (memory, _) = self.memory.draw(classes, m.memory_per_class, rng);
        let start = batch.labeled * (pred_v.len() / batch.images.dims()[0]);
        let agreeing: Vec<usize> = (start..pred_v.len()).filter(|&v| pred_v[v].0 == pred_a[v].0).collect();
        if memory.is_empty() || agreeing.is_empty() {
            return None;
        }
        // per pseudo-class, positions within `agreeing` of the most confident voxels
        let mut selected = Vec::new();
        for c in 0..classes {
            let mut of_class: Vec<usize> = (0..agreeing.len()).filter(|&r| pred_v[agreeing[r]].0 == c).collect();
            of_class.sort_by(|&a, &b| pred_v[agreeing[b]].1.total_cmp(&pred_v[agreeing[a]].1));
            of_class.truncate(m.unlabeled_per_class);
            // the reference correlates a pseudo-class only when it has more than one voxel
            if of_class.len() > 1 {
                selected.extend(of_class);
            }
        }
        if selected.is_empty() {
            return None;
        }
        let net = &self.model.net;
        let device = features.0.device();
        let head = |proj: &MlpHead, pred: &MlpHead, f: &Tensor<5>| pred.forward(proj.forward(feature_rows(f, &agreeing, false)));
        let pick = Tensor::<1, Int>::from_data(TensorData::new(selected.iter().map(|&i| i as i64).collect::<Vec<_>>(), [selected.len()]), &device);
        let u_v = head(&net.projection_head1, &net.prediction_head1, features.0).select(0, pick.clone());
        let u_a = head(&net.projection_head2, &net.prediction_head2, features.1).select(0, pick);
        let width = self.memory.width;
        let memory = Tensor::<2>::from_data(TensorData::new(memory.clone(), [memory.len() / width, width]), &device);
        Some(omni_correlation_with(u_v, u_a, memory, m.correlation_temperature, m.normalize_features, m.detach_correlation_target))
    }
}

impl Method<5> for CamlMethod {
    fn terms(&mut self, batch: &DeviceBatch<5>, t: usize) -> Vec<Term> {
        let out = self.model.net.forward_both(batch.images.clone());
        let (p_v, p_a) = (softmax(out.logits_v, 1), softmax(out.logits_a, 1));
        let (l, b) = (batch.labeled, batch.images.dims()[0]);
        let (dice, consistency) = dice_and_consistency(&[p_v.clone(), p_a.clone()], batch.one_hot.clone(), l, self.cfg.method.sharpen_temperature);
        let consistency = consistency.expect("two models");

        let classes = self.cfg.model.classes;
        let (pred_v, pred_a) = (argmax_per_voxel(&host(p_v), b, classes), argmax_per_voxel(&host(p_a), b, classes));
        let truth: Vec<usize> = argmax_per_voxel(&host(batch.one_hot.clone()), l, classes).into_iter().map(|(c, _)| c).collect();
        let mut rng = StdRng::seed_from_u64(derive_seed(self.cfg.seed, 6, t as u64));
        let features = (&out.features_v, &out.features_a);
        self.remember(batch, &truth, &pred_v, &pred_a, features, &mut rng);
        let correlation = self.correlation(batch, &pred_v, &pred_a, features, &mut rng).unwrap_or_else(|| Tensor::zeros([1], &batch.images.device()));

        let m = &self.cfg.method;
        let ramp = |weight: f64| consistency_weight(weight, m.rampup, m.rampup_epoch, t + 1);
        vec![
            Term { name: "supervised", value: dice, weight: DICE_WEIGHT * self.cfg.term_weight("supervised") },
            Term { name: "consistency", value: consistency, weight: ramp(m.consistency) * self.cfg.term_weight("consistency") },
            Term { name: "correlation", value: correlation, weight: ramp(CORRELATION_WEIGHT) * self.cfg.term_weight("correlation") },
        ]
    }

    fn apply(&mut self, mut grads: Gradients, update: &Update) {
        self.model.step(&mut grads, update);
    }

    fn inference_net(&self) -> Segmenter {
        self.model.net.valid().into()
    }

    fn save(&self) -> Vec<Part> {
        let mut parts = self.model.parts("net", "optim");
        parts.push(Part { name: "memory".into(), bytes: self.memory.to_bytes() });
        parts
    }

    fn load(&mut self, parts: &[Part]) -> Result<(), String> {
        self.model.restore(parts, "net", "optim")?;
        self.memory = MemoryBank::from_bytes(&find(parts, "memory")?.bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_a_rows_can_be_read_as_the_reference_views_them() {
        // [1, 2, 1, 1, 3]: channel 0 holds 0 1 2, channel 1 holds 10 11 12
        let device = Device::flex();
        let x = Tensor::<5>::from_data(TensorData::new(vec![0.0f32, 1.0, 2.0, 10.0, 11.0, 12.0], [1, 2, 1, 1, 3]), &device);
        let rows = |reference| feature_rows(&x, &[0, 1, 2], reference).into_data().iter::<f32>().collect::<Vec<f32>>();
        // one row per voxel: (channel 0, channel 1)
        assert_eq!(rows(false), vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
        // `view(-1, 2)` of the channel-first values: runs of two along the last axis
        assert_eq!(rows(true), vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
    }
}
