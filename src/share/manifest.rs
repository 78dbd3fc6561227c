//! A share's signed manifest: who wrote it, when, what kind, its text, the
//! JPEG's size and per-chunk hashes, and exactly who may receive it. The
//! manifest carries its signed body as a string, so every peer (Rust or
//! browser) verifies the very bytes the author signed.

use super::{Limits, ShareError};
use crate::identity::Identity;
use crate::keys::{b64, from_b64, PeerKey};
use ed25519_dalek::{Signature, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain separation for share signatures.
const SIGN_DOMAIN: &[u8] = b"hearth-share-v1\0";

/// What a share is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareKind {
    /// The camera's current frame.
    Snapshot,
    /// A photo from a file.
    Photo,
    /// Text only.
    Thought,
}

impl ShareKind {
    /// The kind's name on the wire and in the CLI.
    pub fn name(self) -> &'static str {
        match self {
            ShareKind::Snapshot => "snapshot",
            ShareKind::Photo => "photo",
            ShareKind::Thought => "thought",
        }
    }
}

/// The JPEG attached to a share: its length, hash and chunk hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JpegInfo {
    /// Total length in bytes.
    pub len: u64,
    /// SHA-256 of the whole JPEG, hex.
    pub sha256: String,
    /// Bytes per chunk (the last may be shorter).
    pub chunk_size: u32,
    /// SHA-256 of each chunk, hex, in order.
    pub chunks: Vec<String>,
}

/// The signed body of a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// Format version, `1`.
    pub v: u8,
    /// The author's key.
    pub author: PeerKey,
    /// Unix milliseconds at creation.
    pub created_at: u64,
    /// Snapshot, photo or thought.
    pub kind: ShareKind,
    /// The text (may be empty for a snapshot or photo).
    pub text: String,
    /// The attached JPEG, absent for a thought.
    pub jpeg: Option<JpegInfo>,
    /// Every key that may receive this share; nobody else gets it.
    pub audience: Vec<PeerKey>,
}

/// A share's manifest as it travels: the body text and the author's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The JSON text of a [`ShareBody`], exactly as signed.
    pub body: String,
    /// b64u Ed25519 signature over `"hearth-share-v1\0"` ‖ `body`.
    pub sig: String,
}

/// A manifest whose signature, format and caps were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedShare {
    /// The share's id: hex SHA-256 of the body text (a content hash).
    pub id: String,
    /// The parsed body.
    pub body: ShareBody,
    /// The manifest it came from.
    pub manifest: Manifest,
}

