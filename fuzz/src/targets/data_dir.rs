//! The files the device reads back from its data directory, through the
//! loaders the device uses: `identity.toml`, `contacts.toml`, `privacy.toml`,
//! and the share records in `outbox/` and `inbox/`.
//!
//! First byte selects the file. For the share records, mode 5 and 6 take the
//! record the fuzzer wrote and re-sign its manifest's body with a fixed test
//! key (as the author), so the fuzzer reaches the checks behind the signature;
//! records are named after their share id, as the device names them.
use super::{fixed_identity, reset_dir, scratch_dir};
use hearth::contacts::ContactBook;
use hearth::identity::Identity;
use hearth::privacy::PrivacyState;
use hearth::share::inbox::{Inbox, InboxRecord};
use hearth::share::outbox::{Outbox, OutboxLimits, OutboxRecord};
use hearth::share::{share_id, Manifest, ShareBody};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

struct World {
    dir: PathBuf,
    author: Identity,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World {
        dir: scratch_dir("data-dir"),
        author: fixed_identity(6),
    })
}

const LIMITS: OutboxLimits = OutboxLimits {
    max_shares: 64,
    max_bytes: 16 * 1024 * 1024,
};

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let world = world();
    let dir = &world.dir;
    reset_dir(dir);
    read_back(world, mode, rest);
    // Nothing is left behind between runs, nor after the last one.
    let _ = std::fs::remove_dir_all(dir);
}

fn read_back(world: &World, mode: u8, rest: &[u8]) {
    let dir = &world.dir;
    match mode % 7 {
        0 => {
            write(&dir.join(hearth::identity::IDENTITY_FILE), rest);
            let _ = Identity::load_or_create(dir);
        }
        1 => {
            write(&dir.join(hearth::contacts::CONTACTS_FILE), rest);
            let _ = ContactBook::load(dir);
        }
        2 => {
            write(&dir.join(hearth::privacy::PRIVACY_FILE), rest);
            let _ = PrivacyState::load(dir);
        }
        3 => outbox(
            dir,
            &record_name::<OutboxRecord>(rest, |r| &r.manifest),
            rest,
        ),
        4 => inbox(
            dir,
            &record_name::<InboxRecord>(rest, |r| &r.manifest),
            rest,
        ),
        5 => {
            let Ok(mut record) = serde_json::from_slice::<OutboxRecord>(rest) else {
                return;
            };
            let Some(manifest) = resign(&world.author, &record.manifest) else {
                return;
            };
            record.manifest = manifest;
            let bytes = serde_json::to_vec(&record).expect("a record serializes");
            outbox(dir, &share_id(&record.manifest.body), &bytes);
        }
        _ => {
            let Ok(mut record) = serde_json::from_slice::<InboxRecord>(rest) else {
                return;
            };
            let Some(manifest) = resign(&world.author, &record.manifest) else {
                return;
            };
            record.manifest = manifest;
            let bytes = serde_json::to_vec(&record).expect("a record serializes");
            inbox(dir, &share_id(&record.manifest.body), &bytes);
        }
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("directory");
    std::fs::write(path, bytes).expect("scratch file");
}

/// The record's share id when it has a manifest, else a fixed name.
fn record_name<R: serde::de::DeserializeOwned>(
    bytes: &[u8],
    manifest: fn(&R) -> &Manifest,
) -> String {
    serde_json::from_slice::<R>(bytes)
        .map(|r| share_id(&manifest(&r).body))
        .unwrap_or_else(|_| "0".repeat(64))
}

fn resign(author: &Identity, manifest: &Manifest) -> Option<Manifest> {
    let mut body: ShareBody = serde_json::from_str(&manifest.body).ok()?;
    body.author = author.peer_key();
    Manifest::sign(author, &body).ok().map(|s| s.manifest)
}

fn outbox(dir: &Path, id: &str, bytes: &[u8]) {
    write(&dir.join("outbox").join(format!("{id}.json")), bytes);
    if let Ok(outbox) = Outbox::open(dir, LIMITS) {
        let _ = outbox.list();
        let _ = outbox.per_contact();
    }
}

fn inbox(dir: &Path, id: &str, bytes: &[u8]) {
    write(&dir.join("inbox").join(format!("{id}.json")), bytes);
    if let Ok(inbox) = Inbox::open(dir, 64 * 1024 * 1024) {
        let _ = inbox.scan();
        let _ = inbox.usage();
    }
}
