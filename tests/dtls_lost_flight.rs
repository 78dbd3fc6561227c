//! A DTLS handshake flight lost on the way is sent again, so the call
//! connects. The link loses one chosen handshake datagram for certain (the
//! impairer in tests/support/impaired_link.rs) between the real `hearth`
//! binary and our own WHEP player (a DTLS server, as an offerer is):
//!
//! - the device's last flight (ChangeCipherSpec, Finished): the player
//!   repeats its own flight, and the device must answer it with its flight;
//! - the player's first flight (ServerHello …): the device repeats its
//!   ClientHello, and the player must answer it with its flight.
//!
//! `webrtc`'s DTLS stops its retransmission timer when the peer repeats a
//! flight and never starts it again, so without `src/peer/dtls_repair.rs`
//! both handshakes hang until the device gives the player up (5 s). Needs
//! root; without it the tests say why and return.

mod support;

use std::time::Duration;
use support::impaired_link::{DtlsRecord, ImpairedLink, Impairment, LoseDtls};
use support::topology::is_root;
use support::whep_player::watch_for;

/// Connects across a link that loses `lose`, and watches for 3 s.
fn connect_losing(lose: LoseDtls, port: u16) {
    let link = ImpairedLink::build(Impairment {
        delay: Duration::from_millis(20),
        lose_dtls: Some(lose),
        ..Impairment::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (_device, token) = link.start_device(dir.path(), port);
    let watched = watch_for(&link, port, &token, Duration::from_secs(3), |_| {});
    let log = std::fs::read_to_string(dir.path().join("device.log")).unwrap_or_default();
    let first = watched
        .first_frame
        .unwrap_or_else(|| panic!("no video after losing {lose:?}; device log:\n{log}"));
    eprintln!(
        "losing {lose:?}: first frame {:?} after the answer, {} frames in 3 s",
        first - watched.answered,
        watched.decoded.len()
    );
    assert!(
        watched.decoded.len() > 45,
        "only {} frames in 3 s",
        watched.decoded.len()
    );
}

#[test]
fn the_devices_lost_last_flight_is_sent_again() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    let lose = LoseDtls {
        from_device: true,
        record: DtlsRecord::ChangeCipherSpec,
        times: 1,
    };
    connect_losing(lose, 7630);
}

#[test]
fn the_players_lost_first_flight_is_sent_again() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    let lose = LoseDtls {
        from_device: false,
        record: DtlsRecord::ServerHello,
        times: 1,
    };
    connect_losing(lose, 7631);
}
