//! The owner's changes to the contact book, as data. `hearth contacts …`
//! sends one to the running device over its control socket (or, with no
//! device running, applies it itself under the data-directory lock); the
//! device's YES/NO buttons make the same ones. Either way [`ContactChange::apply`]
//! is the one place a change is checked and made, and its
//! [`ChangeOutcome`] is what the owner is told.

use super::name::{clean_name, distinct_name};
use super::{Contact, ContactBook, ContactStatus, ContactsError, Permission, Permissions};
use crate::identity::ContactCode;
use crate::keys::PeerKey;
use serde::{Deserialize, Serialize};

/// One change the owner makes to the contact book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ContactChange {
    /// Adds a person from their contact code (approved), or approves the
    /// pending request of the code's key.
    Add {
        /// The contact code (`hearth1.…`).
        code: String,
        /// The name to know them by (default: the name in their code).
        #[serde(default)]
        name: Option<String>,
        /// Permissions to grant at once.
        #[serde(default)]
        allow: Vec<Permission>,
    },
    /// Adds a token contact (a WHEP player) by its token's hash.
    AddToken {
        /// The name to know the player by.
        name: String,
        /// Hex SHA-256 of its bearer token.
        token_sha256: String,
        /// Permissions to grant at once.
        #[serde(default)]
        allow: Vec<Permission>,
    },
    /// Approves a pending pairing request.
    Approve {
        /// Name or key (prefix).
        who: String,
    },
    /// Approves the oldest pending pairing request (the YES button).
    ApproveOldest,
    /// Removes a contact (refusing it, if it was pending).
    Remove {
        /// Name or key (prefix).
        who: String,
    },
    /// Refuses the oldest pending pairing request (the NO button).
    RefuseOldest,
    /// Grants permissions.
    Allow {
        /// Name or key (prefix).
        who: String,
        /// What to grant.
        permissions: Vec<Permission>,
    },
    /// Withdraws permissions.
    Deny {
        /// Name or key (prefix).
        who: String,
        /// What to withdraw.
        permissions: Vec<Permission>,
    },
}

/// What a change did, for the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOutcome {
    /// The contact's name as stored.
    pub name: String,
    /// The contact's short key.
    pub key: String,
    /// What it may do now (empty when removed).
    pub permissions: Vec<Permission>,
    /// A sentence saying what happened and what it means.
    pub message: String,
}

impl ContactChange {
    /// Checks and applies the change to `book`; `own` is this device's key
    /// (a device is never its own contact). Leaves `book` as it was on error.
    pub fn apply(
        self,
        book: &mut ContactBook,
        own: &PeerKey,
    ) -> Result<ChangeOutcome, ContactsError> {
        match self {
            ContactChange::Add { code, name, allow } => add(book, own, &code, name, &allow),
            ContactChange::AddToken {
                name,
                token_sha256,
                allow,
            } => {
                let mut contact = Contact::token(&clean_name(&name), token_sha256);
                grant(&mut contact.permissions, &allow, true);
                let contact = book.add(contact)?;
                Ok(outcome(
                    contact,
                    format!(
                        "Added token contact {}; it may: {}.",
                        contact.name,
                        describe(&contact.permissions)
                    ),
                ))
            }
            ContactChange::Approve { who } => {
                let contact = book.find_mut(&who)?;
                approve(contact)
            }
            ContactChange::ApproveOldest => {
                let contact = oldest_pending(book)?;
                approve(contact)
            }
            ContactChange::Remove { who } => {
                let removed = book.remove(&who)?;
                Ok(removed_outcome(removed))
            }
            ContactChange::RefuseOldest => {
                let key = oldest_pending(book)?.key.to_string();
                let removed = book.remove(&key)?;
                Ok(removed_outcome(removed))
            }
            ContactChange::Allow { who, permissions } => {
                let contact = book.find_mut(&who)?;
                grant(&mut contact.permissions, &permissions, true);
                Ok(permissions_outcome(contact))
            }
            ContactChange::Deny { who, permissions } => {
                let contact = book.find_mut(&who)?;
                grant(&mut contact.permissions, &permissions, false);
                Ok(permissions_outcome(contact))
            }
        }
    }
}

