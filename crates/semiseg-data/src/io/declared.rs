//! Sizes a file's header declares, checked before anything is allocated for them.
//!
//! A header is a promise about the bytes that follow; a corrupt or hostile one (a flipped bit in
//! an NPY shape, a NIfTI `dim`, a PNG width) would otherwise make a reader reserve gigabytes and
//! abort the process. Each reader asks [`check`] first: the declared payload must fit the bytes
//! that are there (for compressed payloads, what deflate could at most have packed into them)
//! and stay under a cap no medical image reaches.

use crate::error::DataError;
use std::path::Path;

/// The most bytes one array may declare (4 GiB: a 1024³ float32 volume).
pub const MAX_BYTES: u64 = 4 << 30;

/// Deflate expands one byte into at most 1032 (RFC 1951 runs of 258 in 2 bits); with headers,
/// nothing compressed honestly declares more than this many times its file size.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// How the declared payload is stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Raw bytes: `available` bytes follow the header.
    Raw {
        /// Bytes after the header.
        available: u64,
    },
    /// Deflate-compressed into a file of `file_bytes`.
    Deflated {
        /// Size of the whole file.
        file_bytes: u64,
    },
}

/// Refuses a declared payload of `bytes` (described as `what`, e.g. `shape [3, 4] of float32`)
/// that the file cannot hold or that exceeds [`MAX_BYTES`].
pub fn check(path: &Path, what: &str, bytes: Option<u64>, storage: Storage) -> Result<(), DataError> {
    let Some(bytes) = bytes else {
        return Err(DataError::invalid(path, format!("header declares {what}: its size overflows")));
    };
    if bytes > MAX_BYTES {
        return Err(DataError::invalid(path, format!("header declares {what} = {bytes} bytes, over the {MAX_BYTES}-byte limit of one array (corrupt header?)")));
    }
    match storage {
        Storage::Raw { available } if bytes > available => {
            Err(DataError::invalid(path, format!("header declares {what} = {bytes} bytes, but only {available} bytes of data follow it (truncated or corrupt file)")))
        }
        Storage::Deflated { file_bytes } if bytes > file_bytes.saturating_mul(MAX_DEFLATE_RATIO).max(1 << 16) => Err(DataError::invalid(
            path,
            format!("header declares {what} = {bytes} bytes, more than a {file_bytes}-byte compressed file can hold (corrupt header?)"),
        )),
        _ => Ok(()),
    }
}

/// The product of `dims` times `item_bytes`, or `None` on overflow.
pub fn payload(dims: impl IntoIterator<Item = u64>, item_bytes: u64) -> Option<u64> {
    dims.into_iter().try_fold(item_bytes, |acc, d| acc.checked_mul(d))
}

/// Size of the file at `path`.
pub fn file_len(path: &Path) -> Result<u64, DataError> {
    std::fs::metadata(path).map(|m| m.len()).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_sizes_must_fit_the_file_and_the_cap() {
        let p = Path::new("x.npy");
        assert!(check(p, "shape [10]", payload([10], 4), Storage::Raw { available: 40 }).is_ok());
        let e = check(p, "shape [11]", payload([11], 4), Storage::Raw { available: 40 }).unwrap_err().to_string();
        assert!(e.contains("x.npy") && e.contains("44 bytes") && e.contains("only 40"), "{e}");
        assert!(check(p, "huge", payload([1 << 20, 1 << 20], 4), Storage::Deflated { file_bytes: 1 << 40 }).unwrap_err().to_string().contains("limit"));
        assert!(check(p, "overflow", payload([u64::MAX, 2], 1), Storage::Raw { available: 0 }).unwrap_err().to_string().contains("overflows"));
        assert!(check(p, "512² u8", payload([512, 512], 1), Storage::Deflated { file_bytes: 300 }).is_ok(), "a blank mask compresses well");
        assert!(check(p, "8192² f32", payload([8192, 8192], 4), Storage::Deflated { file_bytes: 300 }).is_err());
    }
}
