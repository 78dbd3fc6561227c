//! One writer per data directory. A running device holds an exclusive lock on
//! `hearth.lock` in its data directory for as long as it runs; a second
//! `hearth run` on the same directory is refused before it touches anything
//! (sockets, relay session, files). With no device running, the CLI takes the
//! same lock for the moment it changes a file, so two commands never write
//! from a stale copy either.
//!
//! The lock is the kernel's (`flock`): it goes away with the process, so a
//! device killed with `kill -9` never leaves a stale lock behind. The file
//! holds the holder's process id, for the message the next one prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// File name of the lock inside the data directory.
pub const LOCK_FILE: &str = "hearth.lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("{} is in use by another Hearth process{}; stop it first, or use another --data-dir", .dir.display(), holder_text(.pid))]
    Held {
        /// The data directory.
        dir: PathBuf,
        /// The holder's process id, when it wrote one.
        pid: Option<u32>,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn holder_text(pid: &Option<u32>) -> String {
    match pid {
        Some(pid) => format!(" (process {pid})"),
        None => String::new(),
    }
}

/// An exclusive lock on a data directory, released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    dir: PathBuf,
}

impl DataDirLock {
    /// Takes the lock now, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    pid: read_pid(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let pid = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .map_err(io)?;
        Ok(DataDirLock {
            file,
            dir: dir.to_path_buf(),
        })
    }

    /// Takes the lock, waiting up to `patience` for a short-lived holder (a
    /// CLI command writing a file) to let go.
    pub fn acquire_within(dir: &Path, patience: Duration) -> Result<DataDirLock, LockError> {
        let deadline = Instant::now() + patience;
        loop {
            match Self::acquire(dir) {
                Err(LockError::Held { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                other => return other,
            }
        }
    }

    /// The locked data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock; emptying it first means a
        // reader never names a process that has gone.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The process id the holder of `dir`'s lock wrote, if any (not a proof
/// that it still holds it).
pub fn holder(dir: &Path) -> Option<u32> {
    read_pid(&mut File::open(dir.join(LOCK_FILE)).ok()?)
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        match DataDirLock::acquire(dir.path()) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("second lock: {other:?}"),
        }
        let message = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        drop(first);
        DataDirLock::acquire(dir.path()).expect("free again once dropped");
    }

    #[test]
    fn waiting_takes_the_lock_once_a_short_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(first);
        });
        DataDirLock::acquire_within(dir.path(), Duration::from_secs(5)).unwrap();
        release.join().unwrap();
    }

    #[test]
    fn waiting_gives_up_on_a_holder_that_stays() {
        let dir = tempfile::tempdir().unwrap();
        let _held = DataDirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            DataDirLock::acquire_within(dir.path(), Duration::from_millis(100)),
            Err(LockError::Held { .. })
        ));
    }
}
