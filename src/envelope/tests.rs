use super::*;
use serde_json::{json, Value};

struct Pair {
    alice: Identity,
    bob: Identity,
}

fn pair() -> Pair {
    Pair {
        alice: Identity::generate(),
        bob: Identity::generate(),
    }
}

fn recipient(id: &Identity) -> Recipient {
    Recipient {
        key: id.peer_key(),
        seal_key: id.seal_key(),
    }
}

const NOW: i64 = 1_800_000_000_000;

#[test]
fn round_trip() {
    let p = pair();
    let wire = seal(&p.alice, &recipient(&p.bob), &json!({"offer": "sdp"}), NOW);
    let mut guard = ReplayGuard::new();
    let opened: Opened<Value> = open(
        &p.bob,
        &wire,
        Some(&p.alice.peer_key()),
        NOW + 5,
        &mut guard,
    )
    .unwrap();
    assert_eq!(opened.from, p.alice.peer_key());
    assert_eq!(opened.from_seal, p.alice.seal_key());
    assert_eq!(opened.body, json!({"offer": "sdp"}));
}

#[test]
fn every_altered_byte_is_detected() {
    let p = pair();
    let wire = seal(&p.alice, &recipient(&p.bob), &json!("hello"), NOW);
    for i in 0..wire.len() {
        let mut bad = wire.clone();
        bad[i] ^= 0x80;
        let result: Result<Opened<Value>, _> =
            open(&p.bob, &bad, None, NOW, &mut ReplayGuard::new());
        assert!(result.is_err(), "flipped byte {i} went unnoticed");
    }
}

#[test]
fn replay_is_refused() {
    let p = pair();
    let wire = seal(&p.alice, &recipient(&p.bob), &json!(1), NOW);
    let mut guard = ReplayGuard::new();
    open::<Value>(&p.bob, &wire, None, NOW, &mut guard).unwrap();
    assert_eq!(
        open::<Value>(&p.bob, &wire, None, NOW + 10, &mut guard).unwrap_err(),
        EnvelopeError::Replayed
    );
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let p = pair();
    let window = REPLAY_WINDOW.as_millis() as i64;
    let old = seal(&p.alice, &recipient(&p.bob), &json!(1), NOW - window - 1);
    let future = seal(&p.alice, &recipient(&p.bob), &json!(1), NOW + window + 1);
    let mut guard = ReplayGuard::new();
    assert!(matches!(
        open::<Value>(&p.bob, &old, None, NOW, &mut guard),
        Err(EnvelopeError::Stale(_))
    ));
    assert!(matches!(
        open::<Value>(&p.bob, &future, None, NOW, &mut guard),
        Err(EnvelopeError::Stale(_))
    ));
}

#[test]
fn re_addressed_envelope_is_refused() {
    let p = pair();
    let carol = Identity::generate();
    // Sealed to Bob: Carol cannot open it at all.
    let wire = seal(&p.alice, &recipient(&p.bob), &json!(1), NOW);
    assert_eq!(
        open::<Value>(&carol, &wire, None, NOW, &mut ReplayGuard::new()).unwrap_err(),
        EnvelopeError::Unsealable
    );
    // Sealed to Carol's seal key but signed for Bob's address: refused.
    let crossed = Recipient {
        key: p.bob.peer_key(),
        seal_key: carol.seal_key(),
    };
    let wire = seal(&p.alice, &crossed, &json!(1), NOW);
    assert_eq!(
        open::<Value>(&carol, &wire, None, NOW, &mut ReplayGuard::new()).unwrap_err(),
        EnvelopeError::WrongRecipient
    );
}

#[test]
fn relay_claiming_another_sender_is_refused() {
    let p = pair();
    let wire = seal(&p.alice, &recipient(&p.bob), &json!(1), NOW);
    let liar = Identity::generate().peer_key();
    assert_eq!(
        open::<Value>(&p.bob, &wire, Some(&liar), NOW, &mut ReplayGuard::new()).unwrap_err(),
        EnvelopeError::SenderMismatch
    );
}

#[test]
fn garbage_and_oversized_input_is_refused() {
    let bob = Identity::generate();
    let mut guard = ReplayGuard::new();
    for wire in [vec![], vec![1; 10], vec![2; 200], vec![1; 200]] {
        assert!(open::<Value>(&bob, &wire, None, NOW, &mut guard).is_err());
    }
    let huge = vec![1; MAX_ENVELOPE_BYTES + 1];
    assert_eq!(
        open::<Value>(&bob, &huge, None, NOW, &mut guard).unwrap_err(),
        EnvelopeError::TooLarge(MAX_ENVELOPE_BYTES + 1)
    );
}

#[test]
fn guard_forgets_old_nonces() {
    let key = PeerKey([1; 32]);
    let mut guard = ReplayGuard::new();
    guard.check(&key, "a", NOW, NOW).unwrap();
    let later = NOW + 2 * REPLAY_WINDOW.as_millis() as i64;
    guard.check(&key, "b", later, later).unwrap();
    assert_eq!(guard.len(), 1);
}