fn add(
    book: &mut ContactBook,
    own: &PeerKey,
    code: &str,
    name: Option<String>,
    allow: &[Permission],
) -> Result<ChangeOutcome, ContactsError> {
    let code = ContactCode::parse(code)?;
    if &code.peer_key == own {
        return Err(ContactsError::OwnCode);
    }
    if let Some(existing) = book.approved(&code.peer_key) {
        return Err(ContactsError::AlreadyAdded(existing.name.clone()));
    }
    let wanted = clean_name(name.as_deref().unwrap_or(&code.name));
    if name.is_some() && book.find(&wanted).is_ok_and(|c| c.key != code.peer_key) {
        return Err(ContactsError::Exists(wanted));
    }
    let was_pending = book.get(&code.peer_key).is_some();
    let name = distinct_name(book, &wanted, &code.peer_key);
    book.upsert(&code, ContactStatus::Approved);
    let contact = book
        .find_mut(&code.peer_key.to_string())
        .expect("just added");
    contact.name = name;
    grant(&mut contact.permissions, allow, true);
    let what = if was_pending {
        "Approved the waiting request of"
    } else {
        "Added"
    };
    let message = format!(
        "{what} {} ({}). {}",
        contact.name,
        contact.key.short(),
        shared_sentence(contact)
    );
    Ok(outcome(contact, message))
}

fn approve(contact: &mut Contact) -> Result<ChangeOutcome, ContactsError> {
    contact.status = ContactStatus::Approved;
    let message = format!("Approved {}. {}", contact.name, shared_sentence(contact));
    Ok(outcome(contact, message))
}

fn oldest_pending(book: &mut ContactBook) -> Result<&mut Contact, ContactsError> {
    let key = book
        .iter()
        .find(|c| c.status == ContactStatus::Pending)
        .map(|c| c.key.to_string())
        .ok_or(ContactsError::NothingPending)?;
    book.find_mut(&key)
}

fn grant(permissions: &mut Permissions, list: &[Permission], on: bool) {
    for p in list {
        permissions.set(*p, on);
    }
}

/// "Shared with them: …" or how to share something, for a just-approved contact.
fn shared_sentence(contact: &Contact) -> String {
    if Permission::ALL.iter().any(|p| contact.permissions.has(*p)) {
        format!("They may: {}.", describe(&contact.permissions))
    } else {
        format!(
            "Nothing is shared with them yet; use `hearth contacts allow {} live_video,live_audio` (or snapshots, talk_back, show_on_device).",
            contact.name
        )
    }
}

fn permissions_outcome(contact: &Contact) -> ChangeOutcome {
    let mut message = format!(
        "{} may now: {}.",
        contact.name,
        describe(&contact.permissions)
    );
    if contact.status == ContactStatus::Pending {
        message.push_str(
            " They are still waiting for approval: nothing reaches them until you approve.",
        );
    }
    outcome(contact, message)
}

fn removed_outcome(removed: Contact) -> ChangeOutcome {
    let message = match removed.status {
        ContactStatus::Pending => format!("Refused {}'s request.", removed.name),
        ContactStatus::Approved => format!("Removed {}.", removed.name),
    };
    ChangeOutcome {
        name: removed.name,
        key: removed.key.short(),
        permissions: vec![],
        message,
    }
}

fn outcome(contact: &Contact, message: String) -> ChangeOutcome {
    ChangeOutcome {
        name: contact.name.clone(),
        key: contact.key.short(),
        permissions: Permission::ALL
            .into_iter()
            .filter(|p| contact.permissions.has(*p))
            .collect(),
        message,
    }
}

