//! UA-MT (Yu et al., MICCAI 2019) as SSL4MIS `train_uncertainty_aware_mean_teacher_2D.py`:
//! mean teacher whose consistency only counts pixels where the teacher is confident. The
//! uncertainty is the entropy of the mean softmax over T = 8 noisy teacher passes; the
//! threshold `(0.75 + 0.25·rampup(t, T_max))·ln 2` grows with training; the loss is
//! `Σ mask·(p_s − p_t)² / (2·Σ mask + 1e-16)`. The same in 3-D with a V-Net (UA-MT's
//! `train_LA.py`: the same passes, threshold and mask).

use super::backbone::Backbone;
use super::mean_teacher::{consistency_at, teacher_noise, MeanTeacher};
use crate::loss_scale::Update;
use super::{DeviceBatch, Method, Term};
use crate::checkpoint::Part;
use crate::config::Config;
use crate::losses::sums::total;
use crate::schedule::sigmoid_rampup;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::Gradients;
use semiseg_nn::nets::{Segmenter, UNet};

/// Stochastic teacher passes.
pub const PASSES: usize = 8;

/// The masked consistency from the student's unlabeled logits, the teacher's logits on a noisy
/// copy, and the `PASSES` teacher probability maps `[T, U, K, ...]` (flattened as `[T·U, K, ...]`).
pub fn ua_mt_consistency<const D: usize>(student_u: Tensor<D>, teacher_u: Tensor<D>, passes: Tensor<D>, threshold: f64) -> Tensor<1> {
    let dims = student_u.dims();
    let mean = passes.reshape([PASSES as i32, -1]).mean_dim(0).reshape(dims);
    let uncertainty = (mean.clone() * (mean + 1e-6).log()).sum_dim(1).neg(); // [U, 1, H, W]
    let mask = uncertainty.lower_elem(threshold).float().detach();
    let dist = (softmax(student_u, 1) - softmax(teacher_u, 1).detach()).powi_scalar(2); // [U, K, ...]
    total(dist * mask.clone()) / (total(mask) * 2.0 + 1e-16)
}

/// Mean teacher with an uncertainty mask.
pub struct UaMt<N = UNet> {
    inner: MeanTeacher<N>,
    cfg: Config,
}

impl<N: burn::module::Module + Clone> UaMt<N> {
    /// Builds student, teacher and optimizer.
    pub fn new<const D: usize>(cfg: &Config, device: &Device) -> Self
    where
        N: Backbone<D>,
    {
        Self { inner: MeanTeacher::new(cfg, device), cfg: cfg.clone() }
    }
}

impl<const D: usize, N: Backbone<D>> Method<D> for UaMt<N> {
    fn terms(&mut self, batch: &DeviceBatch<D>, t: usize) -> Vec<Term> {
        let b = batch.images.dims()[0];
        let student = self.inner.student_forward(batch.images.clone());
        let x_u = batch.unlabeled_images();
        let teacher_u = self.inner.teacher_forward(teacher_noise(x_u.clone()));
        // SSL4MIS: the unlabeled batch repeated twice, T/2 noisy passes of 2U samples each.
        let repeated = Tensor::cat(vec![x_u.clone(), x_u], 0);
        let passes: Vec<Tensor<D>> = (0..PASSES / 2).map(|_| softmax(self.inner.teacher_forward(teacher_noise(repeated.clone())), 1)).collect();
        let passes = Tensor::cat(passes, 0);
        let threshold = (0.75 + 0.25 * sigmoid_rampup(t as f64, self.cfg.train.iterations as f64)) * std::f64::consts::LN_2;
        let sup = N::supervised_loss(student.clone().narrow(0, 0, batch.labeled), batch.one_hot.clone());
        let cons = ua_mt_consistency(student.narrow(0, batch.labeled, b - batch.labeled), teacher_u, passes, threshold);
        vec![
            Term { name: "supervised", value: sup, weight: self.cfg.term_weight("supervised") },
            Term { name: "consistency", value: cons, weight: consistency_at(&self.cfg, t) },
        ]
    }

    fn apply(&mut self, grads: Gradients, update: &Update) {
        Method::<D>::apply(&mut self.inner, grads, update);
    }

    fn after_step(&mut self, t: usize) {
        Method::<D>::after_step(&mut self.inner, t);
    }

    fn inference_net(&self) -> Segmenter {
        Method::<D>::inference_net(&self.inner)
    }

    fn save(&self) -> Vec<Part> {
        Method::<D>::save(&self.inner)
    }

    fn load(&mut self, parts: &[Part]) -> Result<(), String> {
        Method::<D>::load(&mut self.inner, parts)
    }
}
