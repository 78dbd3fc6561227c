//! The outbox: shares waiting for recipients that have not received them yet,
//! kept under `outbox/` in the data directory so they survive restarts and
//! `kill -9`. Each share is `ID.jpg` (written first) and `ID.json` (the signed
//! manifest and the recipients still waiting), both written atomically: a
//! share is queued once its `ID.json` exists, and a recipient is done once a
//! rewrite without it lands. A `.jpg` without its `.json`, or a temporary file,
//! is a write that never finished and is cleaned up on open.
//!
//! Damaged records never block the rest: a record that cannot be read back
//! whole (empty, cut, altered, a recipient outside its signed audience, a
//! photo missing or not matching its hash) is set aside in
//! `outbox/damaged/` with a log line ([`super::damaged`]); the healthy
//! shares stay listed and delivered, and new shares are accepted. Photos are
//! checked against their hash when the device starts ([`Outbox::check_all`])
//! and before each send.
//!
//! Bounded: at most `max_shares` shares and `max_bytes` of JPEG. When full, a
//! new share is refused with [`ShareError::OutboxFull`] and the owner is told;
//! nothing already queued is ever dropped to make room.

use super::damaged;
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

    /// Reads every queued share and its photo back, setting the damaged ones
    /// aside now rather than when they are next sent (the device does this
    /// as it starts, so `hearth status` reports them at once).
    pub fn check_all(&self) -> Result<(), ShareError> {
        for queued in self.list()? {
            let _ = self.jpeg(&queued.share);
        }
        Ok(())
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

    /// Every queued share, oldest first. A damaged record is set aside
    /// (see the module's header) and left out; one that cannot be read for
    /// another reason (permissions) is left in place, logged and left out.
    pub fn list(&self) -> Result<Vec<Queued>, ShareError> {
        let mut queued = vec![];
        for item in fs::read_dir(&self.dir)
            .map_err(ShareError::io(&self.dir))?
            .flatten()
        {
            let path = item.path();
            let name = item.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if name.starts_with('.') || !item.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot read an outbox record; it stays where it is and waits");
                    continue;
                }
            };
            match self.check(id, &bytes) {
                Ok(q) => queued.push(q),
                Err(reason) => {
                    if let Err(e) = self.set_aside(id, &reason) {
                        tracing::error!(file = %path.display(), %reason, error = %e, "a damaged outbox record could not be set aside; it is left out");
                    }
                }
            }
        }
        queued.sort_by_key(|q| (q.share.body.created_at, q.share.id.clone()));
        Ok(queued)
    }

    /// Reads record `id` back: whole, signed, named after its id, waiting
    /// only for keys in its audience, with its photo present. Else: what is wrong.
    fn check(&self, id: &str, bytes: &[u8]) -> Result<Queued, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(format!("the record is empty ({} bytes)", bytes.len()));
        }
        let record: OutboxRecord = serde_json::from_slice(bytes)
            .map_err(|e| format!("the record is not readable: {e}"))?;
        let share = record
            .manifest
            .verify(&Limits::default())
            .map_err(|e| e.to_string())?;
        if share.id != id {
            return Err("the record is not the share its name says".into());
        }
        if record.pending.is_empty() {
            return Err("the record waits for nobody".into());
        }
        if let Some(key) = record
            .pending
            .iter()
            .find(|k| !share.body.audience.contains(k))
        {
            return Err(format!(
                "it waits for {}, who is not in its signed audience",
                key.short()
            ));
        }
        if share.body.jpeg.is_some() && !self.jpg(id).exists() {
            return Err("its photo is missing".into());
        }
        Ok(Queued {
            share,
            pending: record.pending,
        })
    }

    /// Moves share `id` (record and photo) to `outbox/damaged/`.
    fn set_aside(&self, id: &str, reason: &str) -> Result<(), ShareError> {
        damaged::set_aside(&self.dir, &[self.json(id), self.jpg(id)], reason)?;
        Ok(())
    }

    /// The files set aside in `outbox/damaged/`.
    pub fn damaged(&self) -> Vec<PathBuf> {
        damaged::list(&self.dir)
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

    /// The JPEG of a queued share. A photo that is missing or does not match
    /// its hash sets the share aside (see the module's header).
    pub fn jpeg(&self, share: &VerifiedShare) -> Result<Option<Vec<u8>>, ShareError> {
        if share.body.jpeg.is_none() {
            return Ok(None);
        }
        let path = self.jpg(&share.id);
        let reason = match fs::read(&path) {
            Ok(jpeg) if share.jpeg_ok(&jpeg) => return Ok(Some(jpeg)),
            Ok(jpeg) => format!("its photo ({} bytes) does not match its hash", jpeg.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "its photo is missing".into(),
            Err(e) => return Err(ShareError::io(&path)(e)),
        };
        self.set_aside(&share.id, &reason)?;
        Err(ShareError::Damaged {
            path,
            reason,
            moved_to: self.dir.join(damaged::DAMAGED_DIR),
        })
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
