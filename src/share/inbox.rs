//! Shares received from contacts, kept under `inbox/` in the data directory:
//! `ID.json` (the signed manifest and when it arrived) beside `ID.jpg`, and
//! the chunks of unfinished transfers under `partial/ID/`, so a cut transfer
//! resumes where it stopped. Every file is written atomically; a share is
//! stored once however often it is delivered.
//!
//! Bounded: everything under `inbox/` — stored shares and the chunks of
//! unfinished ones — stays within `max_bytes` (`[share] inbox_max_bytes`).
//! Nothing stored is ever deleted to make room: a share that does not fit is
//! refused with [`ShareError::InboxFull`] (the sender keeps it and offers it
//! again later), and a transfer that runs out of room mid-way keeps the
//! chunks it has, to resume once there is room. Only the owner removes shares
//! ([`Inbox::remove`], `hearth inbox --remove ID`). While a finished share is
//! put together, its chunks and its whole JPEG exist together for a moment.
//!
//! Damaged records are set aside, never deleted: when the device opens its
//! inbox, a record that cannot be read back whole (empty, cut, altered, its
//! photo missing or not matching its hash) is moved with its photo to
//! `inbox/damaged/` with a log line ([`super::damaged`]), and a sender that
//! still has the share can deliver it again. The files set aside still count
//! towards `max_bytes` until the owner deletes them. `hearth inbox` warns
//! about what it cannot show whole ([`Inbox::photo_problem`]).

use super::damaged;
use super::manifest::{Manifest, VerifiedShare};
use super::store::{ShareLookup, ShareStore};
use super::{Limits, ShareError};
use crate::atomic_file::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

/// A record that cannot be read back whole, and what is wrong with it.
#[derive(Debug, Clone)]
pub struct Unreadable {
    /// The record's file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// How full the inbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxUsage {
    /// Bytes on disk under `inbox/`, unfinished transfers included.
    pub bytes: u64,
    /// The bound (`[share] inbox_max_bytes`).
    pub max_bytes: u64,
    /// Unfinished transfers holding chunks.
    pub unfinished: usize,
}

/// The inbox directory. Clones share one lock, so sessions receiving at the
/// same time never take it over its bound together.
#[derive(Debug, Clone)]
pub struct Inbox {
    dir: PathBuf,
    max_bytes: u64,
    writing: Arc<Mutex<()>>,
}

/// Bytes for people: "12.5 MiB", "40.2 KiB", "900 bytes".
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

impl Inbox {
    /// The inbox of the device whose data directory is `data_dir`, for
    /// reading (no bound on what it may hold).
    pub fn new(data_dir: &Path) -> Self {
        Inbox {
            dir: data_dir.join("inbox"),
            max_bytes: u64::MAX,
            writing: Arc::new(Mutex::new(())),
        }
    }

    /// The inbox a running device receives into, holding at most `max_bytes`.
    /// Writes that never finished (temporary files, a JPEG without its
    /// record) are removed, with a log line.
    pub fn open(data_dir: &Path, max_bytes: u64) -> Result<Self, ShareError> {
        let inbox = Inbox {
            max_bytes,
            ..Inbox::new(data_dir)
        };
        fs::create_dir_all(&inbox.dir).map_err(ShareError::io(&inbox.dir))?;
        for item in fs::read_dir(&inbox.dir)
            .map_err(ShareError::io(&inbox.dir))?
            .flatten()
        {
            let name = item.file_name().to_string_lossy().into_owned();
            let unfinished = name.starts_with('.')
                || name
                    .strip_suffix(".jpg")
                    .is_some_and(|id| !inbox.record_path(id).exists());
            if unfinished && item.path().is_file() {
                tracing::info!(file = %name, "removed an inbox write that never finished");
                let _ = fs::remove_file(item.path());
            }
        }
        let partial = inbox.dir.join("partial");
        for share in fs::read_dir(&partial).into_iter().flatten().flatten() {
            for item in fs::read_dir(share.path()).into_iter().flatten().flatten() {
                if item.file_name().to_string_lossy().starts_with('.') {
                    tracing::info!(file = %item.path().display(), "removed a chunk write that never finished");
                    let _ = fs::remove_file(item.path());
                }
            }
        }
        inbox.set_aside_damaged()?;
        Ok(inbox)
    }

