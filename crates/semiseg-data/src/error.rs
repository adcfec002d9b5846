//! Errors of the data crate: each names the file and what was wrong with it.

use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong reading, checking or writing data.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file exists but its content could not be decoded.
    #[error("{path}: cannot decode {format}: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The format that was tried.
        format: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The file decoded but is not usable (shape, dtype, values, missing dataset, ...).
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The file name has an extension no reader handles.
    #[error("{path}: unsupported file type (expected .png, .jpg, .jpeg, .nii, .nii.gz, .h5, .hdf5 or .npy)")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// A dataset folder matches no known layout, or a layout file is malformed.
    #[error("{path}: {problem}")]
    Layout {
        /// The folder or layout file.
        path: PathBuf,
        /// What is missing or wrong.
        problem: String,
    },
}

impl DataError {
    /// Shorthand for [`DataError::Invalid`].
    pub fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), problem: problem.into() }
    }

    /// Shorthand for [`DataError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// Shorthand for [`DataError::Layout`].
    pub fn layout(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::Layout { path: path.into(), problem: problem.into() }
    }
}
