//! The inbox on a real directory: its total bound (stored shares and partial
//! chunks together), refusals that delete nothing, removal by the owner, and
//! the cleanup of writes that never finished.

use super::inbox::Inbox;
use super::manifest::{describe_jpeg, Manifest, ShareBody, VerifiedShare};
use super::store::{ShareLookup, ShareStore};
use super::{ShareError, ShareKind};
use crate::identity::Identity;
use std::fs;

fn photo(author: &Identity, text: &str, len: usize) -> (VerifiedShare, Vec<u8>) {
    let jpeg: Vec<u8> = (0..len).map(|i| (i % 249) as u8).collect();
    let body = ShareBody {
        v: 1,
        author: author.peer_key(),
        created_at: 1_700_000_000_000,
        kind: ShareKind::Photo,
        text: text.into(),
        jpeg: Some(describe_jpeg(&jpeg, 1000)),
        audience: vec![Identity::generate().peer_key()],
    };
    (Manifest::sign(author, &body).unwrap(), jpeg)
}

fn store_whole(inbox: &mut Inbox, share: &VerifiedShare, jpeg: &[u8]) -> Result<(), ShareError> {
    inbox.room_for(share)?;
    for (index, chunk) in jpeg.chunks(1000).enumerate() {
        inbox.put_chunk(&share.id, index as u32, chunk)?;
    }
    let whole = inbox.assemble(share)?;
    inbox.store(share, Some(&whole))
}

#[test]
fn a_share_that_does_not_fit_is_refused_and_nothing_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let gran = Identity::generate();
    let mut inbox = Inbox::open(dir.path(), 12_000).unwrap();
    let (first, jpeg) = photo(&gran, "first", 6_000);
    store_whole(&mut inbox, &first, &jpeg).unwrap();
    let used = inbox.usage().unwrap();
    assert!(
        used.bytes > 6_000 && used.bytes < 12_000,
        "the JPEG and its record: {used:?}"
    );
    assert_eq!((used.max_bytes, used.unfinished), (12_000, 0));

    let (second, jpeg2) = photo(&gran, "second", 6_000);
    let err = inbox.room_for(&second).unwrap_err();
    assert!(matches!(err, ShareError::InboxFull(_)), "{err}");
    assert!(err.to_string().contains("inbox is full"), "{err}");
    assert!(err.to_string().contains("hearth inbox --remove"), "{err}");
    assert!(
        inbox.put_chunk(&second.id, 5, &jpeg2[5000..]).is_ok(),
        "one chunk still fits"
    );
    let err = store_whole(&mut inbox, &second, &jpeg2).unwrap_err();
    assert!(matches!(err, ShareError::InboxFull(_)), "{err}");
    assert!(
        inbox.usage().unwrap().bytes <= 12_000,
        "never over the bound"
    );
    let listed = inbox.list().unwrap();
    assert_eq!(listed.len(), 1, "the stored share is untouched");
    assert_eq!(
        fs::read(listed[0].jpeg_path.as_ref().unwrap()).unwrap(),
        jpeg
    );
}

#[test]
fn partial_chunks_count_toward_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let gran = Identity::generate();
    let mut inbox = Inbox::open(dir.path(), 10_000).unwrap();
    let (big, jpeg) = photo(&gran, "big", 8_000);
    inbox.room_for(&big).unwrap();
    for index in 0..5u32 {
        let at = index as usize * 1000;
        inbox
            .put_chunk(&big.id, index, &jpeg[at..at + 1000])
            .unwrap();
    }
    let usage = inbox.usage().unwrap();
    assert_eq!((usage.bytes, usage.unfinished), (5_000, 1));

    // Another photo does not fit beside them.
    let (other, _) = photo(&gran, "other", 4_500);
    assert!(matches!(
        inbox.room_for(&other),
        Err(ShareError::InboxFull(_))
    ));
    // The unfinished share itself needs only what it does not hold yet.
    inbox
        .room_for(&big)
        .expect("the rest of a share already under way fits");
    let err = inbox.put_chunk(&other.id, 0, &[7u8; 5_500]).unwrap_err();
    assert!(matches!(err, ShareError::InboxFull(_)), "{err}");
    assert_eq!(inbox.chunks_held(&big.id).len(), 5, "kept to resume");

    inbox.discard(&big.id).unwrap();
    assert_eq!(inbox.usage().unwrap().bytes, 0);
    inbox
        .room_for(&other)
        .expect("room once the chunks are gone");
}

#[test]
fn the_owner_removes_shares_by_the_start_of_their_id() {
    let dir = tempfile::tempdir().unwrap();
    let gran = Identity::generate();
    let mut inbox = Inbox::open(dir.path(), 1_000_000).unwrap();
    let (a, jpeg_a) = photo(&gran, "a", 3_000);
    let (b, jpeg_b) = photo(&gran, "b", 3_000);
    store_whole(&mut inbox, &a, &jpeg_a).unwrap();
    store_whole(&mut inbox, &b, &jpeg_b).unwrap();
    let err = inbox.remove("zz").unwrap_err();
    assert!(
        err.to_string().contains("`hearth inbox` lists them"),
        "{err}"
    );
    assert!(inbox.remove("").is_err(), "an empty id matches nothing");
    let removed = inbox.remove(&a.id[..12].to_uppercase()).unwrap();
    assert_eq!(removed, a.id);
    let left: Vec<String> = inbox
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.share.id)
        .collect();
    assert_eq!(left, std::slice::from_ref(&b.id));
    assert!(!dir.path().join(format!("inbox/{}.jpg", a.id)).exists());
}

