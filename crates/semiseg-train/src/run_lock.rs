//! One writer per run directory: an OS file lock on `<run>/.lock`, held while a training or a
//! resumption runs. The kernel drops it when the process ends, however it ends, so a killed
//! run leaves no stale lock and `--resume` works at once. The file also names the holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock of one run directory; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

impl RunLock {
    /// The lock file of run directory `run`.
    pub fn path_in(run: &Path) -> PathBuf {
        run.join(".lock")
    }

    /// Takes the lock of `run` (creating the directory), or says who holds it.
    pub fn acquire(run: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(run).map_err(|e| format!("{}: {e}", run.display()))?;
        let path = Self::path_in(run);
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(format!(
                    "{} is in use by another training ({}): wait for it to end or stop it; two writers would mix their logs and checkpoints",
                    run.display(),
                    if holder.is_empty() { "holder unknown".to_string() } else { holder.to_string() }
                ));
            }
            Err(TryLockError::Error(e)) => return Err(format!("{}: cannot lock: {e}", path.display())),
        }
        let note = format!("pid {} on {}", std::process::id(), hostname());
        let written = file.set_len(0).and_then(|_| file.rewind()).and_then(|_| file.write_all(note.as_bytes())).and_then(|_| file.flush());
        written.map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self { file })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // The holder's note goes with the lock; the file stays (removing it would race with a
        // process that has just opened it).
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// This machine's name, for the holder's note (a run directory may sit on a shared disk).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").or_else(|_| std::fs::read_to_string("/etc/hostname")).map(|s| s.trim().to_string()).unwrap_or_else(|_| "this machine".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let first = RunLock::acquire(&run).unwrap();
        let refused = RunLock::acquire(&run).unwrap_err();
        assert!(refused.contains("in use by another training") && refused.contains(&format!("pid {}", std::process::id())), "{refused}");
        assert!(std::fs::read_to_string(RunLock::path_in(&run)).unwrap().contains("pid "), "the holder's note is in the lock file");
        drop(first);
        RunLock::acquire(&run).expect("free again once the holder is gone");
    }
}
