//! Shared by the resume tests: stopping a training at a given iteration, and its logged losses
//! without the timings (which differ between runs).

use semiseg_train::trainer::{Observer, RunDir};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The device RNG is global to the process: trainings in parallel tests would draw from each
/// other's streams, so they take turns.
pub static ONE_TRAINING_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Asks the trainer to stop once iteration `.0` is done.
pub struct StopAt(pub usize, pub Arc<AtomicBool>);

impl Observer for StopAt {
    fn step(&mut self, t: usize, _: usize, _: f64, _: f64) {
        if t == self.0 {
            self.1.store(true, Ordering::SeqCst);
        }
    }
}

/// Every line of the run's `train.jsonl` without its timings.
pub fn losses(run: &RunDir) -> Vec<String> {
    std::fs::read_to_string(run.log())
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v.as_object_mut().unwrap().remove("it_s");
            v.to_string()
        })
        .collect()
}
