//! Sends a lost DTLS handshake flight again when the peer asks for it.
//!
//! RFC 6347 §4.2.4: a side that receives the peer's previous flight again
//! learns that its own flight was lost, and retransmits it; it also keeps a
//! retransmission timer running while it waits. `webrtc`'s DTLS (the
//! `rtc-dtls` crate, 0.21) stops that timer whenever handshake records
//! arrive and starts it again only when they complete the flight it is
//! waiting for. So when our flight is lost and the peer repeats its own,
//! the timer is gone and nothing is ever sent again: the handshake hangs
//! until the connection gives up. On a path that loses 5% of packets that
//! is about one call in ten.
//!
//! [`FlightRepair`] does what the stack does not, from outside it: it sees
//! every datagram the connection's sockets send and receive (see
//! `runtime.rs`), keeps a copy of the last handshake flight sent to each
//! peer, and when that peer repeats handshake messages it has already sent
//! (nothing new in them), it returns the copy to be sent again verbatim.
//! The record sequence numbers of a lost datagram were never seen by the
//! peer, so its replay window lets the copy through; a copy of a datagram
//! that did arrive is dropped there as a replay, which is harmless.
//!
//! Through a TURN server the datagrams are ChannelData (RFC 8656 §12.4): a
//! 4-byte channel header, then the DTLS. A peer is then the server's
//! address and the channel, and the copy kept is the whole ChannelData.
//!
//! It forgets a peer once that peer sends application data or SRTP (the
//! handshake is over on its side, so it has every flight of ours), after
//! [`MAX_RESENDS`] copies, or when idle for [`FORGET_AFTER`]. It holds at
//! most [`MAX_PEERS`] peers and [`MAX_FLIGHT_DATAGRAMS`] datagrams each.
//! Pure logic: no sockets, time passed in.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// At most this many copies of our flights are sent to one peer.
pub const MAX_RESENDS: u32 = 8;
/// A copy goes at most this often (a repeated flight spans datagrams).
pub const MIN_RESEND_GAP: Duration = Duration::from_millis(200);
/// A peer with no handshake traffic for this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(30);
/// Handshakes tracked at once.
pub const MAX_PEERS: usize = 32;
/// Datagrams kept of one flight (a flight with a certificate chain is 2–4).
pub const MAX_FLIGHT_DATAGRAMS: usize = 8;
/// Handshake fragments of one peer remembered (a whole handshake is ~10).
const MAX_SEEN_FRAGMENTS: usize = 64;

/// DTLS record content types (RFC 6347 §4.1; RFC 7983 puts DTLS at 20–63).
const CHANGE_CIPHER_SPEC: u8 = 20;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
/// type, version (2), epoch (2), sequence number (6), length (2).
const RECORD_HEADER: usize = 13;
/// Channel number (2), length (2).
const CHANNEL_HEADER: usize = 4;

/// Who a datagram is from or to: an address, and a TURN channel on it.
type Peer = (SocketAddr, Option<u16>);

/// The TURN channel a datagram travels in, and what it carries (RFC 7983:
/// ChannelData starts with 64–79); the datagram itself otherwise.
pub fn unwrap_channel(bytes: &[u8]) -> (Option<u16>, &[u8]) {
    match bytes.first() {
        Some(64..=79) if bytes.len() >= CHANNEL_HEADER => {
            let channel = u16::from_be_bytes([bytes[0], bytes[1]]);
            let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
            let end = (CHANNEL_HEADER + len).min(bytes.len());
            (Some(channel), &bytes[CHANNEL_HEADER..end])
        }
        _ => (None, bytes),
    }
}

/// What one datagram holds, as far as the repair cares.
#[derive(Debug, Default, PartialEq, Eq)]
struct Datagram {
    /// (message_seq, fragment_offset) of each readable (epoch 0) handshake fragment.
    fragments: Vec<(u16, u32)>,
    /// Whether it carries a handshake or ChangeCipherSpec record at all.
    handshake: bool,
    /// Whether it carries application data (the handshake is over).
    application: bool,
}

/// Reads the records of a DTLS datagram; `None` if it is not DTLS.
fn read_datagram(bytes: &[u8]) -> Option<Datagram> {
    if !(20..=63).contains(bytes.first()?) {
        return None;
    }
    let mut out = Datagram::default();
    let mut rest = bytes;
    while rest.len() >= RECORD_HEADER {
        let kind = rest[0];
        let epoch = u16::from_be_bytes([rest[3], rest[4]]);
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        let end = (RECORD_HEADER + len).min(rest.len());
        let body = &rest[RECORD_HEADER..end];
        match kind {
            HANDSHAKE => {
                out.handshake = true;
                // Epoch 0 is in the clear: msg_type, length (3), message_seq (2),
                // fragment_offset (3), fragment_length (3).
                if epoch == 0 && body.len() >= 12 {
                    let seq = u16::from_be_bytes([body[4], body[5]]);
                    let offset = u32::from_be_bytes([0, body[6], body[7], body[8]]);
                    out.fragments.push((seq, offset));
                }
            }
            CHANGE_CIPHER_SPEC => out.handshake = true,
            APPLICATION_DATA => out.application = true,
            _ => {}
        }
        rest = &rest[end..];
    }
    Some(out)
}

