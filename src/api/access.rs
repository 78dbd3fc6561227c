//! What an open session may receive now, as the answering side tells the
//! caller on the data channel whenever it changes: the owner turned privacy on
//! or off, or changed the caller's permissions. One text message,
//! `{"type":"access","code":…,"video":…,"audio":…,"denied":[…],"reason":…}`
//! (docs/protocol.md, "Access changes"). A caller receives it through
//! [`super::PeerConnection::access`].
//!
//! The answering side never renegotiates: when `video` or `audio` is more than
//! the session carries ([`Access::widens`]), the caller calls again and the new
//! session carries what is allowed now. Narrowing needs no call: privacy
//! pauses media on the session, and a withdrawn permission ends the session
//! (`bye` with code `access_withdrawn`).

pub use crate::policy::AccessCode;
use crate::policy::Grant;
use serde::{Deserialize, Serialize};

/// What a session's caller may receive now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Why this was sent.
    pub code: AccessCode,
    /// Live video may flow to the caller now.
    pub video: bool,
    /// Live audio may flow to the caller now.
    pub audio: bool,
    /// What the caller asked for and may not have now: permission names
    /// (`live_video`, `live_audio`) and `privacy` while privacy mode is on.
    #[serde(default)]
    pub denied: Vec<String>,
    /// The same, in words for people.
    #[serde(default)]
    pub reason: String,
}

/// The data-channel framing: a JSON object tagged `"type":"access"`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    Access(Access),
}

impl Access {
    /// The message as it goes on the data channel.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Wire::Access(self.clone())).expect("access serializes")
    }

    /// Reads a data-channel text message; `None` if it is not an access message.
    pub fn parse(text: &str) -> Option<Access> {
        if !text.contains("\"access\"") {
            return None;
        }
        match serde_json::from_str::<Wire>(text) {
            Ok(Wire::Access(access)) => Some(access),
            Err(_) => None,
        }
    }

    /// Whether privacy mode is what keeps media from the caller now.
    pub fn private(&self) -> bool {
        self.denied.iter().any(|d| d == "privacy")
    }

    /// Whether this allows more than a session that carries `granted` can
    /// deliver: the caller must call again to get it.
    pub fn widens(&self, granted: &Grant) -> bool {
        (self.video && !granted.video) || (self.audio && !granted.audio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(code: AccessCode, video: bool, audio: bool, denied: &[&str]) -> Access {
        Access {
            code,
            video,
            audio,
            denied: denied.iter().map(|d| d.to_string()).collect(),
            reason: String::new(),
        }
    }

    #[test]
    fn the_wire_shape_is_tagged_and_round_trips() {
        let a = access(AccessCode::PrivacyOn, false, false, &["privacy"]);
        let json: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(json["type"], "access");
        assert_eq!(json["code"], "privacy_on");
        assert_eq!(json["video"], false);
        assert_eq!(Access::parse(&a.to_json()), Some(a.clone()));
        assert!(a.private());
        assert_eq!(Access::parse(r#"{"type":"ping","id":1}"#), None);
        assert_eq!(Access::parse(r#"{"type":"share_ack","id":"access"}"#), None);
        let newer =
            Access::parse(r#"{"type":"access","code":"owner_sneezed","video":true,"audio":false}"#)
                .unwrap();
        assert_eq!(newer.code, AccessCode::Unknown);
    }

    #[test]
    fn widening_is_more_than_the_session_carries() {
        let carries = |video, audio| Grant {
            video,
            audio,
            denied: vec![],
        };
        let both = access(AccessCode::PrivacyOff, true, true, &[]);
        assert!(!both.widens(&carries(true, true)), "resumes on the session");
        assert!(
            both.widens(&carries(true, false)),
            "sound needs a new session"
        );
        assert!(both.widens(&carries(false, false)));
        let none = access(AccessCode::PrivacyOn, false, false, &["privacy"]);
        assert!(!none.widens(&carries(false, false)));
        assert!(!none.widens(&carries(true, true)), "paused, not ended");
    }
}
