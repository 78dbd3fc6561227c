//! Two [`ShareSession`]s wired together in memory on a fake clock: delivery,
//! resuming a cut transfer, duplicates, and every refusal. The tests carry
//! out the writes a session asks for ([`Output::Write`]) on a store and give
//! their outcomes back, as the device's driver does.

use super::manifest::{describe_jpeg, Manifest, ShareBody, VerifiedShare};
use super::session::{Output, ReceiveRules, ShareSession};
use super::store::{ShareLookup, ShareStore, StoreWrite, WriteDone};
use super::{Limits, ShareError, ShareKind};
use crate::identity::Identity;
use crate::keys::PeerKey;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

#[derive(Default)]
struct MemStore {
    chunks: HashMap<String, BTreeMap<u32, Vec<u8>>>,
    stored: HashMap<String, Option<Vec<u8>>>,
    stores: usize,
    /// Bytes of JPEG (whole or in chunks) it may hold; `None`: no bound.
    room: Option<u64>,
}

impl MemStore {
    fn used(&self) -> u64 {
        let whole: usize = self.stored.values().flatten().map(Vec::len).sum();
        let chunks: usize = self
            .chunks
            .values()
            .flat_map(|c| c.values())
            .map(Vec::len)
            .sum();
        (whole + chunks) as u64
    }

    fn check(&self, adding: u64) -> Result<(), ShareError> {
        match self.room {
            Some(room) if self.used() + adding > room => Err(ShareError::InboxFull(format!(
                "{} of {room} bytes",
                self.used()
            ))),
            _ => Ok(()),
        }
    }
}

impl ShareLookup for MemStore {
    fn room_for(&self, share: &VerifiedShare) -> Result<(), ShareError> {
        let held: usize = self
            .chunks
            .get(&share.id)
            .map_or(0, |c| c.values().map(Vec::len).sum());
        let len = share.body.jpeg.as_ref().map_or(0, |j| j.len);
        self.check(len.saturating_sub(held as u64))
    }
    fn is_stored(&self, id: &str) -> bool {
        self.stored.contains_key(id)
    }
    fn chunks_held(&self, id: &str) -> BTreeSet<u32> {
        self.chunks
            .get(id)
            .map(|c| c.keys().copied().collect())
            .unwrap_or_default()
    }
}

impl ShareStore for MemStore {
    fn discard(&mut self, id: &str) -> Result<(), ShareError> {
        self.chunks.remove(id);
        Ok(())
    }
    fn put_chunk(&mut self, id: &str, index: u32, data: &[u8]) -> Result<(), ShareError> {
        self.check(data.len() as u64)?;
        self.chunks
            .entry(id.into())
            .or_default()
            .insert(index, data.to_vec());
        Ok(())
    }
    fn assemble(&self, share: &VerifiedShare) -> Result<Vec<u8>, ShareError> {
        Ok(self.chunks[&share.id].values().flatten().copied().collect())
    }
    fn store(&mut self, share: &VerifiedShare, jpeg: Option<&[u8]>) -> Result<(), ShareError> {
        self.stores += 1;
        self.chunks.remove(&share.id);
        self.stored
            .insert(share.id.clone(), jpeg.map(<[u8]>::to_vec));
        Ok(())
    }
}

const ALL: ReceiveRules = ReceiveRules {
    snapshots: true,
    photos_and_thoughts: true,
};

fn make_share(
    author: &Identity,
    kind: ShareKind,
    jpeg: Option<&[u8]>,
    audience: Vec<PeerKey>,
) -> VerifiedShare {
    let body = ShareBody {
        v: 1,
        author: author.peer_key(),
        created_at: 1_700_000_000_000,
        kind,
        text: "hello".into(),
        jpeg: jpeg.map(|j| describe_jpeg(j, 1000)),
        audience,
    };
    Manifest::sign(author, &body).unwrap()
}

/// What crossed the wire in one direction, and the outputs left over.
#[derive(Default)]
struct Pumped {
    chunks: usize,
    events: Vec<Output>,
}

