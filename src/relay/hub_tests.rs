//! Unit tests of the sans-IO hub, driven with a fake clock and fixed nonces.

use super::*;
use crate::keys::PeerKey;
use ed25519_dalek::{Signer, SigningKey};
use std::net::Ipv4Addr;
use std::time::Duration;

pub(super) const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub(super) fn hub(config: RelayServerConfig) -> (Hub, Instant) {
    (Hub::new(config), Instant::now())
}

pub(super) fn signer(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(super) fn auth_text(key: &SigningKey, nonce: &[u8; 32]) -> String {
    ClientFrame::Auth {
        key: PeerKey(key.verifying_key().to_bytes()),
        sig: key.sign(&auth_message(nonce)).to_bytes(),
    }
    .to_text()
}

/// Opens a connection and authenticates it as `key`; returns its id.
pub(super) fn online(hub: &mut Hub, key: &SigningKey, nonce_byte: u8, now: Instant) -> ConnId {
    let (conn, actions) = online_as(hub, key, nonce_byte, now);
    assert_eq!(
        actions.last(),
        Some(&Action::Send {
            conn,
            frame: ServerFrame::Ready
        })
    );
    conn
}

/// Opens a connection and authenticates it as `key`; returns its id and
/// what the hub asked for on `auth`.
pub(super) fn online_as(
    hub: &mut Hub,
    key: &SigningKey,
    nonce_byte: u8,
    now: Instant,
) -> (ConnId, Vec<Action>) {
    let nonce = [nonce_byte; 32];
    let opened = hub.open(IP, nonce, now).expect("under the cap");
    let actions = hub.on_text(opened.conn, &auth_text(key, &nonce), now);
    (opened.conn, actions)
}

pub(super) fn error_code(actions: &[Action]) -> Option<(ErrorCode, Option<u64>)> {
    actions.iter().find_map(|a| match a {
        Action::Send {
            frame: ServerFrame::Error { code, id, .. },
            ..
        } => Some((*code, *id)),
        _ => None,
    })
}

pub(super) fn send_text(id: u64, to: &SigningKey, data: &[u8]) -> String {
    ClientFrame::Send {
        id,
        to: PeerKey(to.verifying_key().to_bytes()),
        data: data.to_vec(),
    }
    .to_text()
}

#[test]
fn open_sends_challenge_with_given_nonce() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let opened = hub.open(IP, [9; 32], now).unwrap();
    assert_eq!(opened.challenge, ServerFrame::Challenge { nonce: [9; 32] });
    assert_eq!(opened.auth_deadline, now + Duration::from_secs(10));
}

#[test]
fn signature_over_another_nonce_fails_and_closes() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let opened = hub.open(IP, [1; 32], now).unwrap();
    let actions = hub.on_text(opened.conn, &auth_text(&signer(1), &[2; 32]), now);
    assert_eq!(error_code(&actions), Some((ErrorCode::AuthFailed, None)));
    assert!(actions.contains(&Action::Close { conn: opened.conn }));
    assert!(!hub.is_online(&PeerKey(signer(1).verifying_key().to_bytes())));
}

#[test]
fn frames_before_auth_are_refused_without_closing() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let opened = hub.open(IP, [1; 32], now).unwrap();
    let actions = hub.on_text(opened.conn, &send_text(4, &signer(2), b"x"), now);
    assert_eq!(actions.len(), 1);
    assert_eq!(
        error_code(&actions),
        Some((ErrorCode::NotAuthenticated, Some(4)))
    );
    let actions = hub.on_text(opened.conn, r#"{"t":"ping"}"#, now);
    assert_eq!(
        error_code(&actions),
        Some((ErrorCode::NotAuthenticated, None))
    );
}

#[test]
fn send_routes_to_online_key_and_reports_offline_otherwise() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let (alice, bob) = (signer(1), signer(2));
    let a = online(&mut hub, &alice, 1, now);
    let b = online(&mut hub, &bob, 2, now);
    let actions = hub.on_text(a, &send_text(7, &bob, b"sealed"), now);
    let deliver = ServerFrame::Deliver {
        from: PeerKey(alice.verifying_key().to_bytes()),
        data: b"sealed".to_vec(),
    };
    assert_eq!(
        actions,
        vec![Action::Forward {
            to: b,
            frame: deliver,
            ack: a,
            id: 7
        }]
    );
    let actions = hub.on_text(a, &send_text(8, &signer(3), b"x"), now);
    assert_eq!(
        actions,
        vec![Action::Send {
            conn: a,
            frame: ServerFrame::Offline { id: 8 }
        }]
    );
}

