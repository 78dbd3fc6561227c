//! Every rule of the policy as one table: for each kind of person the device
//! may meet, what each rule answers. A change to a rule shows here as a row
//! that no longer holds.

use super::*;
use crate::contacts::{Contact, ContactBook, ContactStatus, Permission};
use crate::identity::Identity;
use crate::keys::PeerKey;

/// Who asks, as the book knows them.
#[derive(Debug, Clone, Copy)]
enum Who {
    Stranger,
    Pending,
    /// Approved, with these permissions (video, audio, snapshots, talk_back).
    Approved(bool, bool, bool, bool),
    /// A WHEP token contact, with live video and live audio as given.
    Token(bool, bool),
}

fn book_with(who: Who) -> (ContactBook, PeerKey) {
    let mut book = ContactBook::default();
    let set = |c: &mut Contact, perms: [(Permission, bool); 4]| {
        for (p, on) in perms {
            c.permissions.set(p, on);
        }
    };
    let key = match who {
        Who::Stranger => Identity::generate().peer_key(),
        Who::Pending | Who::Approved(..) => {
            let code = Identity::generate().contact_code("Gran", &[]);
            let status = match who {
                Who::Pending => ContactStatus::Pending,
                _ => ContactStatus::Approved,
            };
            book.upsert(&code, status);
            let contact = book.find_mut("Gran").expect("added");
            // A pending request carries every permission it could want: the
            // rules must still refuse it.
            let (v, a, s, t) = match who {
                Who::Approved(v, a, s, t) => (v, a, s, t),
                _ => (true, true, true, true),
            };
            set(
                contact,
                [
                    (Permission::LiveVideo, v),
                    (Permission::LiveAudio, a),
                    (Permission::Snapshots, s),
                    (Permission::TalkBack, t),
                ],
            );
            code.peer_key
        }
        Who::Token(v, a) => {
            let mut tv = Contact::token("TV", "ab".repeat(32));
            set(
                &mut tv,
                [
                    (Permission::LiveVideo, v),
                    (Permission::LiveAudio, a),
                    (Permission::Snapshots, true),
                    (Permission::TalkBack, true),
                ],
            );
            let key = tv.key;
            book.add(tv).expect("added");
            key
        }
    };
    (book, key)
}

/// What every rule answers for one person.
#[derive(Debug, PartialEq, Eq)]
struct Answers {
    /// `decide` for a caller wanting video and audio: (video, audio), or None if refused.
    live: Option<(bool, bool)>,
    /// Receives the device's snapshots.
    receives_shares: bool,
    /// May push (snapshots, photos and thoughts).
    may_push: (bool, bool),
    /// Heard on the speaker.
    talk_back: bool,
    /// May open a WHEP session with a token.
    whep: bool,
}

fn answers(who: Who) -> Answers {
    let (book, key) = book_with(who);
    let contact = book.get(&key);
    let rules = receive_rules(&book, &key);
    Answers {
        live: decide(&book, &key, true, true)
            .ok()
            .map(|g| (g.video, g.audio)),
        receives_shares: contact.is_some_and(may_receive_shares),
        may_push: (rules.snapshots, rules.photos_and_thoughts),
        talk_back: may_talk_back(&book, &key),
        whep: contact.is_some_and(may_watch_by_token),
    }
}

#[test]
fn every_rule_for_every_kind_of_person() {
    use Who::*;
    let row = |live, receives_shares, may_push, talk_back, whep| Answers {
        live,
        receives_shares,
        may_push,
        talk_back,
        whep,
    };
    let table = [
        (Stranger, row(None, false, (false, false), false, false)),
        (Pending, row(None, false, (false, false), false, false)),
        (
            Approved(false, false, false, false),
            row(Some((false, false)), false, (true, false), false, false),
        ),
        (
            Approved(true, false, false, false),
            row(Some((true, false)), false, (true, false), false, false),
        ),
        (
            Approved(false, true, false, false),
            row(Some((false, true)), false, (true, false), false, false),
        ),
        (
            Approved(false, false, true, false),
            row(Some((false, false)), true, (true, false), false, false),
        ),
        (
            Approved(false, false, false, true),
            row(Some((false, false)), false, (true, true), true, false),
        ),
        (
            Approved(true, true, true, true),
            row(Some((true, true)), true, (true, true), true, false),
        ),
        // A token contact only ever watches or listens over WHEP.
        (
            Token(false, false),
            row(Some((false, false)), false, (false, false), true, false),
        ),
        (
            Token(true, false),
            row(Some((true, false)), false, (false, false), true, true),
        ),
        (
            Token(false, true),
            row(Some((false, true)), false, (false, false), true, true),
        ),
    ];
    for (who, expected) in table {
        assert_eq!(answers(who), expected, "{who:?}");
    }
}

#[test]
fn privacy_keeps_back_every_live_grant() {
    for who in [
        Who::Approved(true, true, false, false),
        Who::Approved(true, false, false, false),
        Who::Token(false, true),
    ] {
        let (book, key) = book_with(who);
        let grant = decide(&book, &key, true, true).expect("approved");
        let now = Current::of(&grant, true);
        assert!(!now.video && !now.audio && now.private(), "{who:?}");
        let open = Current::of(&grant, false);
        assert_eq!((open.video, open.audio), (grant.video, grant.audio));
    }
}

#[test]
fn pairing_requests_wait_once_and_the_oldest_makes_room() {
    let mut book = ContactBook::default();
    let first_identity = Identity::generate();
    let first = first_identity.contact_code("First", &[]);
    assert_eq!(
        on_request(&book, &first),
        PairingStep::Wait { making_room: None }
    );
    book.upsert(&first, ContactStatus::Pending);
    assert_eq!(on_request(&book, &first), PairingStep::Repeated);
    for i in 1..MAX_PENDING_REQUESTS {
        book.upsert(
            &Identity::generate().contact_code(&format!("P{i}"), &[]),
            ContactStatus::Pending,
        );
    }
    let late = Identity::generate().contact_code("Late", &[]);
    assert_eq!(
        on_request(&book, &late),
        PairingStep::Wait {
            making_room: Some(first.peer_key)
        }
    );
    // The same key with new relays is stored again, without pushing anyone out.
    let moved = first_identity.contact_code("First", &["wss://relay.example/relay".to_string()]);
    assert_eq!(
        on_request(&book, &moved),
        PairingStep::Wait { making_room: None }
    );
    book.find_mut("First").expect("there").status = ContactStatus::Approved;
    assert_eq!(on_request(&book, &first), PairingStep::AlreadyApproved);
}
