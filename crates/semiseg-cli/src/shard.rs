//! `--shard i/n`: one part of a deterministic partition of the inputs, so that the tasks of a
//! Slurm or Kubernetes array job can each segment their share of a cohort.
//!
//! Part `i` (0-based, as `SLURM_ARRAY_TASK_ID` with `--array=0-(n-1)` and a Kubernetes indexed
//! Job's `JOB_COMPLETION_INDEX`) takes the inputs at positions `i, i + n, i + 2n, …` of the
//! name-sorted list, as nnU-Net's `-part_id i -num_parts n`: every input falls in exactly one
//! part, and the parts differ in size by at most one.

use anyhow::{bail, Context, Result};
use std::str::FromStr;

/// Part `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, `0..count`.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let (i, n) = s.split_once('/').with_context(|| format!("--shard {s:?}: expected i/n, e.g. 0/4"))?;
        let index: usize = i.trim().parse().with_context(|| format!("--shard {s:?}: part {i:?} is not a number"))?;
        let count: usize = n.trim().parse().with_context(|| format!("--shard {s:?}: count {n:?} is not a number"))?;
        if count == 0 || index >= count {
            bail!("--shard {s:?}: the part must be 0 to {} (parts count from 0)", count.saturating_sub(1));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// This part's items, in their order.
    pub fn select<T>(&self, items: Vec<T>) -> Vec<T> {
        items.into_iter().enumerate().filter(|(k, _)| k % self.count == self.index).map(|(_, x)| x).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_every_item_once_and_balance() {
        let items: Vec<usize> = (0..11).collect();
        let parts: Vec<Vec<usize>> = (0..3).map(|i| Shard { index: i, count: 3 }.select(items.clone())).collect();
        assert_eq!(parts[0], [0, 3, 6, 9]);
        let mut all: Vec<usize> = parts.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, items);
        assert!(parts.iter().all(|p| p.len() == 3 || p.len() == 4));
    }

    #[test]
    fn parses_and_refuses_with_the_reason() {
        assert_eq!("2/5".parse::<Shard>().unwrap(), Shard { index: 2, count: 5 });
        for (bad, why) in [("5/5", "0 to 4"), ("1/0", "0 to 0"), ("3", "expected i/n"), ("a/2", "not a number"), ("1/x", "not a number")] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
