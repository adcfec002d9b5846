//! The two-stream batch sampler of UA-MT / SSL4MIS (`TwoStreamBatchSampler`), as a pure
//! function of (seed, iteration) so that any batch can be rebuilt after a resume.
//!
//! Labeled indices are shuffled once per epoch and cut into chunks of `labeled_batch`
//! (incomplete chunks dropped; epoch length `n_labeled / labeled_batch`). Unlabeled indices
//! are reshuffled endlessly (`iterate_eternally`) and cut into chunks of
//! `batch − labeled_batch`, chunks running across reshuffles. A batch is the labeled chunk
//! followed by the unlabeled chunk.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Which samples make batch `t`.
#[derive(Debug, Clone)]
pub struct TwoStreamSampler {
    n_labeled: usize,
    n_unlabeled: usize,
    labeled_batch: usize,
    unlabeled_batch: usize,
    seed: u64,
}

/// A seed for stream `stream`, shuffle number `k`.
pub fn derive_seed(seed: u64, stream: u64, k: u64) -> u64 {
    // SplitMix64 of the combined key: independent streams from one seed.
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    p.shuffle(&mut StdRng::seed_from_u64(seed));
    p
}

impl TwoStreamSampler {
    /// A sampler; `None` if there are fewer labeled samples than one labeled chunk, or no
    /// unlabeled sample while the batch asks for some.
    pub fn new(n_labeled: usize, n_unlabeled: usize, labeled_batch: usize, unlabeled_batch: usize, seed: u64) -> Option<Self> {
        if labeled_batch == 0 || n_labeled < labeled_batch || (unlabeled_batch > 0 && n_unlabeled == 0) {
            return None;
        }
        Some(Self { n_labeled, n_unlabeled, labeled_batch, unlabeled_batch, seed })
    }

    /// Iterations per labeled epoch.
    pub fn epoch_len(&self) -> usize {
        self.n_labeled / self.labeled_batch
    }

    /// Indices (into the labeled and unlabeled sample lists) of batch `t`.
    pub fn batch(&self, t: usize) -> (Vec<usize>, Vec<usize>) {
        let epoch = t / self.epoch_len();
        let chunk = t % self.epoch_len();
        let perm = permutation(self.n_labeled, derive_seed(self.seed, 1, epoch as u64));
        let labeled = perm[chunk * self.labeled_batch..(chunk + 1) * self.labeled_batch].to_vec();
        let mut unlabeled = Vec::with_capacity(self.unlabeled_batch);
        let mut cached: Option<(usize, Vec<usize>)> = None;
        for i in 0..self.unlabeled_batch {
            let pos = t * self.unlabeled_batch + i;
            let (shuffle, at) = (pos / self.n_unlabeled, pos % self.n_unlabeled);
            if cached.as_ref().is_none_or(|(s, _)| *s != shuffle) {
                cached = Some((shuffle, permutation(self.n_unlabeled, derive_seed(self.seed, 2, shuffle as u64))));
            }
            unlabeled.push(cached.as_ref().expect("set").1[at]);
        }
        (labeled, unlabeled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_labeled_epoch_visits_every_full_chunk_once() {
        let s = TwoStreamSampler::new(10, 7, 3, 2, 5).unwrap();
        assert_eq!(s.epoch_len(), 3);
        let mut seen: Vec<usize> = (0..3).flat_map(|t| s.batch(t).0).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9, "9 distinct of 10: the incomplete chunk is dropped");
        // the unlabeled stream covers a full shuffle before repeating
        let mut u: Vec<usize> = (0..4).flat_map(|t| s.batch(t).1).take(7).collect();
        u.sort();
        assert_eq!(u, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn batches_are_a_function_of_seed_and_iteration() {
        let a = TwoStreamSampler::new(20, 50, 4, 4, 1337).unwrap();
        let b = TwoStreamSampler::new(20, 50, 4, 4, 1337).unwrap();
        assert_eq!(a.batch(123), b.batch(123));
        assert_ne!(a.batch(123), TwoStreamSampler::new(20, 50, 4, 4, 1).unwrap().batch(123));
        assert!(TwoStreamSampler::new(2, 5, 4, 4, 0).is_none());
    }
}