    /// Checks every record and its photo; sets the damaged ones aside.
    fn set_aside_damaged(&self) -> Result<(), ShareError> {
        let (entries, damaged) = self.scan()?;
        for Unreadable { path, reason } in damaged {
            self.set_aside(&record_id(&path), &reason);
        }
        for entry in entries {
            let Some(path) = &entry.jpeg_path else {
                continue;
            };
            let reason = match fs::read(path) {
                Ok(jpeg) if entry.share.jpeg_ok(&jpeg) => continue,
                Ok(jpeg) => format!("its photo ({} bytes) does not match its hash", jpeg.len()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "its photo is missing".into(),
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot read a photo in the inbox; it stays where it is");
                    continue;
                }
            };
            self.set_aside(&entry.share.id, &reason);
        }
        Ok(())
    }

    /// Moves share `id` (record and photo) to `inbox/damaged/`; a failure is
    /// logged and leaves them where they are.
    fn set_aside(&self, id: &str, reason: &str) {
        let files = [self.record_path(id), self.jpeg_path(id)];
        if let Err(e) = damaged::set_aside(&self.dir, &files, reason) {
            tracing::error!(%reason, error = %e, "a damaged inbox share could not be set aside; it stays where it is");
        }
    }

    /// The files set aside in `inbox/damaged/`.
    pub fn damaged(&self) -> Vec<PathBuf> {
        damaged::list(&self.dir)
    }

    /// What is wrong with a stored share's photo, for `hearth inbox`: missing,
    /// empty, not matching its hash, or not a picture that can be decoded.
    /// `None` for a whole photo, or a share without one.
    pub fn photo_problem(&self, entry: &InboxEntry) -> Option<String> {
        let path = entry.jpeg_path.as_ref()?;
        let jpeg = match fs::read(path) {
            Ok(jpeg) => jpeg,
            Err(e) => return Some(format!("its photo {} cannot be read: {e}", path.display())),
        };
        if jpeg.is_empty() {
            return Some(format!("its photo {} is empty (0 bytes)", path.display()));
        }
        if !entry.share.jpeg_ok(&jpeg) {
            return Some(format!(
                "its photo {} is damaged: {} bytes that do not match its hash",
                path.display(),
                jpeg.len()
            ));
        }
        if let Err(e) = crate::media::jpeg::decode_rgb(&jpeg) {
            return Some(format!("its photo {} cannot be shown: {e}", path.display()));
        }
        None
    }