/// Moves messages from `a` to `b` and back until both are quiet, carrying out
/// each side's writes on its store (`b_store` for `b`) as they come; the first
/// `cut_after` chunk frames from `a` arrive and the rest are lost (a cut link).
fn pump(
    a: &mut ShareSession,
    b: &mut ShareSession,
    b_store: &mut dyn ShareStore,
    now: Instant,
    cut_after: Option<usize>,
) -> (Pumped, Pumped) {
    let (mut pa, mut pb) = (Pumped::default(), Pumped::default());
    let mut a_store = MemStore::default();
    let mut cut = false;
    loop {
        let mut moved = false;
        while let Some(out) = a.poll_output() {
            moved = true;
            match out {
                Output::SendText(t) if !cut => {
                    b.handle_text(&t, now, &*b_store);
                }
                Output::SendBinary(f) if !cut => {
                    if cut_after == Some(pa.chunks) {
                        cut = true;
                        continue;
                    }
                    pa.chunks += 1;
                    b.handle_binary(&f);
                }
                Output::SendText(_) | Output::SendBinary(_) => {}
                Output::Write(w) => a.handle_written(w.carry_out(&mut a_store)),
                other => pa.events.push(other),
            }
        }
        while let Some(out) = b.poll_output() {
            moved = true;
            match out {
                Output::SendText(t) if !cut => {
                    a.handle_text(&t, now, &a_store);
                }
                Output::SendBinary(f) if !cut => a.handle_binary(&f),
                Output::SendText(_) | Output::SendBinary(_) => {}
                Output::Write(w) => b.handle_written(w.carry_out(b_store)),
                other => pb.events.push(other),
            }
        }
        if !moved {
            return (pa, pb);
        }
    }
}

/// Everything `session` wants done now, in order, but its writes: those are
/// carried out on `store` as they come and their outcomes given back.
fn settle(session: &mut ShareSession, store: &mut dyn ShareStore) -> Vec<Output> {
    let mut outputs = vec![];
    while let Some(output) = session.poll_output() {
        match output {
            Output::Write(w) => session.handle_written(w.carry_out(store)),
            other => outputs.push(other),
        }
    }
    outputs
}

fn pair(alice: &Identity, bob: &Identity, rules: ReceiveRules) -> (ShareSession, ShareSession) {
    (
        ShareSession::new(alice.peer_key(), bob.peer_key(), ALL, Limits::default()),
        ShareSession::new(bob.peer_key(), alice.peer_key(), rules, Limits::default()),
    )
}

/// A real JPEG (received photos must decode) of exactly `len` bytes: a small
/// picture padded with comment segments; just the picture when `len` is smaller.
fn jpeg_of(len: usize) -> Vec<u8> {
    let rgb: Vec<u8> = (0..16 * 16 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let mut picture = Vec::new();
    jpeg_encoder::Encoder::new(&mut picture, 80)
        .encode(&rgb, 16, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let mut pad = len.saturating_sub(picture.len());
    assert!(
        !(1..4).contains(&pad),
        "a comment segment takes 4 bytes at least"
    );
    let mut jpeg = picture[..2].to_vec();
    let mut filler = 0u8;
    while pad > 0 {
        let mut n = (pad - 4).min(65533);
        if (1..4).contains(&(pad - 4 - n)) {
            n -= 4;
        }
        jpeg.extend_from_slice(&[0xFF, 0xFE]);
        jpeg.extend_from_slice(&(n as u16 + 2).to_be_bytes());
        jpeg.extend((0..n).map(|_| {
            filler = filler.wrapping_add(37);
            filler & 0x7F
        }));
        pad -= 4 + n;
    }
    jpeg.extend_from_slice(&picture[2..]);
    jpeg
}

#[test]
fn a_snapshot_is_delivered_verified_and_acknowledged() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(4500);
    let share = make_share(
        &alice,
        ShareKind::Snapshot,
        Some(&jpeg),
        vec![bob.peer_key()],
    );
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    let mut store = MemStore::default();
    let now = Instant::now();
    a.push(share.clone(), Some(jpeg.clone()), now);
    let (pa, pb) = pump(&mut a, &mut b, &mut store, now, None);
    assert_eq!(pa.chunks, 5);
    assert!(matches!(&pa.events[..], [Output::Delivered(id)] if *id == share.id));
    assert!(matches!(&pb.events[..], [Output::Received(s)] if s.id == share.id));
    assert_eq!(store.stored[&share.id].as_deref(), Some(&jpeg[..]));
    assert!(!a.is_sending());
}

#[test]
fn a_cut_transfer_resumes_without_resending_what_arrived() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(10_000);
    let share = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let mut store = MemStore::default();
    let now = Instant::now();
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    a.push(share.clone(), Some(jpeg.clone()), now);
    let (first, _) = pump(&mut a, &mut b, &mut store, now, Some(5));
    assert_eq!(first.chunks, 5);
    assert!(first.events.is_empty(), "not delivered: {:?}", first.events);
    assert_eq!(store.chunks_held(&share.id).len(), 5);

    let (mut a, mut b) = pair(&alice, &bob, ALL);
    a.push(share.clone(), Some(jpeg.clone()), now);
    let (second, pb) = pump(&mut a, &mut b, &mut store, now, None);
    assert_eq!(second.chunks, 5, "only the 5 missing chunks are sent again");
    assert!(matches!(&second.events[..], [Output::Delivered(_)]));
    assert!(matches!(&pb.events[..], [Output::Received(_)]));
    assert_eq!(store.stored[&share.id].as_deref(), Some(&jpeg[..]));
}

