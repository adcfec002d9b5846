//! Classes named by case-id prefixes (BUSI's `benign_*`, `malignant_*`, `normal_*`), and the
//! warnings for a labeled set drawn from one of them: a folder whose ids sort by class, drawn
//! in list order, labels one class only.

use crate::split::class_prefix;

/// The most id-prefix classes a split is taken to have; more distinct prefixes are per-patient
/// or hashed ids (ACDC's `patient001_frame01_slice`, Kvasir's), not classes.
const MAX_CLASSES: usize = 16;

/// The id-prefix classes of `ids` with their counts, in order of first appearance, when there
/// are 2 to 16 of them and each names at least two ids; `None` otherwise.
pub fn id_classes<S: AsRef<str>>(ids: &[S]) -> Option<Vec<(String, usize)>> {
    let mut classes: Vec<(String, usize)> = Vec::new();
    for id in ids {
        let prefix = class_prefix(id.as_ref());
        match classes.iter().position(|(c, _)| c == prefix) {
            Some(i) => classes[i].1 += 1,
            None if classes.len() == MAX_CLASSES => return None,
            None => classes.push((prefix.to_string(), 1)),
        }
    }
    (classes.len() >= 2 && classes.iter().all(|(_, n)| *n >= 2)).then_some(classes)
}

fn describe(classes: &[(String, usize)]) -> String {
    classes.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", ")
}

/// A warning when the `labeled` ids (at least as many as there are classes) all fall in one
/// id-prefix class of several among the `train` ids.
pub fn one_class_labeled<S: AsRef<str>, T: AsRef<str>>(train: &[S], labeled: &[T]) -> Option<String> {
    let classes = id_classes(train)?;
    let first = class_prefix(labeled.first()?.as_ref());
    if labeled.len() < classes.len() || labeled.iter().any(|id| class_prefix(id.as_ref()) != first) {
        return None;
    }
    Some(format!(
        "all {} labeled cases are '{first}' while the training split has {} classes by id prefix ({}): draw them with data.labeled_draw = \"shuffled\" or \"stratified_class\"",
        labeled.len(),
        classes.len(),
        describe(&classes)
    ))
}

/// A warning when split `name` lists its ids class by class (each id-prefix class in one
/// block), so a labeled draw in list order (`first`) takes the first class only.
pub fn listed_by_class<S: AsRef<str>>(name: &str, ids: &[S]) -> Option<String> {
    let classes = id_classes(ids)?;
    let blocks = 1 + ids.windows(2).filter(|w| class_prefix(w[0].as_ref()) != class_prefix(w[1].as_ref())).count();
    (blocks == classes.len()).then(|| {
        format!(
            "split '{name}' lists its cases class by class ({}): a labeled set drawn in list order (data.labeled_draw = \"first\") would hold the first class only; use \"shuffled\" or \"stratified_class\"",
            describe(&classes)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busi() -> Vec<String> {
        let class = |name: &'static str, n: usize| (0..n).map(move |i| format!("{name}_{i:03}"));
        class("benign", 12).chain(class("malignant", 6)).chain(class("normal", 4)).collect()
    }

    #[test]
    fn prefixes_are_classes_only_when_few_and_shared() {
        assert_eq!(id_classes(&busi()), Some(vec![("benign".into(), 12), ("malignant".into(), 6), ("normal".into(), 4)]));
        // hashed ids: every id its own prefix
        let hashed: Vec<String> = (0..40).map(|i| format!("cju{i}x")).collect();
        assert_eq!(id_classes(&hashed), None);
        // one class only
        assert_eq!(id_classes(&["case_1", "case_2"]), None);
    }

    #[test]
    fn one_class_labeled_set_is_named() {
        let train = busi();
        let warning = one_class_labeled(&train, &train[..8]).expect("eight benign of three classes");
        assert!(warning.contains("all 8 labeled cases are 'benign'") && warning.contains("malignant 6"), "{warning}");
        assert_eq!(one_class_labeled(&train, &[&train[0], &train[12], &train[18]]), None, "a mixed draw");
        assert_eq!(one_class_labeled(&train, &train[..2]), None, "fewer labeled cases than classes");
    }

    #[test]
    fn a_list_in_class_blocks_is_flagged() {
        let mut ids = busi();
        assert!(listed_by_class("train", &ids).is_some_and(|w| w.contains("split 'train'")));
        ids.swap(0, 20);
        assert_eq!(listed_by_class("train", &ids), None);
    }
}
