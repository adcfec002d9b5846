//! Split list files (`train.list`, `val.list`, `test.list`, `train_slices.list`, or `.txt`):
//! one case id per line, as SSL4MIS and UA-MT ship them.

use crate::error::DataError;
use std::path::{Path, PathBuf};

/// The split names semiseg reads from list files, in the order they are looked for.
pub const SPLIT_NAMES: [&str; 4] = ["train", "val", "test", "train_slices"];

/// Reads a list file: trimmed non-empty lines (an `.h5` suffix or a UA-MT path prefix is dropped).
pub fn read_list(path: &Path) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let l = l.rsplit('/').find(|s| !s.is_empty() && *s != "mri_norm2.h5").unwrap_or(l);
            l.strip_suffix(".h5").unwrap_or(l).to_string()
        })
        .collect())
}

/// The list file of a split in `root`, if any (`<name>.list` or `<name>.txt`).
pub fn list_file(root: &Path, split: &str) -> Option<PathBuf> {
    ["list", "txt"].iter().map(|ext| root.join(format!("{split}.{ext}"))).find(|p| p.is_file())
}

/// Whether `root` has at least one split list.
pub fn has_split_lists(root: &Path) -> bool {
    SPLIT_NAMES.iter().any(|s| list_file(root, s).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_and_strips_suffixes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("train.list");
        std::fs::write(&p, "a\n\n  b.h5 \n# comment\nc/mri_norm2.h5\n").unwrap();
        assert_eq!(read_list(&p).unwrap(), vec!["a", "b", "c"]);
        assert!(has_split_lists(dir.path()));
    }
}