    /// How many bytes the inbox holds, of how many, and how many transfers are unfinished.
    pub fn usage(&self) -> Result<InboxUsage, ShareError> {
        let mut usage = InboxUsage {
            bytes: 0,
            max_bytes: self.max_bytes,
            unfinished: 0,
        };
        let dir = match fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(usage),
            Err(e) => return Err(ShareError::io(&self.dir)(e)),
        };
        for item in dir.flatten() {
            let Ok(meta) = item.metadata() else { continue };
            if meta.is_file() {
                usage.bytes += meta.len();
            } else if meta.is_dir() && item.file_name() == damaged::DAMAGED_DIR {
                usage.bytes += damaged::bytes(&self.dir);
            } else if meta.is_dir() && item.file_name() == "partial" {
                for share in fs::read_dir(item.path()).into_iter().flatten().flatten() {
                    let bytes = dir_bytes(&share.path());
                    usage.unfinished += 1;
                    usage.bytes += bytes;
                }
            }
        }
        Ok(usage)
    }

    /// Refused with [`ShareError::InboxFull`] unless `adding` more bytes
    /// keep the inbox within its bound.
    fn check_room(&self, adding: u64) -> Result<(), ShareError> {
        if self.max_bytes == u64::MAX {
            return Ok(());
        }
        let used = self.usage()?.bytes;
        if used.saturating_add(adding) > self.max_bytes {
            return Err(ShareError::InboxFull(format!(
                "{} of {} used, {} more needed",
                human_bytes(used),
                human_bytes(self.max_bytes),
                human_bytes(adding)
            )));
        }
        Ok(())
    }

    fn jpeg_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.jpg"))
    }

    fn record_bytes(share: &VerifiedShare) -> Vec<u8> {
        let record = InboxRecord {
            manifest: share.manifest.clone(),
            received_at: super::outbox::now_ms(),
        };
        serde_json::to_vec_pretty(&record).expect("record serializes")
    }

    /// Removes a stored share (its record, then its JPEG) by its id or the
    /// start of it, as `hearth inbox` prints it. Returns the full id.
    pub fn remove(&self, id_start: &str) -> Result<String, ShareError> {
        let id_start = id_start.trim().to_ascii_lowercase();
        let matches: Vec<String> = self
            .list()?
            .into_iter()
            .map(|e| e.share.id)
            .filter(|id| !id_start.is_empty() && id.starts_with(&id_start))
            .collect();
        let id = match matches.as_slice() {
            [id] => id.clone(),
            [] => {
                return Err(ShareError::NotFound(format!(
                    "no share in the inbox starts with `{id_start}`; `hearth inbox` lists them"
                )))
            }
            _ => {
                return Err(ShareError::NotFound(format!(
                    "{} shares start with `{id_start}`; give more of the id",
                    matches.len()
                )))
            }
        };
        let _guard = self.writing.lock().expect("inbox lock");
        for path in [self.record_path(&id), self.jpeg_path(&id)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ShareError::io(&path)(e)),
            }
        }
        tracing::info!(share = %&id[..12], "the owner removed a share from the inbox");
        Ok(id)
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn partial_dir(&self, id: &str) -> PathBuf {
        self.dir.join("partial").join(id)
    }

    /// The JPEG of a stored share, if it has one.
    pub fn jpeg_of(&self, share: &VerifiedShare) -> Option<PathBuf> {
        share.body.jpeg.as_ref().map(|_| self.jpeg_path(&share.id))
    }

    /// Every stored share, oldest first. Damaged entries are skipped with a warning.
    pub fn list(&self) -> Result<Vec<InboxEntry>, ShareError> {
        let (entries, damaged) = self.scan()?;
        for Unreadable { path, reason } in damaged {
            tracing::warn!(file = %path.display(), %reason, "skipped a damaged inbox entry");
        }
        Ok(entries)
    }

    /// Every stored share, oldest first, and the records that cannot be read
    /// back (each with what is wrong). Photos are not read here.
    pub fn scan(&self) -> Result<(Vec<InboxEntry>, Vec<Unreadable>), ShareError> {
        let (mut entries, mut damaged) = (vec![], vec![]);
        let dir = match fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((entries, damaged)),
            Err(e) => return Err(ShareError::io(&self.dir)(e)),
        };
        for item in dir.flatten() {
            let path = item.path();
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                || !name.ends_with(".json")
                || !item.file_type().is_ok_and(|t| t.is_file())
            {
                continue;
            }
            match self.read(&path) {
                Ok(entry) => entries.push(entry),
                Err(ShareError::Io { path, source })
                    if source.kind() != std::io::ErrorKind::NotFound =>
                {
                    tracing::error!(file = %path.display(), error = %source, "cannot read an inbox record; it stays where it is");
                }
                Err(ShareError::Io { .. }) => {}
                Err(e) => damaged.push(Unreadable {
                    path,
                    reason: e.to_string(),
                }),
            }
        }
        entries.sort_by_key(|e| (e.share.body.created_at, e.share.id.clone()));
        Ok((entries, damaged))
    }

    fn read(&self, path: &Path) -> Result<InboxEntry, ShareError> {
        let bytes = fs::read(path).map_err(ShareError::io(path))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ShareError::Malformed(format!(
                "the record is empty ({} bytes)",
                bytes.len()
            )));
        }
        let record: InboxRecord =
            serde_json::from_slice(&bytes).map_err(|e| ShareError::Malformed(e.to_string()))?;
        let share = record.manifest.verify(&Limits::default())?;
        if share.id != record_id(path) {
            return Err(ShareError::Malformed(
                "the record is not the share its name says".into(),
            ));
        }
        let jpeg_path = self.jpeg_of(&share);
        Ok(InboxEntry {
            share,
            received_at: record.received_at,
            jpeg_path,
        })
    }
}