#[test]
fn writes_that_never_finished_are_cleaned_up_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let gran = Identity::generate();
    let (kept, jpeg) = photo(&gran, "kept", 2_000);
    {
        let mut inbox = Inbox::open(dir.path(), 1_000_000).unwrap();
        store_whole(&mut inbox, &kept, &jpeg).unwrap();
    }
    let inbox_dir = dir.path().join("inbox");
    let orphan = inbox_dir.join(format!("{}.jpg", "ab".repeat(32)));
    let temp = inbox_dir.join(".x.json.tmp-1");
    let chunk_dir = inbox_dir.join("partial").join("cd".repeat(32));
    fs::create_dir_all(&chunk_dir).unwrap();
    let chunk = chunk_dir.join("0.chunk");
    let temp_chunk = chunk_dir.join(".1.chunk.tmp-1");
    for path in [&orphan, &temp, &chunk, &temp_chunk] {
        fs::write(path, b"half").unwrap();
    }
    let inbox = Inbox::open(dir.path(), 1_000_000).unwrap();
    assert!(!orphan.exists() && !temp.exists() && !temp_chunk.exists());
    assert!(chunk.exists(), "a kept chunk is not an unfinished write");
    let listed = inbox.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].jpeg_path.as_ref().unwrap().exists());
}

#[test]
fn damaged_records_and_photos_are_set_aside_on_open_and_still_counted() {
    let dir = tempfile::tempdir().unwrap();
    let gran = Identity::generate();
    let mut inbox = Inbox::open(dir.path(), u64::MAX).unwrap();
    let shares: Vec<(VerifiedShare, Vec<u8>)> = ["whole", "cut record", "bad photo"]
        .into_iter()
        .map(|text| photo(&gran, text, 3_000))
        .collect();
    for (share, jpeg) in &shares {
        store_whole(&mut inbox, share, jpeg).unwrap();
    }
    let record = dir.path().join(format!("inbox/{}.json", shares[1].0.id));
    let text = fs::read(&record).unwrap();
    fs::write(&record, &text[..text.len() / 2]).unwrap();
    let photo_path = dir.path().join(format!("inbox/{}.jpg", shares[2].0.id));
    let mut bytes = fs::read(&photo_path).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&photo_path, &bytes).unwrap();
    let before = inbox.usage().unwrap().bytes;

    let (listed, unreadable) = Inbox::new(dir.path()).scan().unwrap();
    assert_eq!(listed.len(), 2, "a cut record is not listed");
    assert_eq!(unreadable.len(), 1);
    let entry = listed
        .iter()
        .find(|e| e.share.id == shares[2].0.id)
        .unwrap();
    let problem = Inbox::new(dir.path()).photo_problem(entry).unwrap();
    assert!(problem.contains("do not match its hash"), "{problem}");

    let inbox = Inbox::open(dir.path(), u64::MAX).unwrap();
    let ids: Vec<String> = inbox
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.share.id)
        .collect();
    assert_eq!(
        ids,
        [shares[0].0.id.clone()],
        "only the whole one is listed"
    );
    assert!(
        !inbox.is_stored(&shares[1].0.id),
        "a sender may deliver it again"
    );
    let set_aside: Vec<String> = inbox
        .damaged()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        set_aside.len(),
        4,
        "records and photos, none deleted: {set_aside:?}"
    );
    for (share, _) in &shares[1..] {
        assert!(set_aside.contains(&format!("{}.json", share.id)));
        assert!(set_aside.contains(&format!("{}.jpg", share.id)));
    }
    assert_eq!(
        inbox.usage().unwrap().bytes,
        before,
        "what is set aside still takes room until the owner deletes it"
    );
}

#[test]
fn a_kept_chunk_damaged_on_disk_is_set_aside_and_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let gran = Identity::generate();
    let mut inbox = Inbox::open(dir.path(), u64::MAX).unwrap();
    let (share, jpeg) = photo(&gran, "cut", 3_500);
    for (index, chunk) in jpeg.chunks(1000).enumerate() {
        inbox.put_chunk(&share.id, index as u32, chunk).unwrap();
    }
    let chunk = dir
        .path()
        .join(format!("inbox/partial/{}/2.chunk", share.id));
    fs::write(&chunk, b"").unwrap();

    let err = inbox.assemble(&share).unwrap_err();
    assert!(matches!(err, ShareError::Damaged { .. }), "{err}");
    assert!(
        err.is_temporary(),
        "the sender keeps it and offers it again"
    );
    assert!(!err
        .peer_reason()
        .contains(&dir.path().display().to_string()));
    assert_eq!(inbox.chunks_held(&share.id), [0, 1, 3].into());
    assert!(dir
        .path()
        .join(format!("inbox/damaged/{}.2.chunk", share.id))
        .exists());

    inbox.put_chunk(&share.id, 2, &jpeg[2000..3000]).unwrap();
    assert_eq!(inbox.assemble(&share).unwrap(), jpeg);
}
