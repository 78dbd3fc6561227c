//! Where received shares are kept, split in two: the reads a
//! [`super::ShareSession`] decides on ([`ShareLookup`]), and the writes it asks
//! for ([`StoreWrite`], out of [`super::Output::Write`]). The session never
//! writes: its driver carries each write out on a [`ShareStore`] (off the
//! async workers — every chunk and record is fsynced), in the order they
//! come, and gives the [`WriteDone`] back to the session.
//!
//! The rules stay here, not with the driver: [`StoreWrite::carry_out`] puts a
//! finished share together and keeps it only when [`check_received_jpeg`]
//! passes.

use super::manifest::VerifiedShare;
use super::ShareError;
use std::collections::BTreeSet;

/// What a session reads from the store to decide on an offer.
pub trait ShareLookup {
    /// Whether a share with this id is already stored whole.
    fn is_stored(&self, id: &str) -> bool;
    /// Chunks of an unfinished share already held (from an earlier, cut session).
    fn chunks_held(&self, id: &str) -> BTreeSet<u32>;
    /// Whether there is room for the rest of this share; refused with
    /// [`ShareError::InboxFull`] when there is not.
    fn room_for(&self, share: &VerifiedShare) -> Result<(), ShareError>;
}

/// Where received shares and their partial chunks are kept (the inbox, or
/// memory in tests): what a driver carries a [`StoreWrite`] out on.
pub trait ShareStore: ShareLookup {
    /// Keeps one verified chunk.
    fn put_chunk(&mut self, id: &str, index: u32, data: &[u8]) -> Result<(), ShareError>;
    /// The JPEG put together from every held chunk.
    fn assemble(&self, share: &VerifiedShare) -> Result<Vec<u8>, ShareError>;
    /// Stores a verified share (and its JPEG) and drops its partial chunks.
    fn store(&mut self, share: &VerifiedShare, jpeg: Option<&[u8]>) -> Result<(), ShareError>;
    /// Drops the partial chunks of a share that will never complete.
    fn discard(&mut self, id: &str) -> Result<(), ShareError>;
}

/// A write a session asks its driver to carry out.
pub enum StoreWrite {
    /// Keep one chunk, already checked against its hash.
    PutChunk {
        /// The share id.
        id: String,
        /// The chunk's index.
        index: u32,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// Every chunk is held: put the JPEG together, check it
    /// ([`check_received_jpeg`]) and store the share whole.
    Finish {
        /// The share, verified when it was offered.
        share: Box<VerifiedShare>,
    },
    /// Drop the kept chunks of a share that will never complete.
    Discard {
        /// The share id.
        id: String,
    },
}

/// How a [`StoreWrite`] went: given back to
/// [`super::ShareSession::handle_written`].
#[derive(Debug)]
pub enum WriteDone {
    /// A [`StoreWrite::PutChunk`].
    Chunk {
        /// The share id.
        id: String,
        /// The chunk's index.
        index: u32,
        /// Whether it is kept.
        result: Result<(), ShareError>,
    },
    /// A [`StoreWrite::Finish`].
    Finished {
        /// The share id.
        id: String,
        /// Whether the share is stored whole; refused with why when not.
        result: Result<(), ShareError>,
    },
    /// A [`StoreWrite::Discard`].
    Discarded {
        /// The share id.
        id: String,
        /// Whether the chunks are gone.
        result: Result<(), ShareError>,
    },
}

/// Names the write without its bytes (a chunk is up to 48 KiB).
impl std::fmt::Debug for StoreWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreWrite::PutChunk { id, index, data } => f
                .debug_struct("PutChunk")
                .field("id", id)
                .field("index", index)
                .field("bytes", &data.len())
                .finish(),
            StoreWrite::Finish { share } => {
                f.debug_struct("Finish").field("id", &share.id).finish()
            }
            StoreWrite::Discard { id } => f.debug_struct("Discard").field("id", id).finish(),
        }
    }
}

impl StoreWrite {
    /// Carries the write out on `store`. It blocks (files are fsynced, a
    /// photo is decoded in full): call it off the async workers.
    pub fn carry_out(self, store: &mut dyn ShareStore) -> WriteDone {
        match self {
            StoreWrite::PutChunk { id, index, data } => {
                let result = store.put_chunk(&id, index, &data);
                WriteDone::Chunk { id, index, result }
            }
            StoreWrite::Finish { share } => {
                let result = finish(store, &share);
                WriteDone::Finished {
                    id: share.id,
                    result,
                }
            }
            StoreWrite::Discard { id } => {
                let result = store.discard(&id);
                WriteDone::Discarded { id, result }
            }
        }
    }
}

/// Stores a share whose chunks are all held; a JPEG is kept only when it
/// passes [`check_received_jpeg`].
fn finish(store: &mut dyn ShareStore, share: &VerifiedShare) -> Result<(), ShareError> {
    if share.body.jpeg.is_none() {
        return store.store(share, None);
    }
    let jpeg = store.assemble(share)?;
    check_received_jpeg(share, &jpeg)?;
    store.store(share, Some(&jpeg))
}

/// A received JPEG must be the one signed, and a picture that decodes in
/// full: a damaged photo is refused, never kept as a broken image.
pub fn check_received_jpeg(share: &VerifiedShare, jpeg: &[u8]) -> Result<(), ShareError> {
    if !share.jpeg_ok(jpeg) {
        return Err(ShareError::Corrupt(
            "the whole JPEG does not match its hash".into(),
        ));
    }
    super::photo_check::check_jpeg(jpeg).map(|_| ())
}