#[test]
fn a_cut_transfer_resumes_from_the_chunks_kept_on_disk() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(7_500);
    let share = make_share(
        &alice,
        ShareKind::Snapshot,
        Some(&jpeg),
        vec![bob.peer_key()],
    );
    let dir = tempfile::tempdir().unwrap();
    let now = Instant::now();
    {
        let mut inbox = super::inbox::Inbox::new(dir.path());
        let (mut a, mut b) = pair(&alice, &bob, ALL);
        a.push(share.clone(), Some(jpeg.clone()), now);
        let (first, _) = pump(&mut a, &mut b, &mut inbox, now, Some(3));
        assert_eq!(first.chunks, 3);
    }
    // A restart in between: a fresh inbox on the same directory.
    let mut inbox = super::inbox::Inbox::new(dir.path());
    assert_eq!(inbox.chunks_held(&share.id).len(), 3);
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    a.push(share.clone(), Some(jpeg.clone()), now);
    let (second, _) = pump(&mut a, &mut b, &mut inbox, now, None);
    assert_eq!(second.chunks, 5, "8 chunks, 3 kept: only 5 sent again");
    assert!(matches!(&second.events[..], [Output::Delivered(_)]));
    let listed = inbox.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        std::fs::read(listed[0].jpeg_path.as_ref().unwrap()).unwrap(),
        jpeg
    );
    assert!(
        !dir.path().join("inbox/partial").join(&share.id).exists(),
        "partial chunks removed"
    );
}

#[test]
fn a_share_delivered_twice_is_stored_once() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let share = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let mut store = MemStore::default();
    let now = Instant::now();
    for _ in 0..2 {
        let (mut a, mut b) = pair(&alice, &bob, ALL);
        a.push(share.clone(), None, now);
        let (pa, _) = pump(&mut a, &mut b, &mut store, now, None);
        assert!(matches!(&pa.events[..], [Output::Delivered(_)]));
    }
    assert_eq!(store.stores, 1);
}

fn refusal_of(
    share: VerifiedShare,
    jpeg: Option<Vec<u8>>,
    from: &Identity,
    to: &Identity,
    rules: ReceiveRules,
) -> (String, MemStore) {
    let (mut a, mut b) = pair(from, to, rules);
    let mut store = MemStore::default();
    a.push(share, jpeg, Instant::now());
    let (pa, pb) = pump(&mut a, &mut b, &mut store, Instant::now(), None);
    let rejected = pa.events.iter().find_map(|e| match e {
        Output::Rejected { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(pb.events.iter().all(|e| !matches!(e, Output::Received(_))));
    (rejected.expect("the sender is told why"), store)
}

#[test]
fn forged_and_tampered_shares_are_refused() {
    let (alice, bob, mallory) = (
        Identity::generate(),
        Identity::generate(),
        Identity::generate(),
    );
    let mut share = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    // Mallory signs a share claiming Alice wrote it.
    let forged = make_share(&mallory, ShareKind::Thought, None, vec![bob.peer_key()]);
    share.manifest.sig = forged.manifest.sig.clone();
    let (reason, store) = refusal_of(share.clone(), None, &alice, &bob, ALL);
    assert!(reason.contains("signature does not verify"), "{reason}");
    assert!(store.stored.is_empty());
    share.manifest = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]).manifest;
    share.manifest.body = share.manifest.body.replace("hello", "HELLO");
    share.id = super::share_id(&share.manifest.body);
    let (reason, _) = refusal_of(share, None, &alice, &bob, ALL);
    assert!(reason.contains("signature does not verify"), "{reason}");
}

#[test]
fn oversized_and_malformed_shares_are_refused() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let big = jpeg_of(10_000);
    let share = make_share(&alice, ShareKind::Photo, Some(&big), vec![bob.peer_key()]);
    let mut b = ShareSession::new(
        bob.peer_key(),
        alice.peer_key(),
        ALL,
        Limits {
            max_jpeg_bytes: 5000,
            ..Limits::default()
        },
    );
    let mut store = MemStore::default();
    let offer = serde_json::json!({"type": "share_offer", "manifest": share.manifest}).to_string();
    b.handle_text(&offer, Instant::now(), &store);
    let outputs = settle(&mut b, &mut store);
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Refused(ShareError::TooLarge(_)))),
        "{outputs:?}"
    );
    assert!(b.handle_text(
        r#"{"type":"share_offer","manifest":7}"#,
        Instant::now(),
        &store
    ));
    assert!(matches!(b.poll_output(), Some(Output::SendText(t)) if t.contains("share_refused")));
    assert!(matches!(
        b.poll_output(),
        Some(Output::Refused(ShareError::Malformed(_)))
    ));
    b.handle_binary(b"garbage");
    assert!(matches!(
        b.poll_output(),
        Some(Output::Refused(ShareError::Malformed(_)))
    ));
    assert!(
        !b.handle_text(r#"{"type":"ping","id":1}"#, Instant::now(), &store),
        "not ours"
    );
}

