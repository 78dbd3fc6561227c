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
    /// Restarts ICE in an open session (caller → callee): an SDP offer with
    /// fresh ICE credentials. It must carry the DTLS fingerprint of the
    /// session's first offer; a different one is refused and ends the session.
    RestartOffer {
        /// The open session it restarts.
        session: SessionId,
        /// The SDP offer with the new ICE credentials and candidates.
        sdp: String,
    },
    /// Answers a [`Signal::RestartOffer`] (callee → caller), with the same
    /// DTLS fingerprint as the session's first answer.
    RestartAnswer {
        /// The open session being restarted.
        session: SessionId,
        /// The SDP answer with the new ICE credentials and candidates.
        sdp: String,
    },
    /// Asks the caller to restart ICE (callee → caller): the callee noticed
    /// first that the path is gone (its addresses changed, or ICE is
    /// disconnected). Only the caller makes restart offers, so the two sides
    /// never restart at once.
    RestartRequest {
        /// The open session.
        session: SessionId,
        /// What the callee noticed, for programs and logs.
        cause: RestartCause,
    },
    /// The session was refused.
    Refused {
        /// The session refused.
        session: SessionId,
        /// Why, in words for the caller.
        reason: String,
        /// Why, for programs (absent from older peers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<EndCode>,
    },
    /// Ends a session.
    Bye {
        /// The session ended.
        session: SessionId,
        /// Why, if there is something to say.
        #[serde(default)]
        reason: Option<String>,
        /// Why, for programs (absent from older peers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<EndCode>,
    },
}

/// Why a side wants ICE restarted (see [`Signal::RestartRequest`]). A cause
/// this version does not know reads as [`RestartCause::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartCause {
    /// ICE consent stopped: no answers on the selected path for a few seconds.
    Disconnected,
    /// ICE failed: no path works any more.
    Failed,
    /// This host's network addresses changed (Wi-Fi reconnect, new DHCP lease).
    AddressChanged,
    /// A cause from a newer peer.
    #[serde(other)]
    Unknown,
}

impl RestartCause {
    /// The cause as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartCause::Disconnected => "disconnected",
            RestartCause::Failed => "failed",
            RestartCause::AddressChanged => "address_changed",
            RestartCause::Unknown => "unknown",
        }
    }
}

/// Why a session was refused (`refused`) or ended (`bye`), for programs; the
/// `reason` beside it is for people. A code this version does not know reads
/// as [`EndCode::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndCode {
    /// The caller is not an approved contact (never approved, or removed):
    /// calling again will not help until the owner approves it.
    NotApproved,
    /// The owner withdrew a permission the session used: a new session gets
    /// what is allowed now.
    AccessWithdrawn,
    /// The device is busy (too many calls at once): try again shortly.
    Busy,
    /// The device cannot provide its media now (no camera, a source failed).
    Unavailable,
    /// The device is shutting down.
    ShuttingDown,
    /// The other side ended the session on purpose.
    HungUp,
    /// The connection could not be made or was lost.
    Failed,
    /// No network path between the two sides: ICE found no candidate pair
    /// that works (routers that need a TURN relay, and none that works).
    NoPath,
    /// A code from a newer peer.
    #[serde(other)]
    Unknown,
}

impl EndCode {
    /// The code as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EndCode::NotApproved => "not_approved",
            EndCode::AccessWithdrawn => "access_withdrawn",
            EndCode::Busy => "busy",
            EndCode::Unavailable => "unavailable",
            EndCode::ShuttingDown => "shutting_down",
            EndCode::HungUp => "hung_up",
            EndCode::Failed => "failed",
            EndCode::NoPath => "no_path",
            EndCode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for EndCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
            Signal::RestartOffer { .. } => "restart_offer",
            Signal::RestartAnswer { .. } => "restart_answer",
            Signal::RestartRequest { .. } => "restart_request",
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
    fn end_codes_travel_beside_the_words_and_old_peers_still_parse() {
        let bye = Signal::Bye {
            session: "s1".into(),
            reason: Some("access withdrawn by the owner".into()),
            code: Some(EndCode::AccessWithdrawn),
        };
        let json = serde_json::to_value(&bye).unwrap();
        assert_eq!(json["code"], "access_withdrawn");
        assert_eq!(serde_json::from_value::<Signal>(json).unwrap(), bye);
        // An older peer sends no code; a newer one may send a code we do not know.
        let old: Signal =
            serde_json::from_str(r#"{"type":"refused","session":"a","reason":"no"}"#).unwrap();
        assert!(matches!(old, Signal::Refused { code: None, .. }));
        let newer: Signal =
            serde_json::from_str(r#"{"type":"bye","session":"a","code":"gone_fishing"}"#).unwrap();
        assert!(matches!(
            newer,
            Signal::Bye {
                code: Some(EndCode::Unknown),
                ..
            }
        ));
        let none = Signal::Bye {
            session: "a".into(),
            reason: None,
            code: None,
        };
        assert!(!serde_json::to_string(&none).unwrap().contains("code"));
    }

    #[test]
    fn restart_messages_have_a_stable_json_shape() {
        let request = Signal::RestartRequest {
            session: "s1".into(),
            cause: RestartCause::AddressChanged,
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["type"], "restart_request");
        assert_eq!(json["cause"], "address_changed");
        assert_eq!(serde_json::from_value::<Signal>(json).unwrap(), request);
        let offer: Signal =
            serde_json::from_str(r#"{"type":"restart_offer","session":"s1","sdp":"v=0"}"#).unwrap();
        assert_eq!(offer.kind(), "restart_offer");
        let newer: Signal = serde_json::from_str(
            r#"{"type":"restart_request","session":"s1","cause":"solar_flare"}"#,
        )
        .unwrap();
        assert!(matches!(
            newer,
            Signal::RestartRequest {
                cause: RestartCause::Unknown,
                ..
            }
        ));
    }

    #[test]
    fn no_path_is_a_code_of_its_own() {
        let bye = Signal::Bye {
            session: "s1".into(),
            reason: Some("no network path".into()),
            code: Some(EndCode::NoPath),
        };
        let json = serde_json::to_value(&bye).unwrap();
        assert_eq!(json["code"], "no_path");
        assert_eq!(EndCode::NoPath.as_str(), "no_path");
        assert_eq!(serde_json::from_value::<Signal>(json).unwrap(), bye);
    }

    #[test]
    fn unknown_types_and_fields_are_refused() {
        assert!(serde_json::from_str::<Signal>(r#"{"type":"hack"}"#).is_err());
        assert!(
            serde_json::from_str::<Signal>(r#"{"type":"bye","session":"a","extra":1}"#).is_err()
        );
    }
}
