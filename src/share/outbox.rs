//! The outbox: shares waiting for recipients that have not received them yet,
//! kept under `outbox/` in the data directory so they survive restarts and
//! `kill -9`. Each share is `ID.jpg` (written first) and `ID.json` (the signed
//! manifest and the recipients still waiting), both written atomically: a
//! share is queued once its `ID.json` exists, and a recipient is done once a
//! rewrite without it lands. A `.jpg` without its `.json`, or a temporary file,
//! is a write that never finished and is cleaned up on open.
//!
//! Bounded: at most `max_shares` shares and `max_bytes` of JPEG. When full, a
//! new share is refused with [`ShareError::OutboxFull`] and the owner is told;
//! nothing already queued is ever dropped to make room.

use super::manifest::{Manifest, VerifiedShare};
use super::{Limits, ShareError};
use crate::atomic_file::write_atomic;
use crate::keys::PeerKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How much the outbox may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Shares queued at once.
    pub max_shares: usize,
    /// Bytes of JPEG queued at once.
    pub max_bytes: u64,
}

/// One queued share as `outbox/ID.json` holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxRecord {
    /// The signed manifest.
    pub manifest: Manifest,
    /// Recipients that have not acknowledged it yet.
    pub pending: Vec<PeerKey>,
}

/// A queued share, read back.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The verified share.
    pub share: VerifiedShare,
    /// Who still waits for it.
    pub pending: Vec<PeerKey>,
}

/// The outbox directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    limits: OutboxLimits,
}

impl Outbox {
    /// Opens the outbox of `data_dir`, cleaning up writes that never finished.
    pub fn open(data_dir: &Path, limits: OutboxLimits) -> Result<Self, ShareError> {
        let dir = data_dir.join("outbox");
        fs::create_dir_all(&dir).map_err(ShareError::io(&dir))?;
        let outbox = Outbox { dir, limits };
        outbox.clean()?;
        Ok(outbox)
    }

    fn clean(&self) -> Result<(), ShareError> {
        for item in fs::read_dir(&self.dir)
            .map_err(ShareError::io(&self.dir))?
            .flatten()
        {
            let name = item.file_name().to_string_lossy().into_owned();
            let unfinished = name.starts_with('.')
                || name
                    .strip_suffix(".jpg")
                    .is_some_and(|id| !self.json(id).exists());
            if unfinished {
                tracing::debug!(file = %name, "removed an outbox write that never finished");
                let _ = fs::remove_file(item.path());
            }
        }
        Ok(())
    }

    fn json(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn jpg(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.jpg"))
    }

    /// Queues `share` for `recipients`. Refused when the outbox is full.
    pub fn add(
        &self,
        share: &VerifiedShare,
        jpeg: Option<&[u8]>,
        recipients: &[PeerKey],
    ) -> Result<(), ShareError> {
        if recipients.is_empty() || self.json(&share.id).exists() {
            return Ok(());
        }
        let queued = self.list()?;
        let bytes: u64 = queued.iter().map(|q| jpeg_len(&q.share)).sum();
        let new_bytes = jpeg.map_or(0, |j| j.len() as u64);
        if queued.len() >= self.limits.max_shares {
            return Err(ShareError::OutboxFull(format!(
                "{} shares waiting, at most {}",
                queued.len(),
                self.limits.max_shares
            )));
        }
        if bytes + new_bytes > self.limits.max_bytes {
            return Err(ShareError::OutboxFull(format!(
                "{} + {new_bytes} bytes of photos, at most {}",
                bytes, self.limits.max_bytes
            )));
        }
        if let Some(jpeg) = jpeg {
            let path = self.jpg(&share.id);
            write_atomic(&path, jpeg, 0o600).map_err(ShareError::io(&path))?;
        }
        self.write(&share.id, &share.manifest, recipients.to_vec())
    }

    fn write(
        &self,
        id: &str,
        manifest: &Manifest,
        pending: Vec<PeerKey>,
    ) -> Result<(), ShareError> {
        let record = OutboxRecord {
            manifest: manifest.clone(),
            pending,
        };
        let text = serde_json::to_vec_pretty(&record).expect("record serializes");
        let path = self.json(id);
        write_atomic(&path, &text, 0o600).map_err(ShareError::io(&path))
    }

    /// Every queued share, oldest first.
    pub fn list(&self) -> Result<Vec<Queued>, ShareError> {
        let mut queued = vec![];
        for item in fs::read_dir(&self.dir)
            .map_err(ShareError::io(&self.dir))?
            .flatten()
        {
            let path = item.path();
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(ShareError::io(&path))?;
            let record: OutboxRecord = serde_json::from_str(&text)
                .map_err(|e| ShareError::Malformed(format!("{}: {e}", path.display())))?;
            let share = record.manifest.verify(&Limits::default())?;
            queued.push(Queued {
                share,
                pending: record.pending,
            });
        }
        queued.sort_by_key(|q| (q.share.body.created_at, q.share.id.clone()));
        Ok(queued)
    }

    /// The shares `contact` still waits for.
    pub fn pending_for(&self, contact: &PeerKey) -> Result<Vec<VerifiedShare>, ShareError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|q| q.pending.contains(contact))
            .map(|q| q.share)
            .collect())
    }

    /// The JPEG of a queued share.
    pub fn jpeg(&self, share: &VerifiedShare) -> Result<Option<Vec<u8>>, ShareError> {
        if share.body.jpeg.is_none() {
            return Ok(None);
        }
        let path = self.jpg(&share.id);
        let jpeg = fs::read(&path).map_err(ShareError::io(&path))?;
        if !share.jpeg_ok(&jpeg) {
            return Err(ShareError::Corrupt(format!(
                "{} does not match its hash",
                path.display()
            )));
        }
        Ok(Some(jpeg))
    }

    /// `contact` is done with share `id` (delivered, refused or no longer allowed).
    /// The share leaves the outbox when nobody waits for it any more.
    pub fn done(&self, id: &str, contact: &PeerKey) -> Result<(), ShareError> {
        let Some(queued) = self.list()?.into_iter().find(|q| q.share.id == id) else {
            return Ok(());
        };
        let pending: Vec<PeerKey> = queued
            .pending
            .into_iter()
            .filter(|k| k != contact)
            .collect();
        if pending.is_empty() {
            self.remove(id)
        } else {
            self.write(id, &queued.share.manifest, pending)
        }
    }

    /// Removes a share for everyone.
    pub fn remove(&self, id: &str) -> Result<(), ShareError> {
        for path in [self.json(id), self.jpg(id)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ShareError::io(&path)(e)),
            }
        }
        Ok(())
    }

    /// How many shares wait for each contact.
    pub fn per_contact(&self) -> Result<BTreeMap<PeerKey, usize>, ShareError> {
        let mut counts = BTreeMap::new();
        for queued in self.list()? {
            for key in queued.pending {
                *counts.entry(key).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }
}

fn jpeg_len(share: &VerifiedShare) -> u64 {
    share.body.jpeg.as_ref().map_or(0, |j| j.len)
}