#[test]
fn a_damaged_chunk_is_refused() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(3000);
    let share = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let mut b = ShareSession::new(bob.peer_key(), alice.peer_key(), ALL, Limits::default());
    let mut store = MemStore::default();
    let offer = serde_json::json!({"type": "share_offer", "manifest": share.manifest}).to_string();
    b.handle_text(&offer, Instant::now(), &store);
    while b.poll_output().is_some() {}
    let frame = super::wire::encode_chunk(&share.id, 0, &[9u8; 1000]).unwrap();
    b.handle_binary(&frame);
    let outputs = settle(&mut b, &mut store);
    assert!(
        !outputs.iter().any(|o| matches!(o, Output::Write(_))),
        "nothing of it is written"
    );
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Refused(ShareError::Corrupt(_)))),
        "{outputs:?}"
    );
    assert!(store.chunks_held(&share.id).is_empty());
}

#[test]
fn a_photo_that_does_not_decode_is_refused_with_its_code_and_not_kept() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    // Signed as it is, so every chunk and the whole match their hashes: the
    // sender's file was cut short before it was shared.
    let whole = jpeg_of(3000);
    let cut = whole[..whole.len() - 300].to_vec();
    let share = make_share(&alice, ShareKind::Photo, Some(&cut), vec![bob.peer_key()]);
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    let mut store = MemStore::default();
    a.push(share.clone(), Some(cut), Instant::now());
    let mut refusal = None;
    let mut events = vec![];
    for _ in 0..100 {
        while let Some(out) = a.poll_output() {
            match out {
                Output::SendText(t) => {
                    b.handle_text(&t, Instant::now(), &store);
                }
                Output::SendBinary(f) => b.handle_binary(&f),
                other => events.push(other),
            }
        }
        while let Some(out) = b.poll_output() {
            match out {
                Output::SendText(t) => {
                    if t.contains("share_refused") {
                        refusal = Some(t.clone());
                    }
                    a.handle_text(&t, Instant::now(), &MemStore::default());
                }
                Output::Write(w) => b.handle_written(w.carry_out(&mut store)),
                Output::Received(_) => panic!("a damaged photo was kept"),
                other => events.push(other),
            }
        }
    }
    let refusal: serde_json::Value = serde_json::from_str(&refusal.expect("refused")).unwrap();
    assert_eq!(refusal["code"], "undecodable", "{refusal}");
    assert!(
        refusal["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be decoded"),
        "{refusal}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Output::Refused(ShareError::Undecodable(_)))));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Output::Rejected { id, .. } if *id == share.id)),
        "the sender stops offering it: {events:?}"
    );
    assert!(store.stored.is_empty(), "nothing stored");
    assert!(
        store.chunks_held(&share.id).is_empty(),
        "its chunks dropped"
    );
}

#[test]
fn nobody_outside_the_audience_gets_a_share() {
    let (alice, bob, carol) = (
        Identity::generate(),
        Identity::generate(),
        Identity::generate(),
    );
    // Alice never offers Carol a share addressed to Bob.
    let share = make_share(
        &alice,
        ShareKind::Snapshot,
        Some(&jpeg_of(10)),
        vec![bob.peer_key()],
    );
    let mut a = ShareSession::new(alice.peer_key(), carol.peer_key(), ALL, Limits::default());
    a.push(share.clone(), Some(jpeg_of(10)), Instant::now());
    assert!(matches!(a.poll_output(), Some(Output::Rejected { .. })));
    assert!(a.poll_output().is_none(), "nothing is sent");
    // Carol refuses it if it comes anyway (a modified sender).
    let (reason, _) = refusal_of(share.clone(), Some(jpeg_of(10)), &alice, &carol, ALL);
    assert!(reason.contains("audience"), "{reason}");
    // Bob refuses to take it from Carol: shares are never passed on.
    let mut b = ShareSession::new(bob.peer_key(), carol.peer_key(), ALL, Limits::default());
    let offer = serde_json::json!({"type": "share_offer", "manifest": share.manifest}).to_string();
    b.handle_text(&offer, Instant::now(), &MemStore::default());
    assert!(
        matches!(b.poll_output(), Some(Output::SendText(t)) if t.contains("only from its author"))
    );
}

#[test]
fn photos_and_thoughts_need_talk_back() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let share = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let rules = ReceiveRules {
        snapshots: true,
        photos_and_thoughts: false,
    };
    let (reason, _) = refusal_of(share, None, &alice, &bob, rules);
    assert!(reason.contains("talk_back"), "{reason}");
}

