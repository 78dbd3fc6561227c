//! Talk-back: a contact's voice on the device's speaker. Checked for every
//! packet against the book of that moment, so taking `talk_back` away
//! silences a contact mid-sentence.

use crate::contacts::{ContactBook, Permission};
use crate::keys::PeerKey;

/// Whether `caller` may be heard on the speaker: approved and granted `talk_back`.
pub fn may_talk_back(book: &ContactBook, caller: &PeerKey) -> bool {
    book.approved(caller)
        .is_some_and(|c| c.allows(Permission::TalkBack))
}
