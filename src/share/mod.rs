//! Shares: a snapshot, a photo or a thought, signed by its author and pushed
//! over each contact's data channel — only to the contacts in its audience.
//!
//! - [`manifest`]: the signed share format and its checks.
//! - [`wire`]: the data-channel vocabulary (JSON control + binary chunks).
//! - [`session`]: the transfer as a sans-IO state machine.
//! - [`store`]: what the session reads from the store, the writes it asks
//!   its driver for, and how a write is carried out.
//! - [`outbox`]: shares waiting for contacts that are not online, on disk.
//! - [`inbox`]: shares received from contacts, on disk.
//! - [`snapshot`]: the camera's current frame as a JPEG.
//! - [`photo_check`]: photos decoded in full before they are accepted,
//!   sent or stored; a PNG turned into a JPEG.
//! - [`damaged`]: damaged outbox and inbox records, set aside, never deleted.
//!
//! The formats and rules are written down in `docs/protocol.md`.

pub mod damaged;
pub mod inbox;
pub mod manifest;
pub mod outbox;
pub mod photo_check;
pub mod session;
pub mod settings;
pub mod snapshot;
pub mod store;
pub mod wire;

#[cfg(test)]
mod inbox_tests;
#[cfg(test)]
mod outbox_tests;
#[cfg(test)]
mod photo_check_tests;
#[cfg(test)]
mod session_tests;

pub use manifest::{share_id, JpegInfo, Manifest, ShareBody, ShareKind, VerifiedShare};
pub use session::{Output, ReceiveRules, ShareSession};
pub use settings::ShareConfig;
pub use store::{ShareLookup, ShareStore, StoreWrite, WriteDone};

/// Bytes of JPEG per chunk frame (a frame stays under 64 KiB with its header).
pub const CHUNK_SIZE: u32 = 48 * 1024;

/// Errors from making, checking, moving and storing shares. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// Not a well-formed share or message.
    #[error("malformed share: {0}")]
    Malformed(String),
    /// The author's signature does not verify: forged or altered.
    #[error("the share's signature does not verify: it was forged or altered, and was refused")]
    BadSignature,
    /// Over one of the size caps.
    #[error("share too large: {0}")]
    TooLarge(String),
    /// A chunk or the whole JPEG does not match its hash.
    #[error("share damaged in transit: {0}; it will be offered again")]
    Corrupt(String),
    /// A photo that does not decode in full (cut short, damaged, or not a
    /// picture at all).
    #[error("the photo cannot be decoded ({0}) and was refused; share the original file again")]
    Undecodable(String),
    /// The sender may not send this share here.
    #[error("share refused: {0}")]
    NotAllowed(String),
    /// The outbox is full; nothing was dropped to make room.
    #[error("the outbox is full ({0}); this share was not queued and nothing waiting was dropped. `hearth status` shows who it waits for: wait until they connect, or take `snapshots` from a contact that will not come back (`hearth contacts deny NAME snapshots`) and its waiting shares leave the outbox")]
    OutboxFull(String),
    /// This device's inbox is full; the share was refused for now and the
    /// sender keeps it. Nothing stored was deleted to make room.
    #[error("the device's inbox is full ({0}); the sender keeps the share and offers it again later. Nothing stored was deleted: remove shares you no longer need with `hearth inbox --remove ID`, or raise `[share] inbox_max_bytes`")]
    InboxFull(String),
    /// No such share.
    #[error("{0}")]
    NotFound(String),
    /// A stored share's file is damaged; the share was set aside, not deleted.
    #[error("{path} is damaged ({reason}); the share was set aside in {moved_to}, and everything else goes on. Restore it from a backup, or delete it once you have looked at it")]
    Damaged {
        /// The damaged file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
        /// The folder it was moved to.
        moved_to: std::path::PathBuf,
    },
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file involved.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl ShareError {
    /// The reason told to the peer in `share_refused`: the error in words,
    /// without advice meant for this device's owner.
    pub fn peer_reason(&self) -> String {
        match self {
            ShareError::InboxFull(detail) => format!(
                "the device's inbox is full ({detail}); keep the share and offer it again later"
            ),
            ShareError::Damaged { .. } => {
                "part of the share kept on the device was damaged; keep the share and offer it again".into()
            }
            other => other.to_string(),
        }
    }

    /// The machine-readable code sent beside the words in `share_refused`.
    pub fn code(&self) -> &'static str {
        match self {
            ShareError::Malformed(_) => "malformed",
            ShareError::BadSignature => "bad_signature",
            ShareError::TooLarge(_) => "too_large",
            ShareError::Corrupt(_) => "corrupt",
            ShareError::Undecodable(_) => "undecodable",
            ShareError::NotAllowed(_) => "not_allowed",
            ShareError::OutboxFull(_) => "outbox_full",
            ShareError::InboxFull(_) => "inbox_full",
            ShareError::NotFound(_) => "not_found",
            ShareError::Io { .. } => "storage",
            ShareError::Damaged { .. } => "damaged",
        }
    }

    /// Whether the refusal is for now only (the sender should offer it again
    /// later): a full inbox, or a kept chunk damaged on disk.
    pub fn is_temporary(&self) -> bool {
        matches!(self, ShareError::InboxFull(_) | ShareError::Damaged { .. })
    }

    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ShareError + '_ {
        move |source| ShareError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Caps on what a peer may send; anything larger is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The manifest's body text.
    pub max_manifest_bytes: usize,
    /// A share's text.
    pub max_text_bytes: usize,
    /// Keys in an audience.
    pub max_audience: usize,
    /// The JPEG.
    pub max_jpeg_bytes: u64,
    /// One chunk.
    pub max_chunk_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 32 * 1024,
            max_text_bytes: 4096,
            max_audience: 64,
            max_jpeg_bytes: 4 * 1024 * 1024,
            max_chunk_bytes: 60 * 1024,
        }
    }
}
