//! Tells people who asked to pair what the owner decided. The owner decides
//! with `hearth contacts approve` / `remove` (or, later, the buttons), which
//! edit the contacts file; this watches the book and answers the requester.

use crate::contacts::{ContactBook, ContactStatus};
use crate::envelope::Recipient;
use crate::node::Node;
use crate::signal::Signal;
use tokio::sync::watch;

/// What changed for pending requests between two versions of the book.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decisions {
    /// Pending before, approved now.
    pub approved: Vec<Recipient>,
    /// Pending before, gone now.
    pub refused: Vec<Recipient>,
}

/// Compares two versions of the book (pure).
pub fn decisions(before: &ContactBook, after: &ContactBook) -> Decisions {
    let mut out = Decisions::default();
    for old in before.iter().filter(|c| c.status == ContactStatus::Pending) {
        let recipient = Recipient {
            key: old.key,
            seal_key: old.seal_key,
        };
        match after.get(&old.key) {
            Some(new) if new.status == ContactStatus::Approved => out.approved.push(recipient),
            Some(_) => {}
            None => out.refused.push(recipient),
        }
    }
    out
}

/// Answers requesters as the owner decides, until `stopped`.
pub async fn announce_decisions(
    node: Node,
    mut book: watch::Receiver<ContactBook>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut before = book.borrow_and_update().clone();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            changed = book.changed() => if changed.is_err() { return },
        }
        let after = book.borrow_and_update().clone();
        let decided = decisions(&before, &after);
        for to in decided.approved {
            tracing::info!(contact = %to.key.short(), "pairing approved; telling them");
            let _ = node.send_to(&to, &Signal::PairApproved).await;
        }
        for to in decided.refused {
            tracing::info!(contact = %to.key.short(), "pairing refused; telling them");
            let refusal = Signal::PairRefused {
                reason: "the owner did not approve the request".into(),
            };
            let _ = node.send_to(&to, &refusal).await;
        }
        before = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    #[test]
    fn approvals_and_refusals_of_pending_requests_are_found() {
        let (a, b, c) = (
            Identity::generate().contact_code("A", &[]),
            Identity::generate().contact_code("B", &[]),
            Identity::generate().contact_code("C", &[]),
        );
        let mut before = ContactBook::default();
        before.upsert(&a, ContactStatus::Pending);
        before.upsert(&b, ContactStatus::Pending);
        before.upsert(&c, ContactStatus::Approved);
        let mut after = before.clone();
        after.find_mut("A").unwrap().status = ContactStatus::Approved;
        after.remove("B").unwrap();
        after.remove("C").unwrap();
        let d = decisions(&before, &after);
        assert_eq!(d.approved.len(), 1);
        assert_eq!(d.approved[0].key, a.peer_key);
        assert_eq!(
            d.refused.len(),
            1,
            "removing an approved contact is not a refusal"
        );
        assert_eq!(d.refused[0].key, b.peer_key);
    }
}