/// Whether `bytes` is RTP or RTCP (RFC 7983: first byte 128–191).
fn is_media(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| (128..=191).contains(b))
}

/// One peer's handshake, as seen from outside.
#[derive(Debug)]
struct Handshake {
    /// The datagrams of the last flight we sent.
    flight: Vec<Vec<u8>>,
    /// The peer sent something new since: our next datagram starts a new flight.
    flight_answered: bool,
    /// The peer's handshake fragments seen so far.
    seen: HashSet<(u16, u32)>,
    resends: u32,
    last_resend: Option<Instant>,
    touched: Instant,
}

impl Handshake {
    fn new(now: Instant) -> Self {
        Handshake {
            flight: Vec::new(),
            flight_answered: false,
            seen: HashSet::new(),
            resends: 0,
            last_resend: None,
            touched: now,
        }
    }
}

/// The handshakes of one socket; see the module documentation.
#[derive(Debug, Default)]
pub struct FlightRepair {
    peers: HashMap<Peer, Handshake>,
    /// Peers whose handshake is over (bounded like `peers`).
    done: HashSet<Peer>,
}

impl FlightRepair {
    /// An empty repair.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any handshake is being watched (so received media needs a look).
    pub fn is_watching(&self) -> bool {
        !self.peers.is_empty()
    }

    /// Notes a datagram sent to `to`.
    pub fn on_sent(&mut self, to: SocketAddr, bytes: &[u8], now: Instant) {
        let (channel, inner) = unwrap_channel(bytes);
        let to = (to, channel);
        let Some(datagram) = read_datagram(inner) else {
            return;
        };
        if !datagram.handshake || self.done.contains(&to) {
            return;
        }
        let handshake = self.entry(to, now);
        if handshake.flight_answered {
            handshake.flight.clear();
            handshake.flight_answered = false;
        }
        if handshake.flight.len() == MAX_FLIGHT_DATAGRAMS {
            handshake.flight.remove(0);
        }
        handshake.flight.push(bytes.to_vec());
        handshake.touched = now;
    }

    /// Notes a datagram received from `from`; returns the datagrams to send
    /// it again (empty unless the peer repeated itself).
    pub fn on_received(&mut self, from: SocketAddr, bytes: &[u8], now: Instant) -> Vec<Vec<u8>> {
        let (channel, inner) = unwrap_channel(bytes);
        let from = (from, channel);
        if is_media(inner) {
            self.finish(from);
            return Vec::new();
        }
        let Some(datagram) = read_datagram(inner) else {
            return Vec::new();
        };
        if datagram.application {
            self.finish(from);
            return Vec::new();
        }
        if datagram.fragments.is_empty() || self.done.contains(&from) {
            return Vec::new();
        }
        let handshake = self.entry(from, now);
        handshake.touched = now;
        let mut new = false;
        for fragment in &datagram.fragments {
            if !handshake.seen.contains(fragment) {
                new = true;
                if handshake.seen.len() < MAX_SEEN_FRAGMENTS {
                    handshake.seen.insert(*fragment);
                }
            }
        }
        if new {
            handshake.flight_answered = true;
            return Vec::new();
        }
        let due = handshake
            .last_resend
            .is_none_or(|at| now.duration_since(at) >= MIN_RESEND_GAP);
        if handshake.flight_answered
            || handshake.flight.is_empty()
            || handshake.resends >= MAX_RESENDS
            || !due
        {
            return Vec::new();
        }
        handshake.resends += 1;
        handshake.last_resend = Some(now);
        tracing::debug!(
            peer = %from.0,
            channel = ?from.1,
            datagrams = handshake.flight.len(),
            resend = handshake.resends,
            "the peer repeated its DTLS flight: sending ours again"
        );
        handshake.flight.clone()
    }

    /// The peer's handshake is over: forget it.
    fn finish(&mut self, peer: Peer) {
        if self.peers.remove(&peer).is_some() {
            if self.done.len() >= MAX_PEERS {
                self.done.clear();
            }
            self.done.insert(peer);
        }
    }

    /// The handshake with `peer`, made room for if new.
    fn entry(&mut self, peer: Peer, now: Instant) -> &mut Handshake {
        if !self.peers.contains_key(&peer) {
            self.peers
                .retain(|_, h| now.duration_since(h.touched) < FORGET_AFTER);
            if self.peers.len() >= MAX_PEERS {
                if let Some(oldest) = self
                    .peers
                    .iter()
                    .min_by_key(|(_, h)| h.touched)
                    .map(|(addr, _)| *addr)
                {
                    self.peers.remove(&oldest);
                }
            }
        }
        self.peers
            .entry(peer)
            .or_insert_with(|| Handshake::new(now))
    }
}

#[cfg(test)]
#[path = "dtls_repair_tests.rs"]
mod tests;