/// The share id a record's file name stands for.
fn record_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl ShareLookup for Inbox {
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

    fn room_for(&self, share: &VerifiedShare) -> Result<(), ShareError> {
        let whole =
            Self::record_bytes(share).len() as u64 + share.body.jpeg.as_ref().map_or(0, |j| j.len);
        let held = dir_bytes(&self.partial_dir(&share.id));
        let _guard = self.writing.lock().expect("inbox lock");
        self.check_room(whole.saturating_sub(held))
    }
}

impl ShareStore for Inbox {
    fn put_chunk(&mut self, id: &str, index: u32, data: &[u8]) -> Result<(), ShareError> {
        let path = self.partial_dir(id).join(format!("{index}.chunk"));
        let _guard = self.writing.lock().expect("inbox lock");
        let replaced = fs::metadata(&path).map_or(0, |m| m.len());
        self.check_room((data.len() as u64).saturating_sub(replaced))?;
        write_atomic(&path, data, 0o600).map_err(ShareError::io(&path))
    }

    /// Every chunk was checked as it arrived, so one that no longer matches
    /// its hash was damaged on disk: it is set aside (in
    /// `inbox/damaged/ID.N.chunk`) and the share refused for now
    /// ([`ShareError::Damaged`] is temporary), so the sender keeps it and
    /// sends that chunk again.
    fn assemble(&self, share: &VerifiedShare) -> Result<Vec<u8>, ShareError> {
        let mut jpeg = vec![];
        for index in 0..share.chunk_count() {
            let path = self.partial_dir(&share.id).join(format!("{index}.chunk"));
            let chunk = fs::read(&path).map_err(ShareError::io(&path))?;
            if !share.chunk_ok(index, &chunk) {
                let reason = format!("chunk {index} no longer matches its hash");
                let aside = self.dir.join(damaged::DAMAGED_DIR);
                let named = aside.join(format!("{}.{index}.chunk", share.id));
                let _guard = self.writing.lock().expect("inbox lock");
                fs::create_dir_all(&aside).map_err(ShareError::io(&aside))?;
                fs::rename(&path, &named).map_err(ShareError::io(&path))?;
                tracing::warn!(file = %path.display(), moved_to = %named.display(), %reason, "DAMAGED: a kept chunk was set aside; the sender sends it again");
                return Err(ShareError::Damaged {
                    path,
                    reason,
                    moved_to: aside,
                });
            }
            jpeg.extend(chunk);
        }
        Ok(jpeg)
    }

    fn store(&mut self, share: &VerifiedShare, jpeg: Option<&[u8]>) -> Result<(), ShareError> {
        let text = Self::record_bytes(share);
        let _guard = self.writing.lock().expect("inbox lock");
        let held = dir_bytes(&self.partial_dir(&share.id));
        let whole = text.len() as u64 + jpeg.map_or(0, |j| j.len() as u64);
        self.check_room(whole.saturating_sub(held))?;
        if let Some(jpeg) = jpeg {
            let path = self.jpeg_path(&share.id);
            write_atomic(&path, jpeg, 0o600).map_err(ShareError::io(&path))?;
        }
        let path = self.record_path(&share.id);
        write_atomic(&path, &text, 0o600).map_err(ShareError::io(&path))?;
        let _ = fs::remove_dir_all(self.partial_dir(&share.id));
        Ok(())
    }

    fn discard(&mut self, id: &str) -> Result<(), ShareError> {
        let path = self.partial_dir(id);
        match fs::remove_dir_all(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ShareError::io(&path)(e)),
        }
    }
}

/// Bytes of the files directly in `dir` (0 when it does not exist).
fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
