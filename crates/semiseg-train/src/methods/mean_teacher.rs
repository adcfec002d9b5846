//! Mean teacher (Tarvainen & Valpola, NeurIPS 2017) as SSL4MIS `train_mean_teacher_2D.py`:
//! supervised `0.5·(CE + Dice)` on the labeled part; consistency
//! `mean((softmax(student(x_u)) − softmax(teacher(x_u + ξ)))²)`, ξ = clip(N(0, 0.1²), ±0.2), the
//! teacher an EMA of the student (decay 0.99); weight `consistency · rampup(t // 150)`, and 0
//! before `consistency_start` (SSL4MIS: 1000).

use super::{unet_config, DeviceBatch, Method, Term, Trained};
use crate::checkpoint::{find, load_module, module_part, Part};
use crate::config::Config;
use crate::ema::{ema_alpha, ema_update};
use crate::losses::{ce_dice, mse};
use crate::schedule::consistency_weight;
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::Gradients;
use burn::tensor::Distribution;
use semiseg_nn::nets::{Segmenter, UNet};

/// `x + clip(N(0, 0.1²), −0.2, 0.2)`, the teacher's input noise.
pub fn teacher_noise(x: Tensor<4>) -> Tensor<4> {
    let n = Tensor::<4>::random(x.dims(), Distribution::Normal(0.0, 1.0), &x.device());
    x + (n * 0.1).clamp(-0.2, 0.2)
}

/// The two loss values from the network outputs (no weights): supervised on the first `L`
/// samples, consistency between the student's unlabeled softmax and the teacher's.
pub fn mean_teacher_loss(student_logits: Tensor<4>, teacher_logits_unlabeled: Tensor<4>, one_hot: Tensor<4>, labeled: usize) -> (Tensor<1>, Tensor<1>) {
    let b = student_logits.dims()[0];
    let sup = ce_dice(student_logits.clone().narrow(0, 0, labeled), one_hot);
    let student_u = softmax(student_logits.narrow(0, labeled, b - labeled), 1);
    let teacher_u = softmax(teacher_logits_unlabeled, 1).detach();
    (sup, mse(student_u, teacher_u))
}

/// Student, EMA teacher, one optimizer.
pub struct MeanTeacher {
    student: Trained,
    teacher: UNet,
    cfg: Config,
}

impl MeanTeacher {
    /// Builds both networks (the teacher starts as a copy of the student) and the optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        let student = Trained::new(cfg, 0, device);
        // A separate network given the student's values: a module clone would share the
        // student's lazily initialised parameters, and `no_grad` would then freeze both.
        let teacher = ema_update(unet_config(cfg, 0).init(device), &student.net, 0.0);
        Self { teacher, student, cfg: cfg.clone() }
    }

    /// The consistency weight at iteration `t`.
    pub fn consistency_at(cfg: &Config, t: usize) -> f64 {
        if t < cfg.method.consistency_start {
            0.0
        } else {
            consistency_weight(cfg.method.consistency, cfg.method.rampup, t) * cfg.term_weight("consistency")
        }
    }
}

impl MeanTeacher {
    /// Student logits (with gradients).
    pub fn student_forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.student.net.forward(x)
    }

    /// Teacher logits (train-mode BatchNorm and dropout, as SSL4MIS; no gradients).
    pub fn teacher_forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.teacher.forward(x).detach()
    }
}

impl Method for MeanTeacher {
    fn terms(&mut self, batch: &DeviceBatch, t: usize) -> Vec<Term> {
        let student = self.student.net.forward(batch.images.clone());
        let teacher = self.teacher.forward(teacher_noise(batch.unlabeled_images())).detach();
        let (sup, cons) = mean_teacher_loss(student, teacher, batch.one_hot.clone(), batch.labeled);
        vec![
            Term { name: "supervised", value: sup, weight: self.cfg.term_weight("supervised") },
            Term { name: "consistency", value: cons, weight: Self::consistency_at(&self.cfg, t) },
        ]
    }

    fn apply(&mut self, mut grads: Gradients, lr: f64) {
        self.student.step(&mut grads, lr);
    }

    fn after_step(&mut self, t: usize) {
        self.teacher = ema_update(self.teacher.clone(), &self.student.net, ema_alpha(self.cfg.method.ema_decay, t));
    }

    fn inference_net(&self) -> Segmenter {
        Segmenter::UNet(self.student.net.valid())
    }

    fn save(&self) -> Vec<Part> {
        [self.student.parts("student", "optim"), vec![module_part("teacher", &self.teacher)]].concat()
    }

    fn load(&mut self, parts: &[Part]) -> Result<(), String> {
        self.student.restore(parts, "student", "optim")?;
        self.teacher = load_module(self.teacher.clone(), find(parts, "teacher")?)?.no_grad();
        Ok(())
    }
}
