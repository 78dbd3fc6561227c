//! Shares: who receives this device's snapshots, and what a contact may push
//! to it. Snapshots go to approved contacts with `snapshots`; an approved
//! contact may push snapshots, and photos and thoughts only with `talk_back`.
//! Token contacts (WHEP players) take part in neither.

use crate::contacts::{Contact, ContactBook, Permission};
use crate::keys::PeerKey;

/// What a peer may push to this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiveRules {
    /// Accept snapshots from this peer.
    pub snapshots: bool,
    /// Accept photos and thoughts from this peer.
    pub photos_and_thoughts: bool,
}

/// Whether `contact` receives this device's shares (and may still be sent
/// the ones waiting for it).
pub fn may_receive_shares(contact: &Contact) -> bool {
    !contact.is_token() && contact.allows(Permission::Snapshots)
}

/// What `peer` may push to this device.
pub fn receive_rules(book: &ContactBook, peer: &PeerKey) -> ReceiveRules {
    match book.approved(peer) {
        Some(c) if !c.is_token() => ReceiveRules {
            snapshots: true,
            photos_and_thoughts: c.allows(Permission::TalkBack),
        },
        _ => ReceiveRules::default(),
    }
}