#[test]
fn talk_back_allowed_during_a_session_applies_to_the_next_offer() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let no_talk_back = ReceiveRules {
        snapshots: true,
        photos_and_thoughts: false,
    };
    let (mut a, mut b) = pair(&alice, &bob, no_talk_back);
    let mut store = MemStore::default();
    let now = Instant::now();
    let first = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    a.push(first, None, now);
    let (pa, _) = pump(&mut a, &mut b, &mut store, now, None);
    assert!(
        matches!(&pa.events[..], [Output::Rejected { reason, .. }] if reason.contains("talk_back"))
    );

    // The owner allows `talk_back`; the same session now takes a thought.
    b.set_rules(ALL);
    let mut second = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    second.body.text = "again".into();
    let second = Manifest::sign(&alice, &second.body).unwrap();
    a.push(second.clone(), None, now);
    let (pa, pb) = pump(&mut a, &mut b, &mut store, now, None);
    assert!(matches!(&pa.events[..], [Output::Delivered(id)] if *id == second.id));
    assert!(matches!(&pb.events[..], [Output::Received(_)]));
    assert_eq!(store.stores, 1);
}

#[test]
fn a_silent_peer_times_out_on_the_fake_clock() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let share = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let start = Instant::now();
    let mut a = ShareSession::new(alice.peer_key(), bob.peer_key(), ALL, Limits::default())
        .with_response_timeout(Duration::from_secs(30));
    a.push(share, None, start);
    assert!(matches!(a.poll_output(), Some(Output::SendText(_))));
    a.handle_timeout(start + Duration::from_secs(29));
    assert!(a.poll_output().is_none());
    assert_eq!(a.poll_timeout(), Some(start + Duration::from_secs(30)));
    a.handle_timeout(start + Duration::from_secs(30));
    assert!(matches!(a.poll_output(), Some(Output::TimedOut { .. })));
}

/// Moves the text messages waiting in `from` to `to`, stopping after
/// `max_chunks` chunk frames, which are returned undelivered, with the other outputs.
fn texts_across(
    from: &mut ShareSession,
    to: &mut ShareSession,
    store: &dyn ShareLookup,
    now: Instant,
    max_chunks: usize,
) -> (Vec<Vec<u8>>, Vec<Output>) {
    let (mut frames, mut events) = (vec![], vec![]);
    while let Some(output) = from.poll_output() {
        match output {
            Output::SendText(t) => {
                to.handle_text(&t, now, store);
            }
            Output::SendBinary(f) => {
                frames.push(f);
                if frames.len() >= max_chunks {
                    break;
                }
            }
            other => events.push(other),
        }
    }
    (frames, events)
}

#[test]
fn cancelling_the_share_in_flight_stops_its_chunks_at_once() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(10_000);
    let share = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let next = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    let (a_store, mut b_store) = (MemStore::default(), MemStore::default());
    let now = Instant::now();
    a.push(share.clone(), Some(jpeg.clone()), now);
    a.push(next.clone(), None, now);
    assert_eq!(a.outgoing(), [share.id.clone(), next.id.clone()]);
    // The offer goes over and Bob's `share_have` comes back.
    texts_across(&mut a, &mut b, &b_store, now, 0);
    texts_across(&mut b, &mut a, &a_store, now, 0);
    // Two of the ten chunks go out and arrive, the third is on its way.
    let (frames, _) = texts_across(&mut a, &mut b, &b_store, now, 3);
    assert_eq!(frames.len(), 3);
    for frame in &frames[..2] {
        b.handle_binary(frame);
    }
    assert!(settle(&mut b, &mut b_store).is_empty());
    assert_eq!(b_store.chunks_held(&share.id).len(), 2);

    assert!(a.cancel(&share.id, now), "the share in flight is withdrawn");
    let mut texts = vec![];
    while let Some(output) = a.poll_output() {
        match output {
            Output::SendText(t) => texts.push(t),
            Output::SendBinary(_) => panic!("a chunk was sent after the share was withdrawn"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&texts[0]).unwrap(),
        serde_json::json!({"type": "share_cancel", "id": share.id})
    );
    assert!(
        texts[1].contains("share_offer"),
        "the next share is offered"
    );
    assert_eq!(a.outgoing(), std::slice::from_ref(&next.id));
    assert!(!a.cancel(&share.id, now), "already gone");

    // Bob drops what he kept, and the chunk still on its way is ignored quietly.
    b.handle_text(&texts[0], now, &b_store);
    let mut outputs = settle(&mut b, &mut b_store);
    assert!(b_store.chunks_held(&share.id).is_empty());
    b.handle_binary(&frames[2]);
    outputs.extend(settle(&mut b, &mut b_store));
    assert!(b_store.chunks_held(&share.id).is_empty());
    assert!(
        outputs
            .iter()
            .all(|o| !matches!(o, Output::Refused(_) | Output::Received(_))),
        "{outputs:?}"
    );
    b.handle_text(&texts[1], now, &b_store);
    let (pa, pb) = pump(&mut a, &mut b, &mut b_store, now, None);
    assert!(matches!(&pa.events[..], [Output::Delivered(id)] if *id == next.id));
    assert!(matches!(&pb.events[..], [Output::Received(s)] if s.id == next.id));
    assert!(!b_store.stored.contains_key(&share.id));
}

