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

/// What one labeled unit is: a case, or every case of one patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabeledUnit {
    /// One case (image or volume).
    Cases,
    /// Every case of one patient (ACDC: 7 patients = their 136 slices).
    Patients,
}

/// In which order units are taken for the labeled subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LabeledDraw {
    /// The first units in list order (UA-MT, SSL4MIS, CAML, FBA-Net).
    First,
    /// A seeded shuffle of the training units, then the first ones (MGCC: sklearn's
    /// `train_test_split` hands back the training list shuffled, and its first part is labeled).
    Shuffled {
        /// Seed of the shuffle.
        seed: u64,
    },
    /// A seeded shuffle within each stratum, each stratum contributing in proportion to its size
    /// (largest remainder), so the labeled subset has the training split's mix.
    Stratified {
        /// Seed of the shuffles.
        seed: u64,
    },
}

/// How the labeled subset is chosen: `n` units drawn as `draw` says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabeledSelection {
    /// Number of labeled units.
    pub n: usize,
    /// What a unit is.
    pub unit: LabeledUnit,
    /// How units are drawn.
    pub draw: LabeledDraw,
}

impl LabeledSelection {
    /// The first `n` cases in list order.
    pub fn first_cases(n: usize) -> Self {
        Self { n, unit: LabeledUnit::Cases, draw: LabeledDraw::First }
    }

    /// Every case of the first `n` patients in list order.
    pub fn first_patients(n: usize) -> Self {
        Self { n, unit: LabeledUnit::Patients, draw: LabeledDraw::First }
    }
}

