//! A `POST /whep` request as the device reads it before any session exists:
//! the `Authorization` header's bearer token, the body checked as an SDP
//! offer (`whep::offer::read_offer`), the media it asks for (`OfferWants`),
//! then the SDP parsed by the `webrtc` crate exactly as `accept_offer` does.
//!
//! Input: the header value, a newline, then the body.
use hearth::api::OfferWants;
use hearth::whep::offer::read_offer;
use hearth::whep::token::from_authorization;
use webrtc::peer_connection::RTCSessionDescription;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[][..], data),
    };
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = from_authorization(header);
    }
    let Ok(offer) = read_offer(body) else {
        return;
    };
    let _ = OfferWants::of(offer);
    let _ = RTCSessionDescription::offer(offer.to_owned());
}
