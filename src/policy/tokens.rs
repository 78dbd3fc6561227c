//! WHEP players: a token contact may open a WHEP session when it is approved
//! and may watch or listen at all; what the session then carries is decided
//! by [`super::decide`] like any other.

use crate::contacts::{Contact, Permission};

/// Whether the token contact that presented its token may open a session.
pub fn may_watch_by_token(contact: &Contact) -> bool {
    contact.is_token()
        && (contact.allows(Permission::LiveVideo) || contact.allows(Permission::LiveAudio))
}