/// The granted permissions in words: "live_video, snapshots" or "nothing".
pub fn describe(permissions: &Permissions) -> String {
    let granted: Vec<&str> = Permission::ALL
        .into_iter()
        .filter(|p| permissions.has(*p))
        .map(Permission::name)
        .collect();
    if granted.is_empty() {
        "nothing".into()
    } else {
        granted.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn book_with_gran() -> (ContactBook, ContactCode) {
        let mut book = ContactBook::default();
        let gran = Identity::generate().contact_code("Gran", &[]);
        book.upsert(&gran, ContactStatus::Approved);
        (book, gran)
    }

    fn own() -> PeerKey {
        Identity::generate().peer_key()
    }

    #[test]
    fn own_code_is_refused() {
        let me = Identity::generate();
        let mut book = ContactBook::default();
        let change = ContactChange::Add {
            code: me.contact_code("Kitchen", &[]).to_text(),
            name: None,
            allow: vec![],
        };
        let err = change.apply(&mut book, &me.peer_key()).unwrap_err();
        assert!(matches!(err, ContactsError::OwnCode), "{err}");
        assert!(book.iter().next().is_none());
    }

    #[test]
    fn the_same_code_twice_is_refused_and_renames_nothing() {
        let (mut book, gran) = book_with_gran();
        let before = book.clone();
        let change = ContactChange::Add {
            code: gran.to_text(),
            name: Some("Grandma".into()),
            allow: vec![Permission::LiveVideo],
        };
        let err = change.apply(&mut book, &own()).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        assert_eq!(book, before);
    }

    #[test]
    fn adding_the_code_of_a_pending_request_approves_it() {
        let mut book = ContactBook::default();
        let dad = Identity::generate().contact_code("Dad", &[]);
        book.upsert(&dad, ContactStatus::Pending);
        let out = ContactChange::Add {
            code: dad.to_text(),
            name: None,
            allow: vec![Permission::Snapshots],
        }
        .apply(&mut book, &own())
        .unwrap();
        assert!(out.message.contains("Approved"), "{}", out.message);
        assert!(book
            .get(&dad.peer_key)
            .unwrap()
            .allows(Permission::Snapshots));
    }

    #[test]
    fn approve_says_what_is_shared() {
        let mut book = ContactBook::default();
        let dad = Identity::generate().contact_code("Dad", &[]);
        book.upsert(&dad, ContactStatus::Pending);
        ContactChange::Allow {
            who: "Dad".into(),
            permissions: vec![Permission::LiveVideo, Permission::LiveAudio],
        }
        .apply(&mut book, &own())
        .unwrap();
        let out = ContactChange::ApproveOldest
            .apply(&mut book, &own())
            .unwrap();
        assert!(
            out.message.contains("live_video, live_audio"),
            "{}",
            out.message
        );
        assert!(
            !out.message.contains("Nothing is shared"),
            "{}",
            out.message
        );
        assert!(book
            .get(&dad.peer_key)
            .unwrap()
            .allows(Permission::LiveAudio));

        let mum = Identity::generate().contact_code("Mum", &[]);
        book.upsert(&mum, ContactStatus::Pending);
        let out = ContactChange::Approve { who: "Mum".into() }
            .apply(&mut book, &own())
            .unwrap();
        assert!(out.message.contains("Nothing is shared"), "{}", out.message);
    }

    #[test]
    fn a_name_that_clashes_is_made_distinct_and_an_asked_one_refused() {
        let (mut book, gran) = book_with_gran();
        let other = Identity::generate().contact_code("Gran", &[]);
        let out = ContactChange::Add {
            code: other.to_text(),
            name: None,
            allow: vec![],
        }
        .apply(&mut book, &own())
        .unwrap();
        assert_ne!(out.name, "Gran");
        assert_eq!(book.find("Gran").unwrap().key, gran.peer_key);
        let third = Identity::generate().contact_code("X", &[]);
        let err = ContactChange::Add {
            code: third.to_text(),
            name: Some("gran".into()),
            allow: vec![],
        }
        .apply(&mut book, &own())
        .unwrap_err();
        assert!(matches!(err, ContactsError::Exists(_)), "{err}");
    }

    #[test]
    fn buttons_need_a_pending_request() {
        let (mut book, _) = book_with_gran();
        for change in [ContactChange::ApproveOldest, ContactChange::RefuseOldest] {
            let err = change.apply(&mut book, &own()).unwrap_err();
            assert!(matches!(err, ContactsError::NothingPending), "{err}");
        }
    }

    #[test]
    fn changes_travel_as_json() {
        let change = ContactChange::Deny {
            who: "Gran".into(),
            permissions: vec![Permission::LiveVideo, Permission::TalkBack],
        };
        let json = serde_json::to_string(&change).unwrap();
        assert_eq!(
            json,
            r#"{"op":"deny","who":"Gran","permissions":["live_video","talk_back"]}"#
        );
        assert_eq!(
            serde_json::from_str::<ContactChange>(&json).unwrap(),
            change
        );
    }
}
