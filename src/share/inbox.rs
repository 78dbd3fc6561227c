//! Shares received from contacts, kept under `inbox/` in the data directory:
//! `ID.json` (the signed manifest and when it arrived) beside `ID.jpg`, and
//! the chunks of unfinished transfers under `partial/ID/`, so a cut transfer
//! resumes where it stopped. Every file is written atomically; a share is
//! stored once however often it is delivered.

use super::manifest::{Manifest, VerifiedShare};
use super::session::ShareStore;
use super::{Limits, ShareError};
use crate::atomic_file::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// One stored share as `inbox/ID.json` holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxRecord {
    /// The signed manifest, as received.
    pub manifest: Manifest,
    /// Unix milliseconds when it arrived.
    pub received_at: u64,
}

/// A received share, checked again as it is read back.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    /// The verified share.
    pub share: VerifiedShare,
    /// When it arrived, unix ms.
    pub received_at: u64,
    /// Where its JPEG is, if it has one.
    pub jpeg_path: Option<PathBuf>,
}

/// The inbox directory.
#[derive(Debug, Clone)]
pub struct Inbox {
    dir: PathBuf,
}

impl Inbox {
    /// The inbox of the device whose data directory is `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Inbox {
            dir: data_dir.join("inbox"),
        }
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn partial_dir(&self, id: &str) -> PathBuf {
        self.dir.join("partial").join(id)
    }

    /// Every stored share, oldest first. Damaged entries are skipped with a warning.
    pub fn list(&self) -> Result<Vec<InboxEntry>, ShareError> {
        let mut entries = vec![];
        let dir = match fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
            Err(e) => return Err(ShareError::io(&self.dir)(e)),
        };
        for item in dir.flatten() {
            let path = item.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match self.read(&path) {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "skipped a damaged inbox entry")
                }
            }
        }
        entries.sort_by_key(|e| (e.share.body.created_at, e.share.id.clone()));
        Ok(entries)
    }

    fn read(&self, path: &Path) -> Result<InboxEntry, ShareError> {
        let text = fs::read_to_string(path).map_err(ShareError::io(path))?;
        let record: InboxRecord =
            serde_json::from_str(&text).map_err(|e| ShareError::Malformed(e.to_string()))?;
        let share = record.manifest.verify(&Limits::default())?;
        let jpeg_path = share
            .body
            .jpeg
            .as_ref()
            .map(|_| self.dir.join(format!("{}.jpg", share.id)));
        Ok(InboxEntry {
            share,
            received_at: record.received_at,
            jpeg_path,
        })
    }
}

impl ShareStore for Inbox {
    fn is_stored(&self, id: &str) -> bool {
        self.record_path(id).exists()
    }

    fn chunks_held(&self, id: &str) -> BTreeSet<u32> {
        let Ok(dir) = fs::read_dir(self.partial_dir(id)) else {
            return BTreeSet::new();
        };
        dir.flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".chunk")?.parse().ok())
            .collect()
    }

    fn put_chunk(&mut self, id: &str, index: u32, data: &[u8]) -> Result<(), ShareError> {
        let path = self.partial_dir(id).join(format!("{index}.chunk"));
        write_atomic(&path, data, 0o600).map_err(ShareError::io(&path))
    }

    fn assemble(&self, share: &VerifiedShare) -> Result<Vec<u8>, ShareError> {
        let mut jpeg = vec![];
        for index in 0..share.chunk_count() {
            let path = self.partial_dir(&share.id).join(format!("{index}.chunk"));
            jpeg.extend(fs::read(&path).map_err(ShareError::io(&path))?);
        }
        Ok(jpeg)
    }

    fn store(&mut self, share: &VerifiedShare, jpeg: Option<&[u8]>) -> Result<(), ShareError> {
        if let Some(jpeg) = jpeg {
            let path = self.dir.join(format!("{}.jpg", share.id));
            write_atomic(&path, jpeg, 0o600).map_err(ShareError::io(&path))?;
        }
        let record = InboxRecord {
            manifest: share.manifest.clone(),
            received_at: super::outbox::now_ms(),
        };
        let text = serde_json::to_vec_pretty(&record).expect("record serializes");
        let path = self.record_path(&share.id);
        write_atomic(&path, &text, 0o600).map_err(ShareError::io(&path))?;
        let _ = fs::remove_dir_all(self.partial_dir(&share.id));
        Ok(())
    }
}
