//! Locating the shared datasets for real-data tests.
//!
//! The data are unpacked by `.ci/run` (or `../shared/data/unpack.sh .data`) into `.data/` at the
//! workspace root, or wherever `SEMISEG_DATA` points. Without them a test says so and returns;
//! under CI (`CI` set) missing data is a failure, never a silent pass.

use std::path::PathBuf;

/// The unpacked dataset folder, or `None` (with a notice) outside CI.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let root = std::env::var_os("SEMISEG_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.data"));
    let dir = root.join(name);
    if dir.join(".unpacked").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("dataset {name} not unpacked in {} (run ../shared/data/unpack.sh .data)", root.display());
    }
    eprintln!("SKIPPED: dataset {name} not found in {} (run ../shared/data/unpack.sh .data)", root.display());
    None
}
