//! Damaged records are set aside, never deleted. A share record in the
//! outbox or the inbox that cannot be read back whole (an empty, cut or
//! altered file, a photo that does not match its hash) is moved, with its
//! photo, into a `damaged/` folder beside it (`outbox/damaged/`,
//! `inbox/damaged/`), with a log line naming the file and what is wrong. The
//! rest of the store goes on as if it were not there, and `hearth status`
//! says how many shares were set aside and where, so the owner can look at
//! them, restore them from a backup, or delete them.

use super::ShareError;
use std::fs;
use std::path::{Path, PathBuf};

/// Name of the folder, inside a store's directory, that damaged records are moved to.
pub const DAMAGED_DIR: &str = "damaged";

/// Moves `files` (a record and its photo; absent ones are skipped) from
/// `store` into `store/damaged/`, photo first, so an interrupted move never
/// leaves a photo without its record (which would be cleaned up as an
/// unfinished write). A name already taken there gets a `.N` suffix.
/// Returns the folder.
pub(crate) fn set_aside(
    store: &Path,
    files: &[PathBuf],
    reason: &str,
) -> Result<PathBuf, ShareError> {
    let dir = store.join(DAMAGED_DIR);
    fs::create_dir_all(&dir).map_err(ShareError::io(&dir))?;
    for file in files.iter().rev() {
        let Some(name) = file.file_name() else {
            continue;
        };
        let mut target = dir.join(name);
        let mut n = 1;
        while target.exists() {
            target = dir.join(format!("{}.{n}", name.to_string_lossy()));
            n += 1;
        }
        match fs::rename(file, &target) {
            Ok(()) => {
                tracing::warn!(file = %file.display(), moved_to = %target.display(), %reason, "DAMAGED: a share file was set aside; everything else goes on")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ShareError::io(file)(e)),
        }
    }
    if let Ok(handle) = fs::File::open(store) {
        let _ = handle.sync_all();
    }
    Ok(dir)
}

/// The files set aside in `store/damaged/`, sorted.
pub(crate) fn list(store: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(store.join(DAMAGED_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// Bytes of the files set aside in `store/damaged/`.
pub(crate) fn bytes(store: &Path) -> u64 {
    list(store)
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// How many shares the files set aside stand for (a record and its photo
/// are one share): the distinct names before their first dot.
pub fn count_shares(files: &[String]) -> usize {
    let mut ids: Vec<&str> = files
        .iter()
        .map(|f| {
            let name = Path::new(f)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(f.as_str());
            name.split('.').next().unwrap_or(name)
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_aside_without_overwriting_and_counts_shares() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..2 {
            fs::write(dir.path().join("abc.jpg"), [round]).unwrap();
            fs::write(dir.path().join("abc.json"), [round]).unwrap();
            let files = [dir.path().join("abc.json"), dir.path().join("abc.jpg")];
            set_aside(dir.path(), &files, "test").unwrap();
        }
        let listed = list(dir.path());
        assert_eq!(listed.len(), 4, "nothing overwritten: {listed:?}");
        assert!(!dir.path().join("abc.json").exists());
        let names: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(count_shares(&names), 1);
        assert_eq!(bytes(dir.path()), 4);
    }
}
