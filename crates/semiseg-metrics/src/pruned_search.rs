//! Squared distances at a few query voxels by a search that stops at the best distance found.
//!
//! Surface distances need the distance transform only at surface voxels, and between a
//! prediction and its ground truth those distances are mostly a few voxels. After the first
//! axis (whose counts every plane needs), the value at a query `(i, j, k)` is
//! `min over (j', k') of w1·(j − j')² + (w2·(k − k')² + d0[i, j', k'])`; rows `j'` are visited
//! outwards from `j` and positions `k'` outwards from `k`, and each walk stops once its own
//! term alone exceeds the best sum so far (`d0 ≥ 0`, so nothing further out can win). The cost
//! per query is about the area of a disc of the answer's radius, so a prediction far from its
//! ground truth could cost more than the full transform: the search gives up past a work budget
//! and the caller runs the passes instead. The sums are formed as the passes form them, so both
//! ways give the same bits.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

/// Queries handled per parallel task (and between two looks at the shared budget).
const QUERIES_PER_TASK: usize = 512;

/// Planes of `d0` (first-axis squared distances, row-major `[n0, n1, n2]`) and the axis weights.
pub(crate) struct Planes<'a> {
    pub d0: &'a [f64],
    pub n1: usize,
    pub n2: usize,
    /// Squared spacing along axes 1 and 2.
    pub w1: f64,
    pub w2: f64,
}

/// Squared distances at the row-major voxel indices `queries`, or `None` when the search needs
/// more than `budget` candidate visits in all.
pub(crate) fn squared_distances_at(planes: &Planes, queries: &[usize], budget: usize) -> Option<Vec<f64>> {
    let spent = AtomicUsize::new(0);
    let over = AtomicBool::new(false);
    let parts: Vec<Option<Vec<f64>>> = queries
        .par_chunks(QUERIES_PER_TASK)
        .map(|task| {
            if over.load(Ordering::Relaxed) {
                return None;
            }
            let mut visits = 0usize;
            let out = task.iter().map(|&at| planes.at(at, &mut visits)).collect();
            if spent.fetch_add(visits, Ordering::Relaxed) + visits > budget {
                over.store(true, Ordering::Relaxed);
                return None;
            }
            Some(out)
        })
        .collect();
    if over.load(Ordering::Relaxed) {
        return None;
    }
    parts.into_iter().collect::<Option<Vec<_>>>().map(|p| p.concat())
}

impl Planes<'_> {
    /// The squared distance at one voxel, adding the candidates it looked at to `visits`.
    fn at(&self, at: usize, visits: &mut usize) -> f64 {
        let plane = self.n1 * self.n2;
        let slab = &self.d0[at / plane * plane..][..plane];
        let (j, k) = (at % plane / self.n2, at % self.n2);
        let mut best = f64::INFINITY;
        let reach = j.max(self.n1 - 1 - j);
        for step in 0..=reach {
            let d = step as f64;
            let across = self.w1 * d * d;
            if across > best {
                break;
            }
            let rows = [j.checked_sub(step), (step > 0 && j + step < self.n1).then_some(j + step)];
            for row in rows.into_iter().flatten() {
                let line = &slab[row * self.n2..][..self.n2];
                let along = lowest_along(line, k, self.w2, best - across, visits);
                best = best.min(across + along);
            }
        }
        best
    }
}

/// `min over p of weight·(q − p)² + line[p]`, searching outwards from `q` and stopping once
/// `weight·(q − p)²` alone exceeds `limit` (∞ when nothing below it was found).
fn lowest_along(line: &[f64], q: usize, weight: f64, limit: f64, visits: &mut usize) -> f64 {
    let mut lowest = f64::INFINITY;
    let reach = q.max(line.len() - 1 - q);
    for step in 0..=reach {
        let d = step as f64;
        let w = weight * d * d;
        if w > limit || w > lowest {
            break;
        }
        *visits += 1;
        if let Some(p) = q.checked_sub(step) {
            lowest = lowest.min(w + line[p]);
        }
        if step > 0 && q + step < line.len() {
            lowest = lowest.min(w + line[q + step]);
        }
    }
    lowest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: every candidate of the plane.
    fn brute(planes: &Planes, at: usize) -> f64 {
        let plane = planes.n1 * planes.n2;
        let slab = &planes.d0[at / plane * plane..][..plane];
        let (j, k) = (at % plane / planes.n2, at % planes.n2);
        let mut best = f64::INFINITY;
        for (p, &v) in slab.iter().enumerate() {
            let (dj, dk) = ((p / planes.n2) as f64 - j as f64, (p % planes.n2) as f64 - k as f64);
            best = best.min(planes.w1 * dj * dj + (planes.w2 * dk * dk + v));
        }
        best
    }

    #[test]
    fn matches_every_candidate_and_gives_up_past_its_budget() {
        let (n0, n1, n2) = (3, 11, 13);
        let mut seed = 7u64;
        let d0: Vec<f64> = (0..n0 * n1 * n2)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let r = (seed >> 40) % 40;
                if r < 30 { f64::INFINITY } else { ((r - 30) * (r - 30)) as f64 * 1.7 }
            })
            .collect();
        let planes = Planes { d0: &d0, n1, n2, w1: 0.49, w2: 2.25 };
        let queries: Vec<usize> = (0..d0.len()).step_by(3).collect();
        let got = squared_distances_at(&planes, &queries, usize::MAX).expect("no budget");
        for (&q, g) in queries.iter().zip(&got) {
            assert_eq!(*g, brute(&planes, q), "query {q}");
        }
        assert!(squared_distances_at(&planes, &queries, 10).is_none());
    }

    #[test]
    fn a_plane_without_features_stays_infinite() {
        let d0 = vec![f64::INFINITY; 2 * 5 * 4];
        let planes = Planes { d0: &d0, n1: 5, n2: 4, w1: 1.0, w2: 1.0 };
        assert_eq!(squared_distances_at(&planes, &[0, 19, 39], usize::MAX), Some(vec![f64::INFINITY; 3]));
    }
}
