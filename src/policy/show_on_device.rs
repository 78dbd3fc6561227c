//! A contact's camera on the device's screen (issue #16): approved and
//! granted `show_on_device`, which is off unless the owner turns it on.

use crate::contacts::{ContactBook, Permission};
use crate::keys::PeerKey;

/// Whether `caller`'s picture may be shown on the device: approved and
/// granted `show_on_device`.
pub fn may_show_on_device(book: &ContactBook, caller: &PeerKey) -> bool {
    book.approved(caller)
        .is_some_and(|c| c.allows(Permission::ShowOnDevice))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::ContactStatus;
    use crate::identity::Identity;

    #[test]
    fn only_an_approved_contact_granted_it_is_shown() {
        let mut book = ContactBook::default();
        let stranger = Identity::generate().peer_key();
        assert!(!may_show_on_device(&book, &stranger));
        let gran = Identity::generate();
        book.upsert(&gran.contact_code("Gran", &[]), ContactStatus::Pending);
        book.find_mut("Gran")
            .expect("added")
            .permissions
            .set(Permission::ShowOnDevice, true);
        assert!(
            !may_show_on_device(&book, &gran.peer_key()),
            "a pending request"
        );
        book.upsert(&gran.contact_code("Gran", &[]), ContactStatus::Approved);
        let contact = book.find_mut("Gran").expect("added");
        contact.permissions = Default::default();
        assert!(
            !may_show_on_device(&book, &gran.peer_key()),
            "off by default"
        );
        book.find_mut("Gran")
            .expect("added")
            .permissions
            .set(Permission::ShowOnDevice, true);
        assert!(may_show_on_device(&book, &gran.peer_key()));
    }
}