/// The id of a body text: hex SHA-256.
pub fn share_id(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Splits `jpeg` into chunks of `chunk_size` and describes them.
pub fn describe_jpeg(jpeg: &[u8], chunk_size: u32) -> JpegInfo {
    JpegInfo {
        len: jpeg.len() as u64,
        sha256: hex::encode(Sha256::digest(jpeg)),
        chunk_size,
        chunks: jpeg
            .chunks(chunk_size as usize)
            .map(|c| hex::encode(Sha256::digest(c)))
            .collect(),
    }
}

impl Manifest {
    /// Signs a new share as `author`.
    pub fn sign(author: &Identity, body: &ShareBody) -> Result<VerifiedShare, ShareError> {
        let text = serde_json::to_string(body).map_err(|e| ShareError::Malformed(e.to_string()))?;
        let sig = author.sign(&[SIGN_DOMAIN, text.as_bytes()].concat());
        let manifest = Manifest {
            body: text,
            sig: b64(&sig),
        };
        Ok(VerifiedShare {
            id: share_id(&manifest.body),
            body: body.clone(),
            manifest,
        })
    }

    /// Checks the signature, the format and the caps in `limits`.
    pub fn verify(&self, limits: &Limits) -> Result<VerifiedShare, ShareError> {
        if self.body.len() > limits.max_manifest_bytes {
            return Err(ShareError::TooLarge(format!(
                "manifest of {} bytes (at most {})",
                self.body.len(),
                limits.max_manifest_bytes
            )));
        }
        let body: ShareBody =
            serde_json::from_str(&self.body).map_err(|e| ShareError::Malformed(e.to_string()))?;
        if body.v != 1 {
            return Err(ShareError::Malformed(format!("unknown version {}", body.v)));
        }
        let sig: [u8; 64] = from_b64(&self.sig)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or(ShareError::BadSignature)?;
        let key = body
            .author
            .verifying_key()
            .map_err(|_| ShareError::BadSignature)?;
        key.verify(
            &[SIGN_DOMAIN, self.body.as_bytes()].concat(),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| ShareError::BadSignature)?;
        check_shape(&body, limits)?;
        Ok(VerifiedShare {
            id: share_id(&self.body),
            body,
            manifest: self.clone(),
        })
    }
}

fn check_shape(body: &ShareBody, limits: &Limits) -> Result<(), ShareError> {
    if body.text.len() > limits.max_text_bytes {
        return Err(ShareError::TooLarge(format!(
            "text of {} bytes (at most {})",
            body.text.len(),
            limits.max_text_bytes
        )));
    }
    if body.audience.is_empty() || body.audience.len() > limits.max_audience {
        return Err(ShareError::Malformed(format!(
            "an audience of {} (1 to {})",
            body.audience.len(),
            limits.max_audience
        )));
    }
    match (&body.jpeg, body.kind) {
        (None, ShareKind::Thought) => Ok(()),
        (Some(_), ShareKind::Thought) => Err(ShareError::Malformed("a thought has no JPEG".into())),
        (None, _) => Err(ShareError::Malformed(
            "a snapshot or photo needs a JPEG".into(),
        )),
        (Some(jpeg), _) => {
            if jpeg.len == 0 || jpeg.len > limits.max_jpeg_bytes {
                return Err(ShareError::TooLarge(format!(
                    "a JPEG of {} bytes (1 to {})",
                    jpeg.len, limits.max_jpeg_bytes
                )));
            }
            if jpeg.chunk_size == 0 || jpeg.chunk_size > limits.max_chunk_bytes {
                return Err(ShareError::Malformed(format!(
                    "chunk size {} (1 to {})",
                    jpeg.chunk_size, limits.max_chunk_bytes
                )));
            }
            let expected = jpeg.len.div_ceil(jpeg.chunk_size as u64);
            if jpeg.chunks.len() as u64 != expected {
                return Err(ShareError::Malformed(format!(
                    "{} chunk hashes for {} chunks",
                    jpeg.chunks.len(),
                    expected
                )));
            }
            let hex64 = |h: &String| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex64(&jpeg.sha256) || !jpeg.chunks.iter().all(hex64) {
                return Err(ShareError::Malformed("a hash is not 64 hex digits".into()));
            }
            Ok(())
        }
    }
}

impl VerifiedShare {
    /// How many chunks the JPEG has (0 for a thought).
    pub fn chunk_count(&self) -> u32 {
        self.body.jpeg.as_ref().map_or(0, |j| j.chunks.len() as u32)
    }

    /// Whether `data` is chunk `index` of this share.
    pub fn chunk_ok(&self, index: u32, data: &[u8]) -> bool {
        let Some(jpeg) = &self.body.jpeg else {
            return false;
        };
        let Some(expected) = jpeg.chunks.get(index as usize) else {
            return false;
        };
        let size = jpeg.chunk_size as u64;
        let want_len = (jpeg.len - index as u64 * size).min(size);
        data.len() as u64 == want_len && hex::encode(Sha256::digest(data)) == *expected
    }

    /// Whether `jpeg` is this share's whole JPEG.
    pub fn jpeg_ok(&self, jpeg: &[u8]) -> bool {
        self.body.jpeg.as_ref().is_some_and(|j| {
            j.len == jpeg.len() as u64 && hex::encode(Sha256::digest(jpeg)) == j.sha256
        })
    }
}
