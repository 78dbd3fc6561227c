//! The routing rules without a relay or a disk: real identities and sealed
//! envelopes, a contact book in memory, and the time passed in.

use super::*;
use crate::contacts::ContactStatus;
use crate::relay::RelayError;

struct World {
    device: Arc<Identity>,
    core: RouteCore,
    book: ContactBook,
    t0: Instant,
    ms: i64,
}

impl World {
    fn new() -> World {
        let device = Arc::new(Identity::generate());
        let ms = 1_800_000_000_000;
        World {
            core: RouteCore::new(device.clone(), ms, "wss://relay.example".into()),
            device,
            book: ContactBook::default(),
            t0: Instant::now(),
            ms,
        }
    }

    fn now(&self) -> Now {
        Now {
            instant: self.t0,
            unix_ms: self.ms,
        }
    }

    fn add(&mut self, name: &str, status: ContactStatus) -> Identity {
        let who = Identity::generate();
        self.book.upsert(&who.contact_code(name, &[]), status);
        who
    }

    fn sealed(&self, from: &Identity, signal: &Signal) -> Vec<u8> {
        let to = Recipient {
            key: self.device.peer_key(),
            seal_key: self.device.seal_key(),
        };
        envelope::seal(from, &to, signal, self.ms)
    }

    fn deliver_bytes(&mut self, claimed: PeerKey, data: Vec<u8>) -> Vec<RouteAction> {
        let now = self.now();
        self.core.handle(
            now,
            &self.book,
            RouteInput::Relay(RelayEvent::Delivered {
                from: claimed,
                data,
            }),
        )
    }

    fn deliver(&mut self, from: &Identity, signal: &Signal) -> Vec<RouteAction> {
        let data = self.sealed(from, signal);
        self.deliver_bytes(from.peer_key(), data)
    }
}

fn offer(session: &str) -> Signal {
    Signal::Offer {
        session: session.into(),
        sdp: "v=0".into(),
        want_video: true,
        want_audio: false,
    }
}

fn refused_code(action: &RouteAction) -> Option<EndCode> {
    match action {
        RouteAction::Send {
            signal: Signal::Refused { code, .. },
            ..
        } => *code,
        _ => None,
    }
}

