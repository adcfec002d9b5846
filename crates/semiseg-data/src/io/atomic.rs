//! Atomic file writes: write a temporary sibling, then rename it over the target.

use crate::error::DataError;
use std::path::{Path, PathBuf};

/// A hidden temporary path next to `path` with the same format extension and no other dot
/// (some writers re-derive the extension from the name, and `a.b.nii` would confuse them).
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out").to_ascii_lowercase();
    let ext = if name.ends_with(".nii.gz") { "nii.gz" } else { name.rsplit_once('.').map_or("tmp", |(_, e)| e) };
    path.with_file_name(format!(".tmp-{}-{}.{ext}", std::process::id(), unique()))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Runs `write` on a temporary path, then renames the result to `path`. The temporary file is
/// removed if writing fails.
pub fn write_atomically<F>(path: &Path, write: F) -> Result<(), DataError>
where
    F: FnOnce(&Path) -> Result<(), DataError>,
{
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }
    let tmp = temp_sibling(path);
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DataError::io(path, e)
    })
}

/// Writes bytes atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    write_atomically(path, |tmp| std::fs::write(tmp, bytes).map_err(|e| DataError::io(tmp, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.png");
        let r = write_atomically(&target, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(DataError::invalid(tmp, "boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn temp_keeps_extension() {
        let t = temp_sibling(Path::new("/x/case.v2.nii.gz"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".tmp-") && name.ends_with(".nii.gz") && name.matches('.').count() == 3, "{name}");
        assert!(temp_sibling(Path::new("a.v1.nii")).to_str().unwrap().ends_with(".nii"));
    }
}