/// The training cases split into labeled and unlabeled ones.
#[derive(Debug, Clone)]
pub struct LabeledSplit {
    /// Cases whose labels are used, in the order they were drawn.
    pub labeled: Vec<Case>,
    /// Cases used without labels, in list order.
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

/// The class a case id names by its prefix: the id without its trailing number and separators
/// (`benign_014`, `benign (14)` → `benign`; an id without a number is its own class).
pub fn class_prefix(id: &str) -> &str {
    let trimmed = id.trim_end_matches(|c: char| c.is_ascii_digit() || " _-()".contains(c));
    if trimmed.is_empty() { id } else { trimmed }
}

/// Shuffles each stratum with `seed` and takes from each in proportion to its size (largest
/// remainder, ties to the larger stratum), `n` in all; strata in order of first appearance.
fn stratified_take(units: &[String], strata: &[String], n: usize, seed: u64) -> Vec<String> {
    let mut names: Vec<&String> = Vec::new();
    for s in strata {
        if !names.contains(&s) {
            names.push(s);
        }
    }
    let total = units.len().max(1);
    let members: Vec<Vec<String>> = names.iter().map(|name| units.iter().zip(strata).filter(|(_, s)| s == name).map(|(u, _)| u.clone()).collect()).collect();
    let exact: Vec<f64> = members.iter().map(|m| n as f64 * m.len() as f64 / total as f64).collect();
    let mut quota: Vec<usize> = exact.iter().map(|q| q.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..names.len()).collect();
    by_remainder.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(members[b].len().cmp(&members[a].len())));
    let mut missing = n.min(units.len()).saturating_sub(quota.iter().sum());
    for &i in by_remainder.iter().cycle().take(names.len() * 2) {
        if missing == 0 {
            break;
        }
        if quota[i] < members[i].len() {
            quota[i] += 1;
            missing -= 1;
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (mut m, q) in members.into_iter().zip(quota) {
        m.shuffle(&mut rng);
        out.extend(m.into_iter().take(q));
    }
    out
}

/// Splits `cases` into labeled and unlabeled as `selection` says; a case without a label file is
/// always unlabeled. `stratum` names the stratum of a case (used by [`LabeledDraw::Stratified`]
/// only; a patient's stratum is that of its first case).
pub fn select_labeled(cases: &[Case], selection: LabeledSelection, stratum: &dyn Fn(&Case) -> String) -> LabeledSplit {
    let candidates: Vec<&Case> = cases.iter().filter(|c| c.label.is_some()).collect();
    let key = |c: &Case| match selection.unit {
        LabeledUnit::Cases => c.id.clone(),
        LabeledUnit::Patients => c.patient.clone(),
    };
    let mut units: Vec<String> = Vec::new();
    let mut strata: Vec<String> = Vec::new();
    for c in &candidates {
        let k = key(c);
        if !units.contains(&k) {
            units.push(k);
            strata.push(stratum(c));
        }
    }
    let chosen: Vec<String> = match selection.draw {
        LabeledDraw::First => units.into_iter().take(selection.n).collect(),
        LabeledDraw::Shuffled { seed } => {
            units.shuffle(&mut StdRng::seed_from_u64(seed));
            units.into_iter().take(selection.n).collect()
        }
        LabeledDraw::Stratified { seed } => stratified_take(&units, &strata, selection.n, seed),
    };
    let labeled = chosen.iter().flat_map(|k| candidates.iter().filter(move |c| &key(c) == k).map(|c| (*c).clone())).collect();
    let unlabeled = cases.iter().filter(|c| c.label.is_none() || !chosen.contains(&key(c))).cloned().collect();
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

    fn no_strata(_: &Case) -> String {
        String::new()
    }

    #[test]
    fn class_prefix_strips_the_number() {
        assert_eq!(class_prefix("benign_014"), "benign");
        assert_eq!(class_prefix("benign (14)"), "benign");
        assert_eq!(class_prefix("normal-3"), "normal");
        assert_eq!(class_prefix("cju0qkwl35piu0993l0dewei2"), "cju0qkwl35piu0993l0dewei");
        assert_eq!(class_prefix("42"), "42");
    }

    #[test]
    fn stratified_draw_keeps_the_mix() {
        // 60 benign, 30 malignant, 10 normal in id order: the first 20 would all be benign
        let cases: Vec<_> = (0..60).map(|i| case(&format!("benign_{i:03}"), true)).chain((0..30).map(|i| case(&format!("malignant_{i:03}"), true))).chain((0..10).map(|i| case(&format!("normal_{i:03}"), true))).collect();
        let by_class = |c: &Case| class_prefix(&c.id).to_string();
        let count = |s: &LabeledSplit, class: &str| s.labeled.iter().filter(|c| class_prefix(&c.id) == class).count();
        let first = select_labeled(&cases, LabeledSelection::first_cases(20), &by_class);
        assert_eq!(count(&first, "benign"), 20);
        let strat = select_labeled(&cases, LabeledSelection { n: 20, unit: LabeledUnit::Cases, draw: LabeledDraw::Stratified { seed: 3 } }, &by_class);
        assert_eq!([count(&strat, "benign"), count(&strat, "malignant"), count(&strat, "normal")], [12, 6, 2]);
        assert_eq!(strat.unlabeled.len(), 80);
        // 7 of 10 benign + 20 malignant: 2.33 and 4.67, the larger remainder gets the extra one
        let strat7 = select_labeled(&cases[50..80], LabeledSelection { n: 7, unit: LabeledUnit::Cases, draw: LabeledDraw::Stratified { seed: 1 } }, &by_class);
        assert_eq!([count(&strat7, "benign"), count(&strat7, "malignant")], [2, 5]);
    }

    #[test]
    fn first_patients_takes_all_their_slices() {
        let cases: Vec<_> = ["patient001_frame01_slice_1", "patient001_frame01_slice_2", "patient001_frame12_slice_1", "patient002_frame01_slice_1", "patient003_frame01_slice_1"]
            .iter()
            .map(|id| case(id, true))
            .collect();
        let s = select_labeled(&cases, LabeledSelection::first_patients(2), &no_strata);
        assert_eq!(s.labeled.len(), 4);
        assert_eq!(s.unlabeled.len(), 1);
        assert_eq!(s.unlabeled[0].patient, "patient003");
    }

    #[test]
    fn first_cases_skips_cases_without_labels() {
        let cases = vec![case("a", false), case("b", true), case("c", true), case("d", true)];
        let s = select_labeled(&cases, LabeledSelection::first_cases(2), &no_strata);
        assert_eq!(s.labeled.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(s.unlabeled.len(), 2);
    }

    #[test]
    fn random_is_reproducible_and_partition_is_complete() {
        let cases: Vec<_> = (0..20).map(|i| case(&format!("c{i:02}"), true)).collect();
        let draw = LabeledSelection { n: 5, unit: LabeledUnit::Patients, draw: LabeledDraw::Shuffled { seed: 7 } };
        let a = select_labeled(&cases, draw, &no_strata);
        let b = select_labeled(&cases, draw, &no_strata);
        assert_eq!(a.labeled, b.labeled);
        assert_eq!(a.labeled.len() + a.unlabeled.len(), 20);
        assert_ne!(a.labeled, cases[..5], "a shuffled draw is not the list's head");
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
