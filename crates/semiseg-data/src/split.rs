//! Labeled / unlabeled partition of a training split, and seeded random splits.
//!
//! The papers take the **first N** entries of the training list as labeled (UA-MT, SSL4MIS,
//! CAML, FBA-Net); for ACDC N counts **patients**, so "3 labeled" means every slice of the first
//! three patients (SSL4MIS's `patients_to_slices` gives 68 slices). A seeded random draw is the
//! alternative; the seed is part of the selection so runs record it.

use crate::layout::Case;
use std::collections::BTreeMap;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// How the labeled subset is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LabeledSelection {
    /// The first `n` cases in list order.
    FirstCases {
        /// Number of labeled cases.
        n: usize,
    },
    /// Every case of the first `n` patients in list order.
    FirstPatients {
        /// Number of labeled patients.
        n: usize,
    },
    /// `n` patients drawn at random with `seed`.
    RandomPatients {
        /// Number of labeled patients.
        n: usize,
        /// Seed of the draw.
        seed: u64,
    },
}

/// The training cases split into labeled and unlabeled ones.
#[derive(Debug, Clone)]
pub struct LabeledSplit {
    /// Cases whose labels are used.
    pub labeled: Vec<Case>,
    /// Cases used without labels.
    pub unlabeled: Vec<Case>,
}

/// Patients in order of first appearance.
fn patients(cases: &[Case]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in cases {
        if out.last() != Some(&c.patient) && !out.contains(&c.patient) {
            out.push(c.patient.clone());
        }
    }
    out
}

/// Splits `cases` into labeled and unlabeled; a case without a label file is always unlabeled.
pub fn select_labeled(cases: &[Case], selection: LabeledSelection) -> LabeledSplit {
    let chosen: Vec<String> = match selection {
        LabeledSelection::FirstCases { n } => {
            let ids: Vec<&str> = cases.iter().filter(|c| c.label.is_some()).take(n).map(|c| c.id.as_str()).collect();
            let (labeled, unlabeled) = cases.iter().cloned().partition(|c| ids.contains(&c.id.as_str()));
            return LabeledSplit { labeled, unlabeled };
        }
        LabeledSelection::FirstPatients { n } => patients(cases).into_iter().take(n).collect(),
        LabeledSelection::RandomPatients { n, seed } => {
            let mut p = patients(cases);
            p.shuffle(&mut StdRng::seed_from_u64(seed));
            p.into_iter().take(n).collect()
        }
    };
    let (labeled, unlabeled) = cases.iter().cloned().partition(|c| c.label.is_some() && chosen.contains(&c.patient));
    LabeledSplit { labeled, unlabeled }
}

/// Partitions `cases` at random (seeded) into parts of the given fractions (the last part takes
/// the remainder), e.g. `[0.7, 0.3]` for MGCC's train/test split of BUSI. Patients are never split
/// across parts.
pub fn random_partition(cases: &[Case], fractions: &[f64], seed: u64) -> Vec<Vec<Case>> {
    let mut p = patients(cases);
    p.shuffle(&mut StdRng::seed_from_u64(seed));
    let total = p.len();
    let mut bounds = Vec::new();
    let mut acc = 0.0;
    for f in &fractions[..fractions.len().saturating_sub(1)] {
        acc += f;
        bounds.push(((acc * total as f64).round() as usize).min(total));
    }
    bounds.push(total);
    let mut start = 0;
    bounds
        .into_iter()
        .map(|end| {
            let part: Vec<&String> = p[start..end].iter().collect();
            start = end;
            cases.iter().filter(|c| part.contains(&&c.patient)).cloned().collect()
        })
        .collect()
}

/// New `train` / `val` / `test` splits (or `train` / `test` for two fractions) drawn from every
/// case of `splits` at random (seeded; patients kept together). A case listed in several splits
/// counts once; cases are taken in id order, so the draw does not depend on how the lists were
/// arranged.
pub fn redraw_splits(splits: &BTreeMap<String, Vec<Case>>, fractions: &[f64], seed: u64) -> BTreeMap<String, Vec<Case>> {
    let all: BTreeMap<&str, &Case> = splits.values().flatten().map(|c| (c.id.as_str(), c)).collect();
    let cases: Vec<Case> = all.into_values().cloned().collect();
    let names: &[&str] = if fractions.len() == 2 { &["train", "test"] } else { &["train", "val", "test"] };
    names.iter().map(|n| n.to_string()).zip(random_partition(&cases, fractions, seed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn case(id: &str, labeled: bool) -> Case {
        Case::new(id, PathBuf::from(format!("{id}.h5")), labeled.then(|| PathBuf::from(format!("{id}.h5"))))
    }

    #[test]
    fn first_patients_takes_all_their_slices() {
        let cases: Vec<_> = ["patient001_frame01_slice_1", "patient001_frame01_slice_2", "patient001_frame12_slice_1", "patient002_frame01_slice_1", "patient003_frame01_slice_1"]
            .iter()
            .map(|id| case(id, true))
            .collect();
        let s = select_labeled(&cases, LabeledSelection::FirstPatients { n: 2 });
        assert_eq!(s.labeled.len(), 4);
        assert_eq!(s.unlabeled.len(), 1);
        assert_eq!(s.unlabeled[0].patient, "patient003");
    }

    #[test]
    fn first_cases_skips_cases_without_labels() {
        let cases = vec![case("a", false), case("b", true), case("c", true), case("d", true)];
        let s = select_labeled(&cases, LabeledSelection::FirstCases { n: 2 });
        assert_eq!(s.labeled.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(s.unlabeled.len(), 2);
    }

    #[test]
    fn random_is_reproducible_and_partition_is_complete() {
        let cases: Vec<_> = (0..20).map(|i| case(&format!("c{i:02}"), true)).collect();
        let a = select_labeled(&cases, LabeledSelection::RandomPatients { n: 5, seed: 7 });
        let b = select_labeled(&cases, LabeledSelection::RandomPatients { n: 5, seed: 7 });
        assert_eq!(a.labeled, b.labeled);
        let parts = random_partition(&cases, &[0.7, 0.3], 41);
        assert_eq!(parts[0].len(), 14);
        assert_eq!(parts[1].len(), 6);
        assert!(parts[0].iter().all(|c| !parts[1].contains(c)));
        let listed = BTreeMap::from([("all".to_string(), cases.clone()), ("extra".to_string(), cases[..3].to_vec())]);
        let redrawn = redraw_splits(&listed, &[0.8, 0.1, 0.1], 42);
        assert_eq!(redrawn.values().map(Vec::len).collect::<Vec<_>>(), [2, 16, 2]); // test, train, val: BTreeMap order
        assert_eq!(redrawn["train"].len(), 16);
    }
}
