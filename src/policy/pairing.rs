//! Pairing: what a stranger's request does. An approved contact asking again
//! is told yes; a request repeated while waiting changes nothing; otherwise it
//! waits for the owner, and when [`MAX_PENDING_REQUESTS`] are waiting the
//! oldest makes room (one entry per key).

use crate::contacts::{ContactBook, ContactStatus};
use crate::identity::ContactCode;
use crate::keys::PeerKey;

/// Pairing requests kept waiting for the owner at most.
pub const MAX_PENDING_REQUESTS: usize = 16;

/// What to do with a pairing request whose code was checked to be the sender's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingStep {
    /// Already approved: tell them so again.
    AlreadyApproved,
    /// Asked again while waiting, with the same keys and relays: nothing to do.
    Repeated,
    /// Store it as pending, removing `making_room` first if set.
    Wait {
        /// The oldest waiting request, dropped to make room.
        making_room: Option<PeerKey>,
    },
}

/// Decides what the request carrying `code` does to `book`.
pub fn on_request(book: &ContactBook, code: &ContactCode) -> PairingStep {
    let from = code.peer_key;
    if book.approved(&from).is_some() {
        return PairingStep::AlreadyApproved;
    }
    if book
        .get(&from)
        .is_some_and(|c| c.seal_key == code.seal_key && c.relays == code.relays)
    {
        return PairingStep::Repeated;
    }
    let pending: Vec<PeerKey> = book
        .iter()
        .filter(|c| c.status == ContactStatus::Pending)
        .map(|c| c.key)
        .collect();
    let making_room =
        (pending.len() >= MAX_PENDING_REQUESTS && !pending.contains(&from)).then(|| pending[0]);
    PairingStep::Wait { making_room }
}
