//! Every random draw a training step makes (dropout masks, input and feature noise, sampled
//! voxels) goes through [`draw`], named by what it is for. Normally it is `Tensor::random`; a
//! test can instead [`replay`] the draws a PyTorch script made, so that one whole training step
//! here and in the reference code sees the same masks and noise (whole-step tests,
//! `semiseg-train/tests/steps_vs_pytorch.rs`).
//!
//! Draws are queued per purpose: within one purpose they are taken in the order the step makes
//! them, so two implementations that, say, draw the teacher's noise before or after the
//! student's forward pass still agree.

use crate::import::Array;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

/// What a draw is for; each has its own replay queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    /// Keep masks (0 / 1) of the networks' own dropout layers (`nn.Dropout`, `nn.Dropout3d`).
    Dropout,
    /// The teacher's input noise of mean teacher and UA-MT, before scaling and clipping (N(0, 1)).
    TeacherNoise,
    /// CCT / MGCC feature noise, `U(−0.3, 0.3)`.
    FeatureNoise,
    /// Keep masks of the auxiliary decoders' always-on dropout.
    AuxDropout,
    /// The threshold factor `u ~ U(0.7, 0.9)` of feature dropout.
    FeatureDropout,
    /// Random indices or scores used to subsample voxels.
    Sampling,
}

impl Purpose {
    /// The name a fixture uses for this purpose.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dropout => "dropout",
            Self::TeacherNoise => "teacher_noise",
            Self::FeatureNoise => "feature_noise",
            Self::AuxDropout => "aux_dropout",
            Self::FeatureDropout => "feature_dropout",
            Self::Sampling => "sampling",
        }
    }

    /// The purpose named `name` (see [`Purpose::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Dropout, Self::TeacherNoise, Self::FeatureNoise, Self::AuxDropout, Self::FeatureDropout, Self::Sampling]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

thread_local! {
    static REPLAY: RefCell<Option<BTreeMap<Purpose, VecDeque<Array>>>> = const { RefCell::new(None) };
}

/// The next replayed draw of `purpose`, while a [`Replay`] is active on this thread.
///
/// # Panics
/// While replaying, when the queue of `purpose` is empty or its next draw has another shape:
/// the step under test drew differently from the reference.
fn replayed(purpose: Purpose, shape: &[usize]) -> Option<Array> {
    REPLAY.with(|r| {
        let mut r = r.borrow_mut();
        let queues = r.as_mut()?;
        let next = queues.get_mut(&purpose).and_then(VecDeque::pop_front);
        let a = next.unwrap_or_else(|| panic!("replay: no {} draw left for shape {shape:?}", purpose.name()));
        assert_eq!(a.shape, shape, "replay: the next {} draw has another shape", purpose.name());
        Some(a)
    })
}

/// A random tensor for `purpose`: the next replayed one while a [`Replay`] is active on this
/// thread, else drawn from `distribution`.
pub fn draw<const D: usize>(purpose: Purpose, shape: [usize; D], distribution: Distribution, device: &Device) -> Tensor<D> {
    match replayed(purpose, &shape) {
        Some(a) => Tensor::from_data(TensorData::new(a.values, shape), device),
        None => Tensor::random(shape, distribution, device),
    }
}

/// `k` indices drawn for `purpose` (e.g. rows sampled without replacement): the next replayed
/// draw, its values read as indices, while a [`Replay`] is active on this thread, else `fresh()`.
pub fn indices(purpose: Purpose, k: usize, fresh: impl FnOnce() -> Vec<usize>) -> Vec<usize> {
    match replayed(purpose, &[k]) {
        Some(a) => a.values.iter().map(|&v| v as usize).collect(),
        None => fresh(),
    }
}

/// Replays recorded draws on this thread until dropped.
pub struct Replay(());

/// Starts replaying `draws` (purpose and array, in the order they were made).
pub fn replay(draws: Vec<(Purpose, Array)>) -> Replay {
    let mut queues: BTreeMap<Purpose, VecDeque<Array>> = BTreeMap::new();
    for (p, a) in draws {
        queues.entry(p).or_default().push_back(a);
    }
    REPLAY.with(|r| *r.borrow_mut() = Some(queues));
    Replay(())
}

impl Replay {
    /// How many recorded draws were not taken, per purpose (all zero when the step drew
    /// exactly what the reference drew).
    pub fn left(&self) -> Vec<(&'static str, usize)> {
        REPLAY.with(|r| r.borrow().as_ref().map(|q| q.iter().filter(|(_, v)| !v.is_empty()).map(|(p, v)| (p.name(), v.len())).collect()).unwrap_or_default())
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        REPLAY.with(|r| *r.borrow_mut() = None);
    }
}

/// Inverted dropout with probability `p` on a device with autodiff (training), the identity
/// elsewhere or when `p` is 0, as PyTorch's `nn.Dropout` in `train()` / `eval()` mode.
pub fn dropout<const D: usize>(x: Tensor<D>, p: f64) -> Tensor<D> {
    if !x.device().is_autodiff() || p == 0.0 {
        return x;
    }
    let keep = draw(Purpose::Dropout, x.dims(), Distribution::Bernoulli(1.0 - p), &x.device());
    x * (keep / (1.0 - p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replayed_draws_come_back_per_purpose_in_order() {
        let device = Device::flex();
        let a = |v: f32| Array { shape: vec![2], values: vec![v, v] };
        let r = replay(vec![(Purpose::Dropout, a(1.0)), (Purpose::TeacherNoise, a(7.0)), (Purpose::Dropout, a(0.0))]);
        let take = |p| draw::<1>(p, [2], Distribution::Default, &device).into_data().iter::<f32>().collect::<Vec<f32>>();
        assert_eq!(take(Purpose::TeacherNoise), vec![7.0, 7.0]);
        assert_eq!(take(Purpose::Dropout), vec![1.0, 1.0]);
        assert_eq!(r.left(), vec![("dropout", 1)]);
        assert_eq!(take(Purpose::Dropout), vec![0.0, 0.0]);
        assert!(r.left().is_empty());
        drop(r);
        let fresh = take(Purpose::Dropout);
        assert!(fresh.iter().all(|v| (0.0..1.0).contains(v)), "drawn again after the replay ends: {fresh:?}");
    }

    #[test]
    fn replayed_indices_are_read_from_their_values() {
        let r = replay(vec![(Purpose::Sampling, Array { shape: vec![3], values: vec![4.0, 0.0, 17.0] })]);
        assert_eq!(indices(Purpose::Sampling, 3, || unreachable!("replayed")), vec![4, 0, 17]);
        drop(r);
        assert_eq!(indices(Purpose::Sampling, 2, || vec![1, 2]), vec![1, 2]);
    }

    #[test]
    fn dropout_scales_kept_values_and_is_off_without_autodiff() {
        let plain = Tensor::<2>::ones([3, 4], &Device::flex());
        assert_eq!(dropout(plain.clone(), 0.5).into_data(), plain.into_data());
        let device = Device::flex().autodiff();
        let _r = replay(vec![(Purpose::Dropout, Array { shape: vec![1, 4], values: vec![1.0, 0.0, 1.0, 0.0] })]);
        let y = dropout(Tensor::<2>::ones([1, 4], &device), 0.2).into_data().iter::<f32>().collect::<Vec<f32>>();
        assert_eq!(y, vec![1.25, 0.0, 1.25, 0.0]);
    }
}