#[test]
fn a_queued_share_is_withdrawn_before_it_is_offered() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let first = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let mut second_body = first.body.clone();
    second_body.text = "second".into();
    let second = Manifest::sign(&alice, &second_body).unwrap();
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    let now = Instant::now();
    a.push(first.clone(), None, now);
    a.push(second.clone(), None, now);
    assert!(a.cancel(&second.id, now));
    assert_eq!(a.outgoing(), std::slice::from_ref(&first.id));
    let mut store = MemStore::default();
    let (pa, _) = pump(&mut a, &mut b, &mut store, now, None);
    assert!(matches!(&pa.events[..], [Output::Delivered(id)] if *id == first.id));
    assert!(!store.stored.contains_key(&second.id), "never offered");
}

#[test]
fn a_full_inbox_refuses_for_now_and_the_sender_keeps_the_share() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(5_000);
    let share = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let now = Instant::now();
    let store = MemStore {
        room: Some(4_000),
        ..MemStore::default()
    };
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    a.push(share.clone(), Some(jpeg.clone()), now);
    texts_across(&mut a, &mut b, &store, now, 0);
    let refusal = match b.poll_output() {
        Some(Output::SendText(t)) => t,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let refusal: serde_json::Value = serde_json::from_str(&refusal).unwrap();
    assert_eq!(refusal["type"], "share_refused");
    assert_eq!(refusal["retry"], true);
    let reason = refusal["reason"].as_str().unwrap();
    assert!(reason.contains("the device's inbox is full"), "{reason}");
    assert!(
        matches!(
            b.poll_output(),
            Some(Output::Refused(ShareError::InboxFull(_)))
        ),
        "the owner's side hears of it"
    );
    a.handle_text(&refusal.to_string(), now, &MemStore::default());
    assert!(
        matches!(a.poll_output(), Some(Output::Deferred { id, .. }) if id == share.id),
        "kept for later, not rejected for good"
    );
    assert!(!a.is_sending());
    assert!(store.chunks.is_empty(), "nothing was written");
}

#[test]
fn an_inbox_that_fills_mid_transfer_keeps_the_chunks_and_resumes_later() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(5_000);
    let share = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let now = Instant::now();
    let mut store = MemStore::default();
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    a.push(share.clone(), Some(jpeg.clone()), now);
    texts_across(&mut a, &mut b, &store, now, 0);
    texts_across(&mut b, &mut a, &MemStore::default(), now, 0);
    // Room runs out after two chunks (another transfer took the rest).
    store.room = Some(2_000);
    let (pa, pb) = pump(&mut a, &mut b, &mut store, now, None);
    assert!(
        matches!(&pa.events[..], [Output::Deferred { .. }]),
        "{:?}",
        pa.events
    );
    assert!(
        matches!(&pb.events[..], [Output::Refused(ShareError::InboxFull(_))]),
        "late chunks are ignored quietly: {:?}",
        pb.events
    );
    assert_eq!(store.chunks_held(&share.id).len(), 2, "nothing deleted");

    // Room again (the owner removed something): only the rest is sent.
    store.room = None;
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    a.push(share.clone(), Some(jpeg.clone()), now);
    let (pa, pb) = pump(&mut a, &mut b, &mut store, now, None);
    assert_eq!(pa.chunks, 3);
    assert!(matches!(&pa.events[..], [Output::Delivered(_)]));
    assert!(matches!(&pb.events[..], [Output::Received(_)]));
    assert_eq!(store.stored[&share.id].as_deref(), Some(&jpeg[..]));
}

/// Everything `session` wants done now, in order.
fn drain(session: &mut ShareSession) -> Vec<Output> {
    std::iter::from_fn(|| session.poll_output()).collect()
}

