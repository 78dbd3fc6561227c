//! Live media: who gets a session and what it carries, as a pure function of
//! the contact book and the request. Private by default — only an approved
//! contact gets a session, and only the media it was allowed. The privacy
//! switch applies on top ([`Current`]): while it is on, nothing live flows to
//! anyone.

use serde::{Deserialize, Serialize};

use crate::contacts::{ContactBook, Permission};
use crate::keys::PeerKey;

/// What a session may carry, once granted; the answer tells the caller the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// Live video flows to the caller.
    pub video: bool,
    /// Live audio flows to the caller.
    pub audio: bool,
    /// Permissions asked for and not granted, by name (`live_video`, `live_audio`).
    pub denied: Vec<String>,
}

/// Why a session was told what it may receive now, for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessCode {
    /// The owner turned privacy on: no media flows to anyone.
    PrivacyOn,
    /// The owner turned privacy off: what the contact is allowed flows again.
    PrivacyOff,
    /// The owner changed what this contact may receive.
    PermissionsChanged,
    /// A code from a newer peer.
    #[serde(other)]
    Unknown,
}

impl Grant {
    /// Whether any live media flows.
    pub fn is_live(&self) -> bool {
        self.video || self.audio
    }
}

/// What a session may receive at one moment: its grant under the privacy switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// Live video may flow.
    pub video: bool,
    /// Live audio may flow.
    pub audio: bool,
    /// Asked for and not allowed now: permission names, and `privacy` while
    /// privacy mode keeps back something the contact is allowed.
    pub denied: Vec<String>,
}

impl Current {
    /// `grant` while the privacy switch is `private`.
    pub fn of(grant: &Grant, private: bool) -> Current {
        let mut denied = grant.denied.clone();
        let hidden = private && grant.is_live();
        if hidden {
            denied.push("privacy".into());
        }
        Current {
            video: grant.video && !hidden,
            audio: grant.audio && !hidden,
            denied,
        }
    }

    /// Whether privacy mode is what keeps media back.
    pub fn private(&self) -> bool {
        self.denied.iter().any(|d| d == "privacy")
    }

    /// Why a session that was told `self` is now told `next`.
    pub fn change_to(&self, next: &Current) -> AccessCode {
        match (self.private(), next.private()) {
            (false, true) => AccessCode::PrivacyOn,
            (true, false) => AccessCode::PrivacyOff,
            _ => AccessCode::PermissionsChanged,
        }
    }

    /// The same in words for the contact's people; `device` is this device's name.
    pub fn words(&self, device: &str) -> String {
        match (self.private(), self.video, self.audio) {
            (true, _, _) => format!("{device} has privacy mode on"),
            (false, true, true) => format!("{device} shares video and sound with you"),
            (false, true, false) => format!("{device} shares video with you"),
            (false, false, true) => format!("{device} shares sound with you; video is not allowed"),
            (false, false, false) => format!("{device} hasn't shared video or sound with you"),
        }
    }
}

/// Why a session was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not an approved contact.
    #[error("not an approved contact of this device")]
    NotApproved,
}

/// Decides what `caller` may receive when it asks for video and/or audio.
pub fn decide(
    book: &ContactBook,
    caller: &PeerKey,
    want_video: bool,
    want_audio: bool,
) -> Result<Grant, Refusal> {
    let contact = book.approved(caller).ok_or(Refusal::NotApproved)?;
    let mut denied = Vec::new();
    let mut check = |wanted: bool, permission: Permission| {
        let allowed = wanted && contact.allows(permission);
        if wanted && !allowed {
            denied.push(permission.name().to_string());
        }
        allowed
    };
    let video = check(want_video, Permission::LiveVideo);
    let audio = check(want_audio, Permission::LiveAudio);
    Ok(Grant {
        video,
        audio,
        denied,
    })
}