#[test]
fn an_approved_contacts_offer_is_handed_over() {
    let mut world = World::new();
    let gran = world.add("Gran", ContactStatus::Approved);
    let actions = world.deliver(&gran, &offer("s1"));
    match &actions[..] {
        [RouteAction::Offer(offer)] => {
            assert_eq!(offer.from, gran.peer_key());
            assert_eq!(offer.session, "s1");
            assert!(offer.want_video && !offer.want_audio);
            assert_eq!(offer.reply_to.seal_key, gran.seal_key());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn offers_from_anyone_else_are_refused_with_a_code_within_the_strangers_budget() {
    let mut world = World::new();
    let pending = world.add("Dad", ContactStatus::Pending);
    let stranger = Identity::generate();
    for who in [&pending, &stranger] {
        let actions = world.deliver(who, &offer("s1"));
        assert!(
            matches!(&actions[0], RouteAction::Emit(NodeEvent::OfferRefused { key }) if *key == who.peer_key())
        );
        assert_eq!(
            actions.get(1).and_then(refused_code),
            Some(EndCode::NotApproved)
        );
        // Again at once: the same key is not answered twice within 10 s.
        let again = world.deliver(who, &offer("s2"));
        assert_eq!(again.len(), 1, "{again:?}");
    }
}

#[test]
fn a_busy_device_refuses_the_offer_it_cannot_take_and_stops_routing_it() {
    let mut world = World::new();
    let gran = world.add("Gran", ContactStatus::Approved);
    let now = world.now();
    let actions = world.core.handle(
        now,
        &world.book,
        RouteInput::OfferNotTaken {
            from: gran.peer_key(),
            reply_to: Recipient {
                key: gran.peer_key(),
                seal_key: gran.seal_key(),
            },
            session: "s1".into(),
        },
    );
    assert!(
        matches!(&actions[0], RouteAction::CloseSession { from, session } if *from == gran.peer_key() && session == "s1")
    );
    assert_eq!(actions.get(1).and_then(refused_code), Some(EndCode::Busy));
}

#[test]
fn session_signals_go_to_their_session() {
    let mut world = World::new();
    let gran = world.add("Gran", ContactStatus::Approved);
    let bye = Signal::Bye {
        session: "s9".into(),
        reason: None,
        code: None,
    };
    let actions = world.deliver(&gran, &bye);
    assert!(
        matches!(&actions[..], [RouteAction::Forward { from, session, signal: Signal::Bye { .. } }] if *from == gran.peer_key() && session == "s9")
    );
}

#[test]
fn a_pairing_request_is_stored_only_with_its_senders_own_code() {
    let mut world = World::new();
    let dad = Identity::generate();
    let own = Signal::PairRequest {
        code: dad.contact_code("Dad", &[]).to_text(),
    };
    let actions = world.deliver(&dad, &own);
    assert!(
        matches!(&actions[..], [RouteAction::StorePairRequest { code, making_room: None }] if code.peer_key == dad.peer_key())
    );
    let someone_else = Signal::PairRequest {
        code: Identity::generate().contact_code("Mum", &[]).to_text(),
    };
    let other = Identity::generate();
    assert!(world.deliver(&other, &someone_else).is_empty());
    let garbage = Signal::PairRequest {
        code: "hearth:nonsense".into(),
    };
    let another = Identity::generate();
    assert!(world.deliver(&another, &garbage).is_empty());
}

#[test]
fn an_approved_contact_asking_again_hears_approved_and_a_waiting_one_nothing() {
    let mut world = World::new();
    let gran = world.add("Gran", ContactStatus::Approved);
    let code = Signal::PairRequest {
        code: gran.contact_code("Gran", &[]).to_text(),
    };
    let actions = world.deliver(&gran, &code);
    assert!(
        matches!(&actions[..], [RouteAction::Send { to, signal: Signal::PairApproved }] if to.key == gran.peer_key())
    );
    let dad = world.add("Dad", ContactStatus::Pending);
    let code = Signal::PairRequest {
        code: dad.contact_code("Dad", &[]).to_text(),
    };
    assert!(world.deliver(&dad, &code).is_empty());
}

#[test]
fn a_full_pending_list_makes_room_by_dropping_the_oldest_stranger() {
    let mut world = World::new();
    let mut first = None;
    for i in 0..crate::policy::MAX_PENDING_REQUESTS {
        let who = world.add(&format!("Stranger {i}"), ContactStatus::Pending);
        first.get_or_insert(who.peer_key());
    }
    let dad = Identity::generate();
    let code = Signal::PairRequest {
        code: dad.contact_code("Dad", &[]).to_text(),
    };
    let actions = world.deliver(&dad, &code);
    assert!(
        matches!(&actions[..], [RouteAction::StorePairRequest { making_room: Some(oldest), .. }] if Some(*oldest) == first)
    );
}

#[test]
fn pairing_answers_count_only_from_keys_that_may_give_them() {
    let mut world = World::new();
    let gran = world.add("Gran", ContactStatus::Approved);
    let dad = world.add("Dad", ContactStatus::Pending);
    let stranger = Identity::generate();
    assert!(matches!(
        &world.deliver(&gran, &Signal::PairApproved)[..],
        [RouteAction::Emit(NodeEvent::PairApproved { .. })]
    ));
    assert!(world.deliver(&dad, &Signal::PairApproved).is_empty());
    let refused = Signal::PairRefused {
        reason: "no".into(),
    };
    assert!(matches!(
        &world.deliver(&dad, &refused)[..],
        [RouteAction::Emit(NodeEvent::PairRefused { .. })]
    ));
    assert!(world.deliver(&stranger, &refused).is_empty());
}

#[test]
fn a_replayed_or_re_addressed_envelope_is_refused_and_reported() {
    let mut world = World::new();
    let gran = world.add("Gran", ContactStatus::Approved);
    let data = world.sealed(&gran, &offer("s1"));
    assert!(matches!(
        world.deliver_bytes(gran.peer_key(), data.clone())[..],
        [RouteAction::Offer(_)]
    ));
    assert!(matches!(
        &world.deliver_bytes(gran.peer_key(), data.clone())[..],
        [RouteAction::Emit(NodeEvent::EnvelopeRefused { .. })]
    ));
    // The relay claims another sender than the one who signed.
    let mum = world.add("Mum", ContactStatus::Approved);
    let data = world.sealed(&gran, &offer("s2"));
    assert!(matches!(
        &world.deliver_bytes(mum.peer_key(), data)[..],
        [RouteAction::Emit(NodeEvent::EnvelopeRefused { .. })]
    ));
}

#[test]
fn a_flood_from_strangers_is_dropped_unread_past_the_opening_budget() {
    let mut world = World::new();
    let stranger = Identity::generate();
    let junk = || {
        b"not an envelope at all, but long enough to be opened if it were one: ........................................................................................".to_vec()
    };
    let mut reported = 0;
    for _ in 0..100 {
        let actions = world.deliver_bytes(stranger.peer_key(), junk());
        reported += actions.len();
    }
    assert_eq!(reported, 10, "10 at once, then nothing until time passes");
    // A contact's envelope is opened whatever strangers did.
    let gran = world.add("Gran", ContactStatus::Approved);
    assert!(matches!(
        world.deliver(&gran, &offer("s1"))[..],
        [RouteAction::Offer(_)]
    ));
}

#[test]
fn the_relay_status_follows_its_events() {
    let mut world = World::new();
    let now = world.now();
    let mut relay = |event| {
        world
            .core
            .handle(now, &world.book, RouteInput::Relay(event))
    };
    let actions = relay(RelayEvent::Unreachable {
        reason: RelayError::Stopped,
    });
    assert!(matches!(
        &actions[..],
        [
            RouteAction::Status(RelayStatus::Unreachable),
            RouteAction::Emit(NodeEvent::RelayUnreachable)
        ]
    ));
    assert!(matches!(
        &relay(RelayEvent::Connected)[..],
        [
            RouteAction::Status(RelayStatus::Connected),
            RouteAction::Emit(NodeEvent::RelayConnected)
        ]
    ));
    assert!(matches!(
        &relay(RelayEvent::Disconnected {
            reason: RelayError::Stopped
        })[..],
        [
            RouteAction::Status(RelayStatus::Connecting),
            RouteAction::Emit(NodeEvent::RelayDisconnected)
        ]
    ));
}
