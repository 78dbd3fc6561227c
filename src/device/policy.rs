//! Who gets what: the device's decision for a session offer, as a pure
//! function of the contact book and the request. Private by default — only
//! an approved contact gets a session, and only the media it was allowed.

use crate::contacts::{ContactBook, Permission};
use crate::keys::PeerKey;

/// What a session may carry, once granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Live video flows to the caller.
    pub video: bool,
    /// Live audio flows to the caller.
    pub audio: bool,
    /// Asked for but not allowed.
    pub denied: Vec<Permission>,
}

impl Grant {
    /// Whether any live media flows.
    pub fn is_live(&self) -> bool {
        self.video || self.audio
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
            denied.push(permission);
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
        assert_eq!(grant.denied, vec![Permission::LiveVideo]);
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
