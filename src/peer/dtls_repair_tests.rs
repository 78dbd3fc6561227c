use super::*;

/// One DTLS record.
fn record(kind: u8, epoch: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, 0xfe, 0xfd];
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 7]);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A clear (epoch 0) handshake record holding message `seq` of type `msg`.
fn message(msg: u8, seq: u16) -> Vec<u8> {
    let mut body = vec![msg, 0, 0, 4];
    body.extend_from_slice(&seq.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    record(HANDSHAKE, 0, &body)
}

fn datagram(records: &[Vec<u8>]) -> Vec<u8> {
    records.concat()
}

fn peer() -> SocketAddr {
    "10.0.0.2:5000".parse().unwrap()
}

/// The client's last flight: Certificate, ClientKeyExchange, CertificateVerify,
/// ChangeCipherSpec and an encrypted Finished.
fn client_last_flight() -> Vec<u8> {
    datagram(&[
        message(11, 1),
        message(16, 2),
        message(15, 3),
        record(CHANGE_CIPHER_SPEC, 0, &[1]),
        record(HANDSHAKE, 1, &[9; 40]),
    ])
}

/// The server's first flight: ServerHello … ServerHelloDone.
fn server_first_flight() -> Vec<u8> {
    datagram(&[
        message(2, 0),
        message(11, 1),
        message(12, 2),
        message(14, 3),
    ])
}

#[test]
fn reads_records_and_ignores_what_is_not_dtls() {
    let read = read_datagram(&client_last_flight()).unwrap();
    assert_eq!(read.fragments, vec![(1, 0), (2, 0), (3, 0)]);
    assert!(read.handshake && !read.application);
    assert!(read_datagram(&[0x80, 0x60, 0, 1]).is_none(), "RTP");
    assert!(read_datagram(&[0, 1, 0, 8]).is_none(), "STUN");
    assert!(read_datagram(&[]).is_none());
    // A record claiming more than the datagram holds is cut, not a panic.
    let mut short = message(1, 0);
    short.truncate(15);
    assert_eq!(read_datagram(&short).unwrap().fragments, vec![]);
}

#[test]
fn a_client_sends_its_last_flight_again_when_the_server_repeats_its_own() {
    let mut repair = FlightRepair::new();
    let t0 = Instant::now();
    repair.on_sent(peer(), &datagram(&[message(1, 0)]), t0);
    assert!(repair
        .on_received(peer(), &server_first_flight(), t0)
        .is_empty());
    repair.on_sent(peer(), &client_last_flight(), t0);
    // Our flight was lost; the server repeats ServerHello … ServerHelloDone.
    let again = repair.on_received(peer(), &server_first_flight(), t0 + Duration::from_secs(1));
    assert_eq!(again, vec![client_last_flight()]);
}

#[test]
fn a_server_sends_its_first_flight_again_when_the_client_repeats_its_hello() {
    let mut repair = FlightRepair::new();
    let t0 = Instant::now();
    let hello = datagram(&[message(1, 0)]);
    assert!(repair.on_received(peer(), &hello, t0).is_empty());
    // Our flight is two datagrams (a certificate chain).
    let (first, second) = (
        datagram(&[message(2, 0), message(11, 1)]),
        datagram(&[message(12, 2), message(14, 3)]),
    );
    repair.on_sent(peer(), &first, t0);
    repair.on_sent(peer(), &second, t0);
    let again = repair.on_received(peer(), &hello, t0 + Duration::from_secs(1));
    assert_eq!(again, vec![first, second]);
}

#[test]
fn new_messages_from_the_peer_are_progress_not_a_repeat() {
    let mut repair = FlightRepair::new();
    let t0 = Instant::now();
    repair.on_sent(peer(), &datagram(&[message(1, 0)]), t0);
    // Only the ServerHello arrives; the rest comes with the repeat.
    let hello_only = datagram(&[message(2, 0)]);
    assert!(repair.on_received(peer(), &hello_only, t0).is_empty());
    assert!(repair
        .on_received(peer(), &server_first_flight(), t0 + Duration::from_secs(1))
        .is_empty());
}

#[test]
fn nothing_is_sent_again_before_we_answered_the_peer() {
    let mut repair = FlightRepair::new();
    let t0 = Instant::now();
    let hello = datagram(&[message(1, 0)]);
    assert!(repair.on_received(peer(), &hello, t0).is_empty());
    assert!(repair
        .on_received(peer(), &hello, t0 + Duration::from_secs(1))
        .is_empty());
}

#[test]
fn copies_are_spaced_and_capped() {
    let mut repair = FlightRepair::new();
    let mut now = Instant::now();
    repair.on_sent(peer(), &datagram(&[message(1, 0)]), now);
    repair.on_received(peer(), &server_first_flight(), now);
    repair.on_sent(peer(), &client_last_flight(), now);
    now += Duration::from_secs(1);
    assert_eq!(
        repair
            .on_received(peer(), &server_first_flight(), now)
            .len(),
        1
    );
    // The rest of the same repeated flight, 10 ms later: no second copy yet.
    now += Duration::from_millis(10);
    assert!(repair
        .on_received(peer(), &server_first_flight(), now)
        .is_empty());
    let mut copies = 1;
    for _ in 0..20 {
        now += MIN_RESEND_GAP;
        copies += repair
            .on_received(peer(), &server_first_flight(), now)
            .len() as u32;
    }
    assert_eq!(copies, MAX_RESENDS);
}

#[test]
fn media_or_application_data_from_the_peer_ends_the_watch() {
    for done in [
        vec![0x80, 0x60, 0, 1, 0, 0, 0, 0],
        record(APPLICATION_DATA, 1, &[5; 30]),
    ] {
        let mut repair = FlightRepair::new();
        let t0 = Instant::now();
        repair.on_sent(peer(), &datagram(&[message(1, 0)]), t0);
        repair.on_received(peer(), &server_first_flight(), t0);
        repair.on_sent(peer(), &client_last_flight(), t0);
        assert!(repair.is_watching());
        repair.on_received(peer(), &done, t0);
        assert!(!repair.is_watching());
        // A late duplicate of the server's flight provokes nothing now.
        assert!(repair
            .on_received(peer(), &server_first_flight(), t0 + Duration::from_secs(1))
            .is_empty());
        repair.on_sent(peer(), &client_last_flight(), t0);
        assert!(!repair.is_watching());
    }
}

#[test]
fn our_own_retransmissions_stay_one_bounded_flight() {
    let mut repair = FlightRepair::new();
    let t0 = Instant::now();
    repair.on_sent(peer(), &datagram(&[message(1, 0)]), t0);
    repair.on_received(peer(), &server_first_flight(), t0);
    for _ in 0..20 {
        repair.on_sent(peer(), &client_last_flight(), t0);
    }
    let again = repair.on_received(peer(), &server_first_flight(), t0 + Duration::from_secs(1));
    assert_eq!(again.len(), MAX_FLIGHT_DATAGRAMS);
}

#[test]
fn peers_are_bounded_and_idle_ones_forgotten() {
    let mut repair = FlightRepair::new();
    let t0 = Instant::now();
    for port in 0..(MAX_PEERS as u16 * 3) {
        let addr = SocketAddr::from(([10, 0, 0, 3], port));
        repair.on_sent(addr, &datagram(&[message(1, 0)]), t0);
    }
    assert_eq!(repair.peers.len(), MAX_PEERS);
    let later = t0 + FORGET_AFTER + Duration::from_secs(1);
    repair.on_sent(peer(), &datagram(&[message(1, 0)]), later);
    assert_eq!(repair.peers.len(), 1);
}

/// `datagram` in ChannelData on TURN channel `channel`.
fn in_channel(channel: u16, datagram: &[u8]) -> Vec<u8> {
    let mut out = channel.to_be_bytes().to_vec();
    out.extend_from_slice(&(datagram.len() as u16).to_be_bytes());
    out.extend_from_slice(datagram);
    out
}

#[test]
fn a_flight_through_a_turn_channel_goes_again_in_its_channel() {
    let mut repair = FlightRepair::new();
    let t0 = Instant::now();
    let turn: SocketAddr = "10.0.0.9:3478".parse().unwrap();
    // Two handshakes through one TURN server, on channels 0x4000 and 0x4001.
    for channel in [0x4000, 0x4001] {
        repair.on_sent(turn, &in_channel(channel, &message(1, 0)), t0);
        repair.on_received(turn, &in_channel(channel, &server_first_flight()), t0);
        repair.on_sent(turn, &in_channel(channel, &client_last_flight()), t0);
    }
    // Channel 0x4001's peer is done (SRTP); 0x4000's repeats its flight.
    repair.on_received(turn, &in_channel(0x4001, &[0x80, 0x60, 0, 1]), t0);
    let later = t0 + Duration::from_secs(1);
    let again = repair.on_received(turn, &in_channel(0x4000, &server_first_flight()), later);
    assert_eq!(again, vec![in_channel(0x4000, &client_last_flight())]);
    assert!(repair
        .on_received(turn, &in_channel(0x4001, &server_first_flight()), later)
        .is_empty());
}

#[test]
fn channel_data_is_unwrapped_and_the_rest_left_alone() {
    let wrapped = in_channel(0x4abc, &[22, 1, 2]);
    assert_eq!(unwrap_channel(&wrapped), (Some(0x4abc), &[22u8, 1, 2][..]));
    // A length beyond the datagram is cut to what is there.
    assert_eq!(
        unwrap_channel(&[0x40, 0, 0, 99, 22]),
        (Some(0x4000), &[22u8][..])
    );
    assert_eq!(unwrap_channel(&[22, 1]), (None, &[22u8, 1][..]));
    assert_eq!(unwrap_channel(&[0x40, 0]), (None, &[0x40u8, 0][..]));
}
