//! The share protocol as a receiving device reads it: data-channel control
//! messages, binary chunk frames and signed manifests.
//!
//! First byte selects: 0 `Control::parse`; 1 `decode_chunk`; 2 a manifest
//! from anyone (`Manifest::verify`); 3 a share body, which this target signs
//! with a fixed test key (as its author) so the fuzzer reaches the checks
//! behind the signature, then checks chunk `index` against the rest of the
//! input (`index` is the two bytes after the body's length).
use super::fixed_identity;
use hearth::identity::Identity;
use hearth::share::wire::{decode_chunk, Control};
use hearth::share::{Limits, Manifest, ShareBody};
use std::sync::OnceLock;

fn author() -> &'static Identity {
    static AUTHOR: OnceLock<Identity> = OnceLock::new();
    AUTHOR.get_or_init(|| fixed_identity(3))
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = Control::parse(text);
            }
        }
        1 => {
            if let Ok(chunk) = decode_chunk(rest) {
                assert!(chunk.data.len() <= rest.len());
            }
        }
        2 => {
            if let Ok(manifest) = serde_json::from_slice::<Manifest>(rest) {
                let _ = manifest.verify(&Limits::default());
            }
        }
        _ => signed_body(rest),
    }
}

/// `[body_len u16 BE][index u16 BE][body][chunk]`.
fn signed_body(rest: &[u8]) {
    if rest.len() < 4 {
        return;
    }
    let body_len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
    let index = u16::from_be_bytes([rest[2], rest[3]]) as u32;
    let rest = &rest[4..];
    let (body, chunk) = rest.split_at(body_len.min(rest.len()));
    let Ok(mut body) = serde_json::from_slice::<ShareBody>(body) else {
        return;
    };
    body.author = author().peer_key();
    let Ok(signed) = Manifest::sign(author(), &body) else {
        return;
    };
    let Ok(share) = signed.manifest.verify(&Limits::default()) else {
        return;
    };
    assert_eq!(share.id, signed.id);
    let _ = share.chunk_count();
    let _ = share.chunk_ok(index, chunk);
    let _ = share.jpeg_ok(chunk);
}
