//! One training step, as the trainer takes it and as the whole-step tests against PyTorch check
//! it: the method's named loss terms at iteration `t`, their weighted sum, the learning rate of
//! `t`, backward (through the loss scale), every network's optimizer step, then the method's
//! after-step work (EMA teachers, memories).

use crate::config::Config;
use crate::loss_scale::{LossScale, Update};
use crate::methods::{DeviceBatch, Method};
use crate::schedule::learning_rate;

/// What one step did.
#[derive(Debug, Clone)]
pub struct Step {
    /// Each term: name, unweighted value, weight.
    pub terms: Vec<(&'static str, f64, f64)>,
    /// The weighted sum (0 when every weight is 0: no optimizer step then).
    pub loss: f64,
    /// The learning rate of this iteration.
    pub lr: f64,
    /// Whether some network skipped its step (f16 gradients overflowed).
    pub skipped: bool,
}

impl Step {
    /// The terms as `{name: value, name_weight: weight}`, as the training log records them.
    pub fn terms_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (name, value, weight) in &self.terms {
            m.insert(name.to_string(), serde_json::json!(value));
            m.insert(format!("{name}_weight"), serde_json::json!(weight));
        }
        serde_json::Value::Object(m)
    }
}

/// Why a step was not taken; nothing was changed.
#[derive(Debug)]
pub enum Refused {
    /// The forward pass panicked (e.g. batch norm on one value per channel): its message.
    Forward(String),
    /// The loss is not finite; the step's terms as [`Step::terms_json`] gives them.
    NotFinite(f64, serde_json::Value),
}

/// Takes the step of iteration `t` on `batch`, updating `scale` (dynamic f16 loss scaling).
pub fn take_step<const D: usize>(method: &mut dyn Method<D>, batch: &DeviceBatch<D>, t: usize, cfg: &Config, scale: &mut LossScale) -> Result<Step, Refused> {
    let half = semiseg_nn::precision::scoped(cfg.precision());
    let terms = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| method.terms(batch, t))).map_err(|p| Refused::Forward(panic_text(p.as_ref())))?;
    drop(half);
    let loss = terms.iter().filter(|term| term.weight != 0.0).map(|term| term.value.clone() * term.weight).reduce(|a, b| a + b);
    let mut step = Step {
        terms: terms.iter().map(|term| (term.name, term.value.clone().into_scalar::<f32>() as f64, term.weight)).collect(),
        loss: loss.as_ref().map_or(0.0, |l| l.clone().into_scalar::<f32>() as f64),
        lr: learning_rate(&cfg.train, t),
        skipped: false,
    };
    // Checked before the step: a non-finite loss would poison every weight it reaches.
    if !step.loss.is_finite() {
        return Err(Refused::NotFinite(step.loss, step.terms_json()));
    }
    if let Some(l) = loss {
        let update = Update::new(step.lr, scale);
        let scaled = if scale.dynamic { l * scale.scale } else { l };
        method.apply(scaled.backward(), &update);
        step.skipped = update.overflowed();
        scale.update(step.skipped);
    }
    method.after_step(t);
    Ok(step)
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "the forward pass panicked".into())
}