/// Whether a session granted `grant` must end under the current `book`:
/// the contact was removed, un-approved, or lost a permission it uses.
pub fn still_allowed(book: &ContactBook, caller: &PeerKey, grant: &Grant) -> bool {
    match book.approved(caller) {
        None => false,
        Some(c) => {
            (!grant.video || c.allows(Permission::LiveVideo))
                && (!grant.audio || c.allows(Permission::LiveAudio))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::ContactStatus;
    use crate::identity::Identity;

    fn book_with(status: ContactStatus, allow: &[Permission]) -> (ContactBook, PeerKey) {
        let code = Identity::generate().contact_code("Gran", &[]);
        let mut book = ContactBook::default();
        book.upsert(&code, status);
        let entry = book.find_mut("Gran").unwrap();
        for p in allow {
            entry.permissions.set(*p, true);
        }
        (book, code.peer_key)
    }

    #[test]
    fn unknown_and_pending_callers_are_refused() {
        let (book, _) = book_with(ContactStatus::Approved, &[Permission::LiveVideo]);
        let stranger = Identity::generate().peer_key();
        assert_eq!(
            decide(&book, &stranger, true, true),
            Err(Refusal::NotApproved)
        );
        let (book, key) = book_with(ContactStatus::Pending, &[Permission::LiveVideo]);
        assert_eq!(decide(&book, &key, true, true), Err(Refusal::NotApproved));
    }

    #[test]
    fn only_allowed_media_is_granted() {
        let (book, key) = book_with(ContactStatus::Approved, &[Permission::LiveAudio]);
        let grant = decide(&book, &key, true, true).unwrap();
        assert!(!grant.video && grant.audio);
        assert_eq!(grant.denied, vec!["live_video"]);
    }

    #[test]
    fn privacy_hides_what_is_granted_and_names_itself() {
        let grant = |video, audio, denied: &[Permission]| Grant {
            video,
            audio,
            denied: denied.iter().map(|p| p.name().to_string()).collect(),
        };
        let names = |c: &Current| c.denied.clone();
        // (grant, private) → (video, audio, denied)
        let table: [(Grant, bool, bool, bool, &[&str]); 5] = [
            (grant(true, true, &[]), false, true, true, &[]),
            (grant(true, true, &[]), true, false, false, &["privacy"]),
            (
                grant(false, true, &[Permission::LiveVideo]),
                true,
                false,
                false,
                &["live_video", "privacy"],
            ),
            (
                grant(
                    false,
                    false,
                    &[Permission::LiveVideo, Permission::LiveAudio],
                ),
                true,
                false,
                false,
                &["live_video", "live_audio"],
            ),
            (
                grant(false, true, &[Permission::LiveVideo]),
                false,
                false,
                true,
                &["live_video"],
            ),
        ];
        for (grant, private, video, audio, denied) in table {
            let now = Current::of(&grant, private);
            assert_eq!(
                (now.video, now.audio),
                (video, audio),
                "{grant:?} {private}"
            );
            assert_eq!(names(&now), denied, "{grant:?} {private}");
        }
    }

    #[test]
    fn each_change_has_its_code() {
        let live = Current::of(
            &Grant {
                video: true,
                audio: false,
                denied: vec![],
            },
            false,
        );
        let private = Current::of(
            &Grant {
                video: true,
                audio: false,
                denied: vec![],
            },
            true,
        );
        let both = Current::of(
            &Grant {
                video: true,
                audio: true,
                denied: vec![],
            },
            false,
        );
        assert_eq!(live.change_to(&private), AccessCode::PrivacyOn);
        assert_eq!(private.change_to(&live), AccessCode::PrivacyOff);
        assert_eq!(live.change_to(&both), AccessCode::PermissionsChanged);
        assert_eq!(private.words("Kitchen"), "Kitchen has privacy mode on");
    }

    #[test]
    fn revoking_a_used_permission_ends_the_session() {
        let (mut book, key) = book_with(
            ContactStatus::Approved,
            &[Permission::LiveVideo, Permission::LiveAudio],
        );
        let grant = decide(&book, &key, true, false).unwrap();
        assert!(still_allowed(&book, &key, &grant));
        book.find_mut("Gran").unwrap().permissions.live_audio = false;
        assert!(still_allowed(&book, &key, &grant), "audio was not in use");
        book.find_mut("Gran").unwrap().permissions.live_video = false;
        assert!(!still_allowed(&book, &key, &grant));
        book.remove("Gran").unwrap();
        assert!(!still_allowed(&book, &key, &grant));
    }
}
