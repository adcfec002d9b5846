//! Dynamic loss scaling for f16 training, with PyTorch `GradScaler`'s defaults.
//!
//! Gradients of f16 activations underflow to zero below 6e-8; the loss is multiplied by a
//! large scale before the backward pass so they stay representable, and each network's
//! gradients are divided by it again before its optimizer step ([`Update::unscale`]). A step
//! whose gradients hold an inf or NaN (the scale was too large) is skipped for that network and
//! the scale halves; after 2,000 steps without one it doubles. bf16 and f32 need no scaling
//! (scale 1, nothing checked).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use semiseg_nn::precision::Precision;
use std::cell::Cell;

/// PyTorch's `init_scale`.
pub const INIT_SCALE: f64 = 65536.0;
/// PyTorch's `growth_interval`.
pub const GROWTH_INTERVAL: u64 = 2000;

/// The current loss scale and the count of overflow-free steps since it last changed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossScale {
    /// The factor the loss is multiplied by (1: no scaling).
    pub scale: f64,
    /// Steps without overflow since the scale last changed.
    pub good_steps: u64,
    /// Whether the scale adapts (f16) and gradients are checked; fixed at 1 otherwise.
    pub dynamic: bool,
}

impl Default for LossScale {
    fn default() -> Self {
        Self { scale: 1.0, good_steps: 0, dynamic: false }
    }
}

impl LossScale {
    /// The starting scale for `precision`: [`INIT_SCALE`] for f16, 1 otherwise.
    pub fn for_precision(precision: Precision) -> Self {
        match precision {
            Precision::F16 => Self { scale: INIT_SCALE, good_steps: 0, dynamic: true },
            _ => Self::default(),
        }
    }


    /// After a step: halve on overflow, double after [`GROWTH_INTERVAL`] clean steps.
    pub fn update(&mut self, overflow: bool) {
        if !self.dynamic {
            return;
        }
        if overflow {
            self.scale *= 0.5;
            self.good_steps = 0;
        } else {
            self.good_steps += 1;
            if self.good_steps == GROWTH_INTERVAL {
                self.scale *= 2.0;
                self.good_steps = 0;
            }
        }
    }
}

/// What an optimizer step needs from the trainer: the learning rate and the loss scale to take
/// out of the gradients; it records whether a network skipped its step.
#[derive(Debug)]
pub struct Update {
    /// The learning rate of this iteration.
    pub lr: f64,
    scale: f64,
    check: bool,
    overflow: Cell<bool>,
}

impl Update {
    /// A step at `lr` whose loss was multiplied by `scale`.
    pub fn new(lr: f64, scale: &LossScale) -> Self {
        Self { lr, scale: scale.scale, check: scale.dynamic, overflow: Cell::new(false) }
    }

    /// Whether some network's gradients were not finite (its step was skipped).
    pub fn overflowed(&self) -> bool {
        self.overflow.get()
    }

    /// Divides `module`'s gradients by the loss scale. Returns them, or `None` (and records
    /// the overflow) when one is not finite, in which case the network must not step.
    pub fn unscale<M: Module>(&self, module: &M, mut grads: GradientsParams) -> Option<GradientsParams> {
        if !self.check {
            return Some(grads);
        }
        let mut visitor = Unscale { grads: &mut grads, factor: 1.0 / self.scale, total: None };
        module.visit(&mut visitor);
        // One read-back for the whole network: a sum is finite only if every term is.
        let finite = visitor.total.is_none_or(|t| t.into_scalar::<f32>().is_finite());
        if !finite {
            self.overflow.set(true);
            return None;
        }
        Some(grads)
    }
}

/// Multiplies every gradient by `factor`, summing the absolute values of all of them.
struct Unscale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for Unscale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.remove::<D>(param.id) else { return };
        let grad = grad.mul_scalar(self.factor);
        let sum = grad.clone().abs().sum();
        self.total = Some(match self.total.take() {
            Some(t) => t + sum,
            None => sum,
        });
        self.grads.register::<D>(param.id, grad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[test]
    fn the_scale_backs_off_and_grows_as_pytorchs() {
        let mut s = LossScale::for_precision(Precision::F16);
        assert_eq!(s.scale, 65536.0);
        s.update(true);
        assert_eq!((s.scale, s.good_steps), (32768.0, 0));
        for _ in 0..GROWTH_INTERVAL - 1 {
            s.update(false);
        }
        assert_eq!((s.scale, s.good_steps), (32768.0, GROWTH_INTERVAL - 1));
        s.update(false);
        assert_eq!((s.scale, s.good_steps), (65536.0, 0));
        let mut off = LossScale::for_precision(Precision::Bf16);
        off.update(true);
        assert!(!off.dynamic && off.scale == 1.0);
    }

    fn grads_of(net: &Linear, input: [[f32; 2]; 1], scale: f64) -> GradientsParams {
        let device = net.weight.device();
        let x = Tensor::<2>::from_floats(input, &device);
        let loss = net.forward(x).sum().mul_scalar(scale);
        GradientsParams::from_grads(loss.backward(), net)
    }

    #[test]
    fn unscaling_gives_the_unscaled_gradients_and_flags_overflow() {
        let device = Device::flex().autodiff();
        let net: Linear = LinearConfig::new(2, 1).init(&device);
        let plain = grads_of(&net, [[1.5, -2.0]], 1.0);
        let update = Update::new(0.1, &LossScale { scale: 1024.0, good_steps: 0, dynamic: true });
        let unscaled = update.unscale(&net, grads_of(&net, [[1.5, -2.0]], 1024.0)).expect("finite");
        assert!(!update.overflowed());
        let (a, b) = (plain.get::<2>(net.weight.id).unwrap(), unscaled.get::<2>(net.weight.id).unwrap());
        a.into_data().assert_approx_eq::<f32>(&b.into_data(), burn::tensor::Tolerance::absolute(1e-6));

        let skipped = update.unscale(&net, grads_of(&net, [[f32::INFINITY, 1.0]], 1024.0));
        assert!(skipped.is_none() && update.overflowed());
    }
}