/// The texts among `outputs`.
fn texts(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::SendText(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// A session whose peer went silent for longer than the response timeout (a
/// cut link) offers the share again on the same session: it is not left in
/// the outbox until the next call, which may be days away.
#[test]
fn a_share_that_timed_out_is_offered_again_on_the_same_session() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let share = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    let start = Instant::now();
    a.push(share.clone(), None, start);
    // The offer is lost on the cut link.
    assert_eq!(texts(&drain(&mut a)).len(), 1);
    let timeout = start + Duration::from_secs(30);
    a.handle_timeout(timeout);
    assert!(drain(&mut a)
        .iter()
        .any(|o| matches!(o, Output::TimedOut { .. })));
    assert_eq!(
        a.outgoing(),
        std::slice::from_ref(&share.id),
        "still ours to send"
    );
    let again = a.poll_timeout().expect("a time to offer it again");
    assert!(again > timeout && again <= timeout + Duration::from_secs(30));
    a.handle_timeout(again);
    let mut store = MemStore::default();
    let (pa, pb) = pump(&mut a, &mut b, &mut store, again, None);
    assert!(matches!(&pa.events[..], [Output::Delivered(id)] if *id == share.id));
    assert!(matches!(&pb.events[..], [Output::Received(_)]));
}

/// A timed-out share does not hold up the shares queued behind it.
#[test]
fn the_next_share_is_offered_when_one_times_out() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let first = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let mut second_body = first.body.clone();
    second_body.text = "second".into();
    let second = Manifest::sign(&alice, &second_body).unwrap();
    let (mut a, _) = pair(&alice, &bob, ALL);
    let start = Instant::now();
    a.push(first.clone(), None, start);
    a.push(second.clone(), None, start);
    drain(&mut a);
    a.handle_timeout(start + Duration::from_secs(30));
    let offers = texts(&drain(&mut a));
    assert_eq!(offers.len(), 1, "{offers:?}");
    let offered = match super::wire::Control::parse(&offers[0]) {
        Ok(Some(super::wire::Control::ShareOffer { manifest })) => {
            manifest.verify(&Limits::default()).unwrap().id
        }
        other => panic!("expected an offer, got {other:?}"),
    };
    assert_eq!(offered, second.id);
}

/// The peer's answer to an offer that had timed out (it was in a data
/// channel's retransmission back-off) still counts: an acknowledgement makes
/// the share delivered, a `share_have` resumes the transfer at once.
#[test]
fn a_late_answer_to_a_timed_out_offer_still_counts() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let start = Instant::now();
    let late = start + Duration::from_secs(31);

    // A thought: Bob stores it and acknowledges, but the ack comes late.
    let thought = make_share(&alice, ShareKind::Thought, None, vec![bob.peer_key()]);
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    let mut store = MemStore::default();
    a.push(thought.clone(), None, start);
    texts_across(&mut a, &mut b, &store, start, 0);
    let ack = texts(&settle(&mut b, &mut store));
    a.handle_timeout(start + Duration::from_secs(30));
    drain(&mut a);
    for text in &ack {
        a.handle_text(text, late, &MemStore::default());
    }
    assert!(
        drain(&mut a)
            .iter()
            .any(|o| matches!(o, Output::Delivered(id) if *id == thought.id)),
        "the late acknowledgement counts"
    );
    assert!(!a.is_sending());

    // A photo: Bob's `share_have` comes late; the chunks go at once.
    let jpeg = jpeg_of(5_000);
    let photo = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let (mut a, mut b) = pair(&alice, &bob, ALL);
    let mut store = MemStore::default();
    a.push(photo.clone(), Some(jpeg.clone()), start);
    texts_across(&mut a, &mut b, &store, start, 0);
    let have = texts(&settle(&mut b, &mut store));
    a.handle_timeout(start + Duration::from_secs(30));
    drain(&mut a);
    for text in &have {
        a.handle_text(text, late, &MemStore::default());
    }
    let (pa, pb) = pump(&mut a, &mut b, &mut store, late, None);
    assert_eq!(pa.chunks, 5);
    assert!(matches!(&pa.events[..], [Output::Delivered(id)] if *id == photo.id));
    assert!(matches!(&pb.events[..], [Output::Received(_)]));
}

/// An offer of `share` as the peer sends it.
fn offer_of(share: &VerifiedShare) -> String {
    serde_json::json!({"type": "share_offer", "manifest": share.manifest}).to_string()
}

/// The texts in `outputs` parsed, and the writes, in order.
fn sent_and_written(outputs: Vec<Output>) -> (Vec<serde_json::Value>, Vec<StoreWrite>) {
    let (mut sent, mut written) = (vec![], vec![]);
    for output in outputs {
        match output {
            Output::SendText(t) => sent.push(serde_json::from_str(&t).unwrap()),
            Output::Write(w) => written.push(w),
            _ => {}
        }
    }
    (sent, written)
}

