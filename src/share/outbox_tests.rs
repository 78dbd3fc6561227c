//! The outbox on disk: bounded with a written-down policy, per-recipient
//! bookkeeping, and cleanup of writes that never finished.

use super::manifest::{describe_jpeg, Manifest, ShareBody};
use super::outbox::{Outbox, OutboxLimits};
use super::{ShareError, ShareKind, VerifiedShare};
use crate::identity::Identity;
use crate::keys::PeerKey;

fn share(author: &Identity, n: u64, jpeg: &[u8], audience: Vec<PeerKey>) -> VerifiedShare {
    let body = ShareBody {
        v: 1,
        author: author.peer_key(),
        created_at: n,
        kind: ShareKind::Photo,
        text: format!("photo {n}"),
        jpeg: Some(describe_jpeg(jpeg, 1000)),
        audience,
    };
    Manifest::sign(author, &body).unwrap()
}

#[test]
fn a_full_outbox_refuses_new_shares_and_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let me = Identity::generate();
    let gran = Identity::generate().peer_key();
    let outbox = Outbox::open(
        dir.path(),
        OutboxLimits {
            max_shares: 2,
            max_bytes: 10_000,
        },
    )
    .unwrap();
    for n in 0..2 {
        outbox
            .add(
                &share(&me, n, &[n as u8; 100], vec![gran]),
                Some(&[n as u8; 100]),
                &[gran],
            )
            .unwrap();
    }
    let err = outbox
        .add(
            &share(&me, 9, &[9; 100], vec![gran]),
            Some(&[9; 100]),
            &[gran],
        )
        .unwrap_err();
    assert!(matches!(err, ShareError::OutboxFull(_)), "{err}");
    assert!(
        err.to_string().contains("nothing waiting was dropped"),
        "{err}"
    );
    assert_eq!(outbox.list().unwrap().len(), 2, "nothing was dropped");
    let big = Outbox::open(
        dir.path(),
        OutboxLimits {
            max_shares: 10,
            max_bytes: 250,
        },
    )
    .unwrap();
    let err = big
        .add(
            &share(&me, 9, &[9; 100], vec![gran]),
            Some(&[9; 100]),
            &[gran],
        )
        .unwrap_err();
    assert!(err.to_string().contains("bytes"), "{err}");
}

#[test]
fn a_share_leaves_once_every_recipient_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let me = Identity::generate();
    let (gran, tom) = (
        Identity::generate().peer_key(),
        Identity::generate().peer_key(),
    );
    let limits = OutboxLimits {
        max_shares: 10,
        max_bytes: 1 << 20,
    };
    let outbox = Outbox::open(dir.path(), limits).unwrap();
    let s = share(&me, 1, &[7; 2500], vec![gran, tom]);
    outbox.add(&s, Some(&[7; 2500]), &[gran, tom]).unwrap();
    assert_eq!(outbox.pending_for(&tom).unwrap().len(), 1);
    assert_eq!(outbox.jpeg(&s).unwrap().unwrap(), vec![7; 2500]);
    outbox.done(&s.id, &gran).unwrap();
    assert!(outbox.pending_for(&gran).unwrap().is_empty());
    assert_eq!(outbox.per_contact().unwrap().get(&tom), Some(&1));
    outbox.done(&s.id, &tom).unwrap();
    assert!(outbox.list().unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .count(),
        0,
        "files removed"
    );
}

#[test]
fn unfinished_writes_are_cleaned_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox_dir).unwrap();
    std::fs::write(outbox_dir.join("abc.jpg"), b"orphan").unwrap();
    std::fs::write(outbox_dir.join(".abc.json.tmp-123"), b"torn").unwrap();
    let limits = OutboxLimits {
        max_shares: 10,
        max_bytes: 1 << 20,
    };
    let outbox = Outbox::open(dir.path(), limits).unwrap();
    assert!(outbox.list().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(&outbox_dir).unwrap().count(), 0);
}
