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

#[test]
fn damaged_records_are_set_aside_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let me = Identity::generate();
    let (gran, ada) = (
        Identity::generate().peer_key(),
        Identity::generate().peer_key(),
    );
    let limits = OutboxLimits {
        max_shares: 4,
        max_bytes: 10_000,
    };
    let outbox = Outbox::open(dir.path(), limits).unwrap();
    let shares: Vec<VerifiedShare> = (0..4)
        .map(|n| share(&me, n, &[n as u8; 100], vec![gran, ada]))
        .collect();
    for (n, s) in shares.iter().enumerate() {
        outbox.add(s, Some(&[n as u8; 100]), &[gran, ada]).unwrap();
    }
    let file = |id: &str, ext: &str| dir.path().join(format!("outbox/{id}.{ext}"));
    // 0: an empty record. 1: waits for a key outside its signed audience.
    // 2: its photo altered. 3: whole.
    std::fs::write(file(&shares[0].id, "json"), "").unwrap();
    let text = std::fs::read_to_string(file(&shares[1].id, "json")).unwrap();
    let stranger = Identity::generate().peer_key();
    std::fs::write(
        file(&shares[1].id, "json"),
        text.replace(&ada.to_string(), &stranger.to_string()),
    )
    .unwrap();
    std::fs::write(file(&shares[2].id, "jpg"), [9u8; 100]).unwrap();

    let listed = outbox.list().unwrap();
    assert_eq!(listed.len(), 2, "damaged records are left out at once");
    let outbox = Outbox::open(dir.path(), limits).unwrap();
    outbox.check_all().unwrap();
    let ids: Vec<String> = outbox
        .list()
        .unwrap()
        .into_iter()
        .map(|q| q.share.id)
        .collect();
    assert_eq!(ids, [shares[3].id.clone()]);
    assert_eq!(outbox.per_contact().unwrap().get(&gran), Some(&1));
    let err = outbox.jpeg(&shares[2]).unwrap_err();
    assert!(matches!(err, ShareError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("set aside"), "{err}");
    let set_aside: Vec<String> = outbox
        .damaged()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for (n, s) in shares[..3].iter().enumerate() {
        assert!(
            set_aside.contains(&format!("{}.json", s.id)),
            "{n}: {set_aside:?}"
        );
        assert!(
            set_aside.contains(&format!("{}.jpg", s.id)),
            "{n}: {set_aside:?}"
        );
    }
    let new = share(&me, 9, &[9; 100], vec![gran]);
    outbox
        .add(&new, Some(&[9; 100]), &[gran])
        .expect("a new share is accepted");
    assert_eq!(outbox.list().unwrap().len(), 2);
}
