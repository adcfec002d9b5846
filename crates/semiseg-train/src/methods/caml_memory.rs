//! CAML's memory of labeled voxel features (methods.md §3.2 step 1–2): one slot per labeled case,
//! overwritten each time the case is seen, holding features of voxels that both models
//! predicted correctly, with their class. Drawing from it pools every slot and takes
//! `per_class` rows of each class at random without replacement (a class with fewer rows is left
//! out), background rows first.
//!
//! With `method.memory_store = "per_case"` each slot keeps at most `per_class` rows per class,
//! drawn uniformly among the case's correct voxels, so every case weighs the same in a draw;
//! `"all"` keeps every one of them as the reference does (up to a million per case), so a draw
//! is uniform over all stored voxels. Rows are computed only for the kept voxels: the
//! projection heads run in evaluation mode, where each row is independent of the others.

use rand::seq::index::sample;
use semiseg_nn::draws::{indices, Purpose};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Feature rows of one class in one case.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Rows {
    /// Row-major `[n, width]`.
    pub values: Vec<f32>,
    /// n.
    pub count: usize,
}

/// The memory: case index → class → rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MemoryBank {
    /// Feature width.
    pub width: usize,
    /// Slots by labeled-case index.
    pub slots: BTreeMap<usize, Vec<Rows>>,
}

impl MemoryBank {
    /// An empty memory of rows `width` wide.
    pub fn new(width: usize) -> Self {
        Self { width, slots: BTreeMap::new() }
    }

    /// Replaces the slot of `case` with its rows per class.
    pub fn store(&mut self, case: usize, per_class: Vec<Rows>) {
        self.slots.insert(case, per_class);
    }

    /// `per_class` rows of each class drawn without replacement from all slots, and the class of
    /// each; classes with fewer rows are skipped. Empty when nothing qualifies.
    pub fn draw(&self, classes: usize, per_class: usize, rng: &mut impl Rng) -> (Vec<f32>, Vec<usize>) {
        let (mut values, mut labels) = (Vec::new(), Vec::new());
        for c in 0..classes {
            let pool: Vec<&[f32]> = self
                .slots
                .values()
                .filter_map(|s| s.get(c))
                .flat_map(|r| r.values.chunks(self.width).take(r.count))
                .collect();
            if pool.len() < per_class || per_class == 0 {
                continue;
            }
            // replayable, so that a whole-step test can take the reference's rows
            for i in indices(Purpose::Sampling, per_class, || sample(rng, pool.len(), per_class).into_vec()) {
                values.extend_from_slice(pool[i]);
                labels.push(c);
            }
        }
        (values, labels)
    }

    /// Serialised for a checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("memory serialises")
    }

    /// Read back from [`MemoryBank::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("memory: {e}"))
    }
}

/// Up to `keep` of `candidates`, drawn uniformly without replacement (all when fewer), in
/// increasing order.
pub fn subsample(candidates: &[usize], keep: usize, rng: &mut impl Rng) -> Vec<usize> {
    if candidates.len() <= keep {
        return candidates.to_vec();
    }
    let drawn = indices(Purpose::Sampling, keep, || sample(rng, candidates.len(), keep).into_vec());
    let mut picked: Vec<usize> = drawn.into_iter().map(|i| candidates[i]).collect();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn rows(value: f32, count: usize) -> Rows {
        Rows { values: vec![value; count * 2], count }
    }

    #[test]
    fn draws_per_class_from_every_slot_and_skips_short_classes() {
        let mut bank = MemoryBank::new(2);
        bank.store(0, vec![rows(0.0, 3), rows(1.0, 1)]);
        bank.store(5, vec![rows(0.5, 2), rows(1.5, 1)]);
        let mut rng = StdRng::seed_from_u64(1);
        let (values, labels) = bank.draw(2, 4, &mut rng);
        assert_eq!(labels, vec![0; 4], "class 1 has 2 rows < 4: skipped");
        assert!(values.iter().all(|&v| v == 0.0 || v == 0.5));
        let (_, labels) = bank.draw(2, 2, &mut rng);
        assert_eq!(labels, vec![0, 0, 1, 1], "background rows first");
        // a slot is overwritten, not appended to
        bank.store(0, vec![rows(9.0, 1), rows(1.0, 0)]);
        let (values, _) = bank.draw(2, 3, &mut rng);
        assert!(values.contains(&9.0) && !values.contains(&0.0));
        assert_eq!(MemoryBank::from_bytes(&bank.to_bytes()).unwrap(), bank);
    }

    #[test]
    fn subsample_keeps_at_most_the_asked_number_in_order() {
        let mut rng = StdRng::seed_from_u64(2);
        let c: Vec<usize> = (0..100).map(|i| i * 3).collect();
        let s = subsample(&c, 10, &mut rng);
        assert_eq!(s.len(), 10);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && s.iter().all(|v| v % 3 == 0));
        assert_eq!(subsample(&c[..4], 10, &mut rng), c[..4].to_vec());
    }
}
