//! The signalling messages peers exchange inside sealed envelopes: pairing,
//! session offers and answers, ICE candidates and goodbyes. JSON, so the
//! browser viewer speaks the same language.

use serde::{Deserialize, Serialize};

/// Identifies one media session between two peers.
pub type SessionId = String;

/// One signalling message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Signal {
    /// Asks the device's owner to become a contact. Carries the requester's contact code.
    PairRequest {
        /// The requester's signed contact code.
        code: String,
    },
    /// The owner approved the pairing request.
    PairApproved,
    /// The owner refused the pairing request, or removed the contact.
    PairRefused {
        /// Why, in words for the requester.
        reason: String,
    },
    /// Opens a session: an SDP offer and what the caller wants to receive.
    Offer {
        /// Chosen by the caller; names the session in every later message.
        session: SessionId,
        /// The SDP offer. Its DTLS fingerprint is what the signature binds.
        sdp: String,
        /// The caller wants the callee's live video.
        want_video: bool,
        /// The caller wants the callee's live audio.
        want_audio: bool,
    },
    /// Accepts a session with an SDP answer, saying what was granted.
    Answer {
        /// The session being answered.
        session: SessionId,
        /// The SDP answer.
        sdp: String,
        /// Live video will flow.
        video: bool,
        /// Live audio will flow.
        audio: bool,
        /// Permissions the caller asked for and does not have, by name.
        #[serde(default)]
        denied: Vec<String>,
    },
    /// A trickled ICE candidate.
    Candidate {
        /// The session it belongs to.
        session: SessionId,
        /// The candidate line (`candidate:…`); empty marks the end of candidates.
        candidate: String,
        /// The media section's id.
        #[serde(default)]
        sdp_mid: Option<String>,
        /// The media section's index.
        #[serde(default)]
        sdp_mline_index: Option<u16>,
    },
    /// The session was refused.
    Refused {
        /// The session refused.
        session: SessionId,
        /// Why, in words for the caller.
        reason: String,
    },
    /// Ends a session.
    Bye {
        /// The session ended.
        session: SessionId,
        /// Why, if there is something to say.
        #[serde(default)]
        reason: Option<String>,
    },
}

impl Signal {
    /// The message's type name, for logs (never its content).
    pub fn kind(&self) -> &'static str {
        match self {
            Signal::PairRequest { .. } => "pair_request",
            Signal::PairApproved => "pair_approved",
            Signal::PairRefused { .. } => "pair_refused",
            Signal::Offer { .. } => "offer",
            Signal::Answer { .. } => "answer",
            Signal::Candidate { .. } => "candidate",
            Signal::Refused { .. } => "refused",
            Signal::Bye { .. } => "bye",
        }
    }
}

/// A fresh random session id.
pub fn new_session_id() -> SessionId {
    use rand::RngCore;
    let mut bytes = [0u8; 9];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::keys::b64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_stable_for_the_browser() {
        let offer = Signal::Offer {
            session: "s1".into(),
            sdp: "v=0".into(),
            want_video: true,
            want_audio: false,
        };
        let json = serde_json::to_value(&offer).unwrap();
        assert_eq!(json["type"], "offer");
        assert_eq!(json["want_video"], true);
        let back: Signal = serde_json::from_value(json).unwrap();
        assert_eq!(back, offer);
    }

    #[test]
    fn unknown_types_and_fields_are_refused() {
        assert!(serde_json::from_str::<Signal>(r#"{"type":"hack"}"#).is_err());
        assert!(
            serde_json::from_str::<Signal>(r#"{"type":"bye","session":"a","extra":1}"#).is_err()
        );
    }
}
