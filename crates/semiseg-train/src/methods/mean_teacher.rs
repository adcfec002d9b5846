//! Mean teacher (Tarvainen & Valpola, NeurIPS 2017) as SSL4MIS `train_mean_teacher_2D.py` (and
//! UA-MT's 3-D code with a V-Net): the network's supervised loss on the labeled part; consistency
//! `mean((softmax(student(x_u)) − softmax(teacher(x_u + ξ)))²)`, ξ = clip(N(0, 0.1²), ±0.2), the
//! teacher an EMA of the student (decay 0.99); weight `consistency · rampup(t // 150)`, and 0
//! before `consistency_start` (SSL4MIS: 1000).

use super::backbone::Backbone;
use crate::loss_scale::Update;
use super::{DeviceBatch, Method, Term, Trained};
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
use semiseg_nn::draws::{draw, Purpose};
use semiseg_nn::nets::{Segmenter, UNet};

/// `x + clip(N(0, 0.1²), −0.2, 0.2)`, the teacher's input noise.
pub fn teacher_noise<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let n = draw(Purpose::TeacherNoise, x.dims(), Distribution::Normal(0.0, 1.0), &x.device());
    x + (n * 0.1).clamp(-0.2, 0.2)
}

/// The two loss values from the network outputs (no weights): supervised on the first `L`
/// samples, consistency between the student's unlabeled softmax and the teacher's.
pub fn mean_teacher_loss(student_logits: Tensor<4>, teacher_logits_unlabeled: Tensor<4>, one_hot: Tensor<4>, labeled: usize) -> (Tensor<1>, Tensor<1>) {
    (ce_dice(student_logits.clone().narrow(0, 0, labeled), one_hot), teacher_consistency(student_logits, teacher_logits_unlabeled, labeled))
}

/// `mean((softmax(student(x_u)) − softmax(teacher))²)` over the unlabeled part (from index `labeled`).
pub fn teacher_consistency<const D: usize>(student_logits: Tensor<D>, teacher_logits_unlabeled: Tensor<D>, labeled: usize) -> Tensor<1> {
    let b = student_logits.dims()[0];
    let student_u = softmax(student_logits.narrow(0, labeled, b - labeled), 1);
    let teacher_u = softmax(teacher_logits_unlabeled, 1).detach();
    mse(student_u, teacher_u)
}

/// The consistency weight at iteration `t`: off before `consistency_start`, then ramped up.
pub fn consistency_at(cfg: &Config, t: usize) -> f64 {
    if t < cfg.method.consistency_start {
        0.0
    } else {
        consistency_weight(cfg.method.consistency, cfg.method.rampup, cfg.method.rampup_epoch, t) * cfg.term_weight("consistency")
    }
}

/// Student, EMA teacher, one optimizer.
pub struct MeanTeacher<N = UNet> {
    student: Trained<N>,
    teacher: N,
    cfg: Config,
}

impl<N: Module + Clone> MeanTeacher<N> {
    /// Builds both networks (the teacher starts as a copy of the student) and the optimizer.
    pub fn new<const D: usize>(cfg: &Config, device: &Device) -> Self
    where
        N: Backbone<D>,
    {
        let student = Trained::with_net(N::build(cfg, device), cfg);
        // A separate network given the student's values: a module clone would share the
        // student's lazily initialised parameters, and `no_grad` would then freeze both.
        let teacher = ema_update(N::build(cfg, device), &student.net, 0.0);
        Self { teacher, student, cfg: cfg.clone() }
    }

    /// Student logits (with gradients).
    pub fn student_forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D>
    where
        N: Backbone<D>,
    {
        self.student.net.logits(x)
    }

    /// Teacher logits (train-mode BatchNorm and dropout, as SSL4MIS; no gradients).
    pub fn teacher_forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D>
    where
        N: Backbone<D>,
    {
        self.teacher.logits(x).detach()
    }
}

impl<const D: usize, N: Backbone<D>> Method<D> for MeanTeacher<N> {
    fn terms(&mut self, batch: &DeviceBatch<D>, t: usize) -> Vec<Term> {
        let student = self.student_forward(batch.images.clone());
        let teacher = self.teacher_forward(teacher_noise(batch.unlabeled_images()));
        let sup = N::supervised_loss(student.clone().narrow(0, 0, batch.labeled), batch.one_hot.clone());
        let cons = teacher_consistency(student, teacher, batch.labeled);
        vec![
            Term { name: "supervised", value: sup, weight: self.cfg.term_weight("supervised") },
            Term { name: "consistency", value: cons, weight: consistency_at(&self.cfg, t) },
        ]
    }

    fn apply(&mut self, mut grads: Gradients, update: &Update) {
        self.student.step(&mut grads, update);
    }

    fn after_step(&mut self, t: usize) {
        self.teacher = ema_update(self.teacher.clone(), &self.student.net, ema_alpha(self.cfg.method.ema_decay, t));
    }

    fn inference_net(&self) -> Segmenter {
        self.student.net.valid().into()
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