#[test]
fn forward_reply_maps_outcomes() {
    assert_eq!(
        Hub::forward_reply(3, ForwardOutcome::Queued),
        ServerFrame::Sent { id: 3 }
    );
    assert_eq!(
        Hub::forward_reply(3, ForwardOutcome::Gone),
        ServerFrame::Offline { id: 3 }
    );
    let busy = Hub::forward_reply(3, ForwardOutcome::Busy);
    assert!(matches!(
        busy,
        ServerFrame::Error {
            code: ErrorCode::RecipientBusy,
            id: Some(3),
            ..
        }
    ));
}

#[test]
fn second_connection_with_same_key_replaces_first() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let (alice, bob) = (signer(1), signer(2));
    let old = online(&mut hub, &alice, 1, now);
    let opened = hub.open(IP, [5; 32], now).unwrap();
    let actions = hub.on_text(opened.conn, &auth_text(&alice, &[5; 32]), now);
    assert!(actions.contains(&Action::Close { conn: old }));
    assert!(
        matches!(&actions[0], Action::Send { conn, frame: ServerFrame::Error { code: ErrorCode::Replaced, .. } } if *conn == old)
    );
    // Closing the old socket later must not take the key offline.
    hub.close(old);
    assert!(hub.is_online(&PeerKey(alice.verifying_key().to_bytes())));
    let b = online(&mut hub, &bob, 2, now);
    let actions = hub.on_text(b, &send_text(1, &alice, b"hi"), now);
    assert!(matches!(actions[0], Action::Forward { to, .. } if to == opened.conn));
}

#[test]
fn close_takes_key_offline_and_frees_ip_slot() {
    let config = RelayServerConfig {
        max_connections_per_ip: 1,
        ..RelayServerConfig::default()
    };
    let (mut hub, now) = hub(config);
    let alice = signer(1);
    let a = online(&mut hub, &alice, 1, now);
    let refused = hub.open(IP, [2; 32], now).unwrap_err();
    assert!(matches!(
        refused,
        ServerFrame::Error {
            code: ErrorCode::TooManyConnections,
            ..
        }
    ));
    hub.close(a);
    hub.close(a);
    assert!(!hub.is_online(&PeerKey(alice.verifying_key().to_bytes())));
    assert_eq!(hub.connection_count(), 0);
    assert!(hub.open(IP, [2; 32], now).is_ok());
}

#[test]
fn rate_limit_uses_fake_clock_and_keeps_request_id() {
    let config = RelayServerConfig {
        messages_per_second: 2,
        burst: 3,
        ..RelayServerConfig::default()
    };
    let (mut hub, now) = hub(config);
    let (alice, bob) = (signer(1), signer(2));
    let a = online(&mut hub, &alice, 1, now); // auth used one token
    for id in 0..2 {
        assert_eq!(
            error_code(&hub.on_text(a, &send_text(id, &bob, b"x"), now)),
            None
        );
    }
    let limited = hub.on_text(a, &send_text(9, &bob, b"x"), now);
    assert_eq!(
        error_code(&limited),
        Some((ErrorCode::RateLimited, Some(9)))
    );
    assert_eq!(
        error_code(&hub.on_binary(a, now)),
        Some((ErrorCode::RateLimited, None))
    );
    let later = now + Duration::from_millis(500);
    assert_eq!(
        error_code(&hub.on_text(a, &send_text(10, &bob, b"x"), later)),
        None
    );
}