/// The session writes nothing itself: a chunk comes out as a write, and the
/// share is acknowledged only after the driver reports it stored whole.
#[test]
fn the_ack_waits_for_the_reported_write_of_the_whole_share() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(1_500);
    let share = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let mut b = ShareSession::new(bob.peer_key(), alice.peer_key(), ALL, Limits::default());
    let mut store = MemStore::default();
    let now = Instant::now();
    b.handle_text(&offer_of(&share), now, &store);
    let (sent, written) = sent_and_written(drain(&mut b));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "share_have");
    assert!(written.is_empty());

    for (index, data) in jpeg.chunks(1000).enumerate() {
        b.handle_binary(&super::wire::encode_chunk(&share.id, index as u32, data).unwrap());
    }
    let outputs = drain(&mut b);
    assert!(
        matches!(
            &outputs[..],
            [
                Output::Write(StoreWrite::PutChunk { index: 0, .. }),
                Output::Write(StoreWrite::PutChunk { index: 1, .. })
            ]
        ),
        "{outputs:?}"
    );
    assert!(store.chunks.is_empty(), "the session wrote nothing itself");
    for output in outputs {
        let Output::Write(write) = output else {
            unreachable!()
        };
        b.handle_written(write.carry_out(&mut store));
    }
    let finish = match drain(&mut b).pop() {
        Some(Output::Write(finish @ StoreWrite::Finish { .. })) => finish,
        other => panic!("expected the share to be stored, got {other:?}"),
    };
    assert!(b.poll_output().is_none(), "no ack before it is stored");
    let done = finish.carry_out(&mut store);
    assert_eq!(store.stored[&share.id].as_deref(), Some(&jpeg[..]));
    assert!(
        b.poll_output().is_none(),
        "no ack before the write is reported"
    );
    b.handle_written(done);
    let outputs = drain(&mut b);
    assert!(
        matches!(&outputs[..], [Output::SendText(t), Output::Received(s)]
            if t.contains("share_ack") && s.id == share.id),
        "{outputs:?}"
    );
}

/// A write the driver reports failed refuses the share with the same codes as
/// before: a full inbox for now (the chunks kept stay, the rest of its chunk
/// writes are taken back), a failure to store it whole for good (its chunks
/// are dropped). No ack goes either way, and late outcomes are dropped quietly.
#[test]
fn a_reported_write_failure_refuses_the_share() {
    let (alice, bob) = (Identity::generate(), Identity::generate());
    let jpeg = jpeg_of(3_000);
    let share = make_share(&alice, ShareKind::Photo, Some(&jpeg), vec![bob.peer_key()]);
    let now = Instant::now();
    let store = MemStore::default();
    let frames: Vec<Vec<u8>> = jpeg
        .chunks(1000)
        .enumerate()
        .map(|(index, data)| super::wire::encode_chunk(&share.id, index as u32, data).unwrap())
        .collect();

    // A chunk that finds the inbox full: refused for now, nothing dropped.
    let mut b = ShareSession::new(bob.peer_key(), alice.peer_key(), ALL, Limits::default());
    b.handle_text(&offer_of(&share), now, &store);
    drain(&mut b);
    b.handle_binary(&frames[0]);
    b.handle_binary(&frames[1]);
    assert!(matches!(
        b.poll_output(),
        Some(Output::Write(StoreWrite::PutChunk { index: 0, .. }))
    ));
    b.handle_written(WriteDone::Chunk {
        id: share.id.clone(),
        index: 0,
        result: Err(ShareError::InboxFull("full".into())),
    });
    let outputs = drain(&mut b);
    assert!(
        matches!(
            &outputs[..],
            [
                Output::SendText(_),
                Output::Refused(ShareError::InboxFull(_))
            ]
        ),
        "no write of it is left, no discard: {outputs:?}"
    );
    let (sent, _) = sent_and_written(outputs);
    assert_eq!(sent[0]["type"], "share_refused");
    assert_eq!(sent[0]["code"], "inbox_full");
    assert_eq!(sent[0]["retry"], true);
    b.handle_written(WriteDone::Chunk {
        id: share.id.clone(),
        index: 1,
        result: Ok(()),
    });
    b.handle_binary(&frames[2]);
    assert!(b.poll_output().is_none(), "late outcomes and chunks: quiet");

    // The whole share cannot be stored: refused for good, its chunks dropped.
    let mut b = ShareSession::new(bob.peer_key(), alice.peer_key(), ALL, Limits::default());
    b.handle_text(&offer_of(&share), now, &store);
    drain(&mut b);
    for (index, frame) in frames.iter().enumerate() {
        b.handle_binary(frame);
        b.poll_output();
        b.handle_written(WriteDone::Chunk {
            id: share.id.clone(),
            index: index as u32,
            result: Ok(()),
        });
    }
    assert!(matches!(
        b.poll_output(),
        Some(Output::Write(StoreWrite::Finish { .. }))
    ));
    b.handle_written(WriteDone::Finished {
        id: share.id.clone(),
        result: Err(ShareError::Io {
            path: "inbox/share.jpg".into(),
            source: std::io::Error::other("the disk went away"),
        }),
    });
    let outputs = drain(&mut b);
    assert!(
        outputs
            .iter()
            .all(|o| !matches!(o, Output::Received(_) | Output::Delivered(_))),
        "{outputs:?}"
    );
    assert!(outputs
        .iter()
        .any(|o| matches!(o, Output::Refused(ShareError::Io { .. }))));
    let (sent, written) = sent_and_written(outputs);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["type"], "share_refused");
    assert_eq!(sent[0]["code"], "storage");
    assert_eq!(sent[0].get("retry"), None, "for good (absent means false)");
    assert!(
        matches!(&written[..], [StoreWrite::Discard { id }] if *id == share.id),
        "{written:?}"
    );
}
