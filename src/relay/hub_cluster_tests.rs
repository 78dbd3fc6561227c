//! Unit tests of the hub as one node of a cluster (`[nats]` set): the
//! cluster actions it asks for, driven like `hub_tests.rs`, without sockets.

use super::tests::{error_code, hub, online_as, send_text, signer, IP};
use super::*;
use crate::relay::nats_config::NatsConfig;
use ed25519_dalek::SigningKey;

fn cluster_config() -> RelayServerConfig {
    RelayServerConfig {
        nats: NatsConfig {
            urls: vec!["nats://127.0.0.1:4222".into()],
            ..NatsConfig::default()
        },
        ..RelayServerConfig::default()
    }
}

fn key(signer: &SigningKey) -> PeerKey {
    PeerKey(signer.verifying_key().to_bytes())
}

/// Authenticates `who` on a new connection; the hub must ask to hold the key.
fn held(hub: &mut Hub, who: &SigningKey, nonce: u8, now: Instant) -> ConnId {
    let (conn, actions) = online_as(hub, who, nonce, now);
    assert_eq!(
        actions.last(),
        Some(&Action::Hold {
            key: key(who),
            conn
        }),
        "in a cluster, `ready` waits until NATS has the key"
    );
    assert!(!actions.iter().any(|a| matches!(
        a,
        Action::Send {
            frame: ServerFrame::Ready,
            ..
        }
    )));
    conn
}

#[test]
fn a_key_not_held_here_is_asked_for_on_nats_instead_of_offline() {
    let (mut hub, now) = hub(cluster_config());
    let (alice, bob, carol) = (signer(1), signer(2), signer(3));
    let a = held(&mut hub, &alice, 1, now);
    let b = held(&mut hub, &bob, 2, now);
    let actions = hub.on_text(a, &send_text(7, &carol, b"sealed"), now);
    assert_eq!(
        actions,
        vec![Action::ForwardRemote {
            to: key(&carol),
            from: key(&alice),
            data: b"sealed".to_vec(),
            ack: a,
            id: 7
        }]
    );
    // A key held here is still delivered here, without NATS.
    let actions = hub.on_text(a, &send_text(8, &bob, b"x"), now);
    assert!(matches!(actions[..], [Action::Forward { to, ack, id: 8, .. }] if to == b && ack == a));
}

#[test]
fn closing_the_last_connection_of_a_key_releases_it_once() {
    let (mut hub, now) = hub(cluster_config());
    let alice = signer(1);
    let old = held(&mut hub, &alice, 1, now);
    let new = held(&mut hub, &alice, 2, now);
    assert_eq!(
        hub.close(old),
        vec![],
        "replaced locally: the key is still held"
    );
    assert_eq!(hub.holder(&key(&alice)), Some(new));
    assert_eq!(hub.close(new), vec![Action::Release { key: key(&alice) }]);
    assert_eq!(hub.close(new), vec![]);
    assert_eq!(hub.holder(&key(&alice)), None);
}

#[test]
fn taken_by_another_node_tells_and_closes_the_connection_here() {
    let (mut hub, now) = hub(cluster_config());
    let (alice, bob) = (signer(1), signer(2));
    let a = held(&mut hub, &alice, 1, now);
    let b = held(&mut hub, &bob, 2, now);
    let actions = hub.on_taken(&key(&alice));
    assert_eq!(error_code(&actions), Some((ErrorCode::Replaced, None)));
    assert!(matches!(&actions[0], Action::Send { conn, .. } if *conn == a));
    assert_eq!(
        actions[1..],
        [
            Action::Close { conn: a },
            Action::Release { key: key(&alice) }
        ]
    );
    assert!(!hub.is_online(&key(&alice)));
    assert_eq!(hub.on_taken(&key(&alice)), vec![], "told once");
    assert_eq!(hub.close(a), vec![], "released already");
    // Envelopes for the key now go to the node that took it.
    let actions = hub.on_text(b, &send_text(3, &alice, b"x"), now);
    assert!(matches!(actions[..], [Action::ForwardRemote { ack, id: 3, .. }] if ack == b));
}

#[test]
fn alone_the_hub_asks_for_no_cluster_action() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let (alice, carol) = (signer(1), signer(3));
    let (a, actions) = online_as(&mut hub, &alice, 1, now);
    assert_eq!(
        actions,
        vec![Action::Send {
            conn: a,
            frame: ServerFrame::Ready
        }]
    );
    let actions = hub.on_text(a, &send_text(1, &carol, b"x"), now);
    assert_eq!(
        actions,
        vec![Action::Send {
            conn: a,
            frame: ServerFrame::Offline { id: 1 }
        }]
    );
    assert_eq!(hub.close(a), vec![]);
    assert_eq!(hub.on_taken(&key(&alice)), vec![]);
}

#[test]
fn a_cluster_that_does_not_answer_is_a_clear_error() {
    let frame = Hub::forward_reply(5, ForwardOutcome::Unavailable);
    assert!(matches!(
        frame,
        ServerFrame::Error {
            code: ErrorCode::RelayUnavailable,
            id: Some(5),
            ..
        }
    ));
    assert!(hub(cluster_config())
        .0
        .open(IP, [0; 32], Instant::now())
        .is_ok());
}