#[test]
fn bad_frames_get_codes_and_ids_when_readable() {
    let config = RelayServerConfig {
        max_frame_bytes: 600,
        ..RelayServerConfig::default()
    };
    let (mut hub, now) = hub(config);
    let a = online(&mut hub, &signer(1), 1, now);
    let bob = PeerKey(signer(2).verifying_key().to_bytes()).to_string();
    let cases = [
        ("not json".to_string(), ErrorCode::Malformed, None),
        (r#"{"t":"shout"}"#.to_string(), ErrorCode::Malformed, None),
        (
            format!(r#"{{"t":"send","id":5,"to":"{bob}","data":"***"}}"#),
            ErrorCode::Malformed,
            Some(5),
        ),
        (
            r#"{"t":"send","id":6,"to":"AAAA","data":""}"#.to_string(),
            ErrorCode::Malformed,
            Some(6),
        ),
        (
            format!(
                r#"{{"t":"send","id":7,"to":"{bob}","data":"{}"}}"#,
                "A".repeat(700)
            ),
            ErrorCode::TooLarge,
            None,
        ),
    ];
    for (text, code, id) in cases {
        assert_eq!(
            error_code(&hub.on_text(a, &text, now)),
            Some((code, id)),
            "{text:.40}"
        );
    }
    assert_eq!(
        error_code(&hub.on_binary(a, now)),
        Some((ErrorCode::Malformed, None))
    );
    assert_eq!(
        hub.on_text(a, r#"{"t":"ping"}"#, now),
        vec![Action::Send {
            conn: a,
            frame: ServerFrame::Pong
        }]
    );
}

#[test]
fn auth_deadline_closes_only_unauthenticated() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let a = online(&mut hub, &signer(1), 1, now);
    assert!(hub.on_auth_deadline(a).is_empty());
    let pending = hub.open(IP, [3; 32], now).unwrap().conn;
    let actions = hub.on_auth_deadline(pending);
    assert_eq!(error_code(&actions), Some((ErrorCode::AuthTimeout, None)));
    assert!(actions.contains(&Action::Close { conn: pending }));
}

#[test]
fn events_for_unknown_connections_do_nothing() {
    let (mut hub, now) = hub(RelayServerConfig::default());
    let gone = hub.open(IP, [1; 32], now).unwrap().conn;
    hub.close(gone);
    assert!(hub.on_text(gone, r#"{"t":"ping"}"#, now).is_empty());
    assert!(hub.on_binary(gone, now).is_empty());
    assert!(hub.on_auth_deadline(gone).is_empty());
}

#[test]
fn pings_and_pongs_take_tokens_and_a_flood_is_closed() {
    let (mut hub, now) = hub(RelayServerConfig {
        burst: 3,
        ..RelayServerConfig::default()
    });
    let conn = online(&mut hub, &signer(1), 1, now);
    // The auth frame took one token; two control frames fit in the rest.
    assert_eq!(hub.on_control(conn, now), Vec::new());
    assert_eq!(hub.on_control(conn, now), Vec::new());
    let actions = hub.on_control(conn, now);
    assert_eq!(error_code(&actions), Some((ErrorCode::RateLimited, None)));
    assert!(actions.contains(&Action::Close { conn }));
    // Control frames and text frames share the bucket: a send is refused too.
    let limited = hub.on_text(conn, &send_text(5, &signer(2), b"x"), now);
    assert_eq!(
        error_code(&limited),
        Some((ErrorCode::RateLimited, Some(5)))
    );
    // An unknown connection costs nothing and gets nothing.
    assert_eq!(hub.on_control(ConnId(999), now), Vec::new());
}

fn ice_config() -> RelayServerConfig {
    RelayServerConfig {
        ice: crate::relay::ice::IceConfig {
            turn_urls: vec!["turn:127.0.0.1:3478".into()],
            turn_secret: "hub-secret".into(),
            grant_burst: 2,
            grant_interval_secs: 60,
            ..Default::default()
        },
        ..RelayServerConfig::default()
    }
}

#[test]
fn ice_servers_go_only_to_a_connection_that_proved_its_key() {
    let (mut hub, now) = hub(ice_config());
    let opened = hub.open(IP, [3; 32], now).unwrap();
    let ice = ClientFrame::Ice.to_text();
    let actions = hub.on_text(opened.conn, &ice, now);
    assert_eq!(
        error_code(&actions),
        Some((ErrorCode::NotAuthenticated, None))
    );
    assert!(!actions.iter().any(|a| matches!(a, Action::GrantIce { .. })));
    // A failed auth does not help either: the connection is closed.
    let actions = hub.on_text(opened.conn, &auth_text(&signer(1), &[4; 32]), now);
    assert_eq!(error_code(&actions), Some((ErrorCode::AuthFailed, None)));

    let conn = online(&mut hub, &signer(2), 5, now);
    let key = PeerKey(signer(2).verifying_key().to_bytes());
    assert_eq!(
        hub.on_text(conn, &ice, now),
        vec![Action::GrantIce { conn, key }]
    );
    let ServerFrame::IceServers { servers, .. } = hub.ice_frame(&key, 100) else {
        panic!("not an ice_servers frame");
    };
    let expected = crate::relay::ice::mint("hub-secret", &key.short(), 3700);
    assert_eq!(servers[0].username, expected.username);
    assert_eq!(servers[0].credential, expected.credential);
}

#[test]
fn ice_requests_over_the_limit_are_refused_with_their_own_code_and_do_not_close() {
    let (mut hub, now) = hub(ice_config());
    let conn = online(&mut hub, &signer(1), 1, now);
    let ice = ClientFrame::Ice.to_text();
    for _ in 0..2 {
        assert!(matches!(
            hub.on_text(conn, &ice, now)[..],
            [Action::GrantIce { .. }]
        ));
    }
    let actions = hub.on_text(conn, &ice, now);
    assert_eq!(
        error_code(&actions),
        Some((ErrorCode::IceRateLimited, None))
    );
    assert!(!actions.contains(&Action::Close { conn }));
    // Reconnecting with the same key does not refill the quota.
    hub.close(conn);
    let again = online(&mut hub, &signer(1), 2, now + Duration::from_secs(1));
    let actions = hub.on_text(again, &ice, now + Duration::from_secs(1));
    assert_eq!(
        error_code(&actions),
        Some((ErrorCode::IceRateLimited, None))
    );
    let later = now + Duration::from_secs(60);
    assert!(matches!(
        hub.on_text(again, &ice, later)[..],
        [Action::GrantIce { .. }]
    ));
}
