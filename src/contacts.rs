//! The owner's contacts and what each may see. Private by default: a new
//! contact has every permission off until the owner grants it. Kept as TOML in
//! the data directory and written atomically.
//!
//! Most contacts are people (a key from their contact code). A *token contact*
//! is a standard player (WHEP) holding a bearer token: the book keeps only the
//! token's SHA-256, and its `key` is a random identifier nobody holds a secret for.

mod change;
pub mod name;

pub use change::{describe, ChangeOutcome, ContactChange};

use crate::atomic_file::write_atomic;
use crate::identity::{ContactCode, ContactCodeError};
use crate::keys::{PeerKey, SealKey};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// File name of the contact book inside the data directory.
pub const CONTACTS_FILE: &str = "contacts.toml";

/// Errors from the contact book.
#[derive(Debug, thiserror::Error)]
pub enum ContactsError {
    /// The file could not be read or written.
    #[error("cannot access contacts file {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file exists but is not valid.
    #[error("contacts file {path} is damaged: {reason}. It is left untouched; fix or restore it")]
    Corrupt {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No contact matches the given name or key.
    #[error("no contact called `{0}`; `hearth contacts list` shows them")]
    NotFound(String),
    /// More than one contact matches the given name.
    #[error("more than one contact is called `{0}`; use its key instead")]
    Ambiguous(String),
    /// A contact with that name already exists.
    #[error("a contact called `{0}` already exists; choose another name")]
    Exists(String),
    /// An unknown permission name was given.
    #[error("unknown permission `{0}`; use live_video, live_audio, snapshots or talk_back")]
    UnknownPermission(String),
    /// The contact code could not be read.
    #[error(transparent)]
    Code(#[from] ContactCodeError),
    /// The code is this device's own.
    #[error("that is this device's own contact code; add the code of a family member's device or browser instead")]
    OwnCode,
    /// The code's key is already an approved contact.
    #[error("that code is already your contact `{0}`; change what they may do with `hearth contacts allow` or `deny`")]
    AlreadyAdded(String),
    /// A button asked for a pairing request and none waits.
    #[error("no pairing request is waiting")]
    NothingPending,
    /// Another process is changing the data directory.
    #[error(transparent)]
    Locked(#[from] crate::data_dir_lock::LockError),
}

/// Whether the owner has approved a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    /// Asked to pair; waits for the owner. Gets nothing.
    Pending,
    /// Approved by the owner; gets what its permissions allow.
    Approved,
}

/// One thing a contact may be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Watch the camera live.
    LiveVideo,
    /// Hear the microphone live.
    LiveAudio,
    /// Receive snapshots and shares.
    Snapshots,
    /// Speak through the device's speaker and send it photos and thoughts.
    TalkBack,
    /// Show their camera on the device's screen (issue #16).
    ShowOnDevice,
}

impl Permission {
    /// Every permission, in display order.
    pub const ALL: [Permission; 5] = [
        Permission::LiveVideo,
        Permission::LiveAudio,
        Permission::Snapshots,
        Permission::TalkBack,
        Permission::ShowOnDevice,
    ];

    /// The permission's name in the CLI and the file.
    pub fn name(self) -> &'static str {
        match self {
            Permission::LiveVideo => "live_video",
            Permission::LiveAudio => "live_audio",
            Permission::Snapshots => "snapshots",
            Permission::TalkBack => "talk_back",
            Permission::ShowOnDevice => "show_on_device",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Permission {
    type Err = ContactsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.name() == s.trim())
            .ok_or_else(|| ContactsError::UnknownPermission(s.to_string()))
    }
}

/// What a contact may do. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Permissions {
    /// May watch the camera live.
    pub live_video: bool,
    /// May hear the microphone live.
    pub live_audio: bool,
    /// Receives snapshots and shares.
    pub snapshots: bool,
    /// May talk back and send photos and thoughts.
    pub talk_back: bool,
    /// May show their camera on the device's screen.
    pub show_on_device: bool,
}

impl Permissions {
    /// Whether `permission` is granted.
    pub fn has(&self, permission: Permission) -> bool {
        match permission {
            Permission::LiveVideo => self.live_video,
            Permission::LiveAudio => self.live_audio,
            Permission::Snapshots => self.snapshots,
            Permission::TalkBack => self.talk_back,
            Permission::ShowOnDevice => self.show_on_device,
        }
    }

    /// Grants or withdraws `permission`.
    pub fn set(&mut self, permission: Permission, on: bool) {
        match permission {
            Permission::LiveVideo => self.live_video = on,
            Permission::LiveAudio => self.live_audio = on,
            Permission::Snapshots => self.snapshots = on,
            Permission::TalkBack => self.talk_back = on,
            Permission::ShowOnDevice => self.show_on_device = on,
        }
    }
}

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The name the owner knows the contact by.
    pub name: String,
    /// The contact's Ed25519 key.
    pub key: PeerKey,
    /// The contact's X25519 key.
    pub seal_key: SealKey,
    /// Relays where the contact can be reached.
    #[serde(default)]
    pub relays: Vec<String>,
    /// Approved or waiting for approval.
    pub status: ContactStatus,
    /// For a token contact: the hex SHA-256 of its bearer token (never the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// What the contact may do.
    #[serde(default)]
    pub permissions: Permissions,
}

impl Contact {
    /// A contact made from its code, with no permissions.
    pub fn from_code(code: &ContactCode, status: ContactStatus) -> Self {
        Contact {
            name: name::clean_name(&code.name),
            key: code.peer_key,
            seal_key: code.seal_key,
            relays: code.relays.clone(),
            status,
            permissions: Permissions::default(),
            token_sha256: None,
        }
    }

    /// A token contact called `name`, approved, with nothing allowed yet.
    /// `token_sha256` is the hex SHA-256 of its bearer token. Its key and seal
    /// key come from a fresh identity whose secrets are dropped here, so no
    /// one can ever sign or open anything as it: it can only use its token.
    pub fn token(name: &str, token_sha256: String) -> Self {
        let placeholder = crate::identity::Identity::generate();
        Contact {
            name: name.to_string(),
            key: placeholder.peer_key(),
            seal_key: placeholder.seal_key(),
            relays: vec![],
            status: ContactStatus::Approved,
            permissions: Permissions::default(),
            token_sha256: Some(token_sha256),
        }
    }

    /// Whether this is a token contact (a WHEP player) rather than a person.
    pub fn is_token(&self) -> bool {
        self.token_sha256.is_some()
    }

    /// Whether the contact is approved and has `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.status == ContactStatus::Approved && self.permissions.has(permission)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactsFile {
    #[serde(default, rename = "contact")]
    contacts: Vec<Contact>,
}

/// The contact book, in memory; `save` writes it back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactBook {
    contacts: Vec<Contact>,
}

impl ContactBook {
    /// Loads the book from `data_dir`; an absent file is an empty book. A
    /// file that exists but is empty (or only whitespace) is [`ContactsError::Corrupt`],
    /// like any other damage: the book always writes at least its header, so
    /// an empty file is a write that was lost, not a book without contacts.
    pub fn load(data_dir: &Path) -> Result<Self, ContactsError> {
        let path = data_dir.join(CONTACTS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ContactsError::Io { path, source }),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ContactsError::Corrupt {
                path,
                reason: format!(
                    "the file is empty ({} bytes); to start again with no contacts, delete it",
                    bytes.len()
                ),
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| ContactsError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let file: ContactsFile = toml::from_str(&text).map_err(|e| ContactsError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(ContactBook {
            contacts: file.contacts,
        })
    }

    /// Writes the book to `data_dir` atomically.
    pub fn save(&self, data_dir: &Path) -> Result<(), ContactsError> {
        let path = data_dir.join(CONTACTS_FILE);
        let file = ContactsFile {
            contacts: self.contacts.clone(),
        };
        let text = format!(
            "# Hearth contacts. Edit with `hearth contacts …`; permissions are off unless set to true.\n\n{}",
            toml::to_string(&file).expect("contacts serialize")
        );
        write_atomic(&path, text.as_bytes(), 0o600)
            .map_err(|source| ContactsError::Io { path, source })
    }

    /// All contacts.
    pub fn iter(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.iter()
    }

    /// The contact with this key, if any.
    pub fn get(&self, key: &PeerKey) -> Option<&Contact> {
        self.contacts.iter().find(|c| &c.key == key)
    }

    /// The approved contact with this key, if any.
    pub fn approved(&self, key: &PeerKey) -> Option<&Contact> {
        self.get(key)
            .filter(|c| c.status == ContactStatus::Approved)
    }

    /// Adds a contact or, if its key is known, refreshes its keys and relays
    /// (keeping its name, status and permissions, unless `status` approves it).
    pub fn upsert(&mut self, code: &ContactCode, status: ContactStatus) -> &Contact {
        let index = match self.contacts.iter().position(|c| c.key == code.peer_key) {
            Some(i) => {
                let existing = &mut self.contacts[i];
                existing.seal_key = code.seal_key;
                existing.relays = code.relays.clone();
                if status == ContactStatus::Approved {
                    existing.status = status;
                }
                i
            }
            None => {
                let mut contact = Contact::from_code(code, status);
                contact.name = name::distinct_name(self, &contact.name, &contact.key);
                self.contacts.push(contact);
                self.contacts.len() - 1
            }
        };
        &self.contacts[index]
    }

    /// Adds `contact` unless a contact with its name or key exists.
    pub fn add(&mut self, contact: Contact) -> Result<&Contact, ContactsError> {
        if self.position(&contact.name).is_ok() || self.get(&contact.key).is_some() {
            return Err(ContactsError::Exists(contact.name));
        }
        self.contacts.push(contact);
        Ok(self.contacts.last().expect("just pushed"))
    }

    /// Finds a contact by exact key text, key prefix (8+ chars) or name.
    pub fn find(&self, who: &str) -> Result<&Contact, ContactsError> {
        let index = self.position(who)?;
        Ok(&self.contacts[index])
    }

    /// Like [`ContactBook::find`], for changing the contact.
    pub fn find_mut(&mut self, who: &str) -> Result<&mut Contact, ContactsError> {
        let index = self.position(who)?;
        Ok(&mut self.contacts[index])
    }

    /// Removes a contact, returning it.
    pub fn remove(&mut self, who: &str) -> Result<Contact, ContactsError> {
        let index = self.position(who)?;
        Ok(self.contacts.remove(index))
    }

    fn position(&self, who: &str) -> Result<usize, ContactsError> {
        let who = who.trim();
        let by_key: Vec<usize> = self
            .contacts
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let key = c.key.to_string();
                key == who || (who.len() >= 8 && key.starts_with(who))
            })
            .map(|(i, _)| i)
            .collect();
        let matches = if by_key.is_empty() {
            self.contacts
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name.eq_ignore_ascii_case(who))
                .map(|(i, _)| i)
                .collect()
        } else {
            by_key
        };
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(ContactsError::NotFound(who.to_string())),
            _ => Err(ContactsError::Ambiguous(who.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn code(name: &str) -> ContactCode {
        Identity::generate().contact_code(name, &[])
    }

    #[test]
    fn new_contacts_are_private_by_default() {
        let mut book = ContactBook::default();
        let contact = book.upsert(&code("Gran"), ContactStatus::Approved).clone();
        for p in Permission::ALL {
            assert!(!contact.allows(p), "{p} on by default");
        }
    }

    #[test]
    fn pending_contact_gets_nothing_even_with_permissions() {
        let mut book = ContactBook::default();
        let key = book.upsert(&code("Stranger"), ContactStatus::Pending).key;
        book.find_mut("Stranger").unwrap().permissions.live_video = true;
        assert!(!book.get(&key).unwrap().allows(Permission::LiveVideo));
        assert!(book.approved(&key).is_none());
    }

    #[test]
    fn saves_and_loads_and_finds_by_name_or_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = ContactBook::default();
        let gran = code("Gran");
        book.upsert(&gran, ContactStatus::Approved);
        book.upsert(&code("Dad"), ContactStatus::Pending);
        book.find_mut("gran")
            .unwrap()
            .permissions
            .set(Permission::LiveVideo, true);
        book.save(dir.path()).unwrap();
        let loaded = ContactBook::load(dir.path()).unwrap();
        assert_eq!(loaded, book);
        let by_prefix = &gran.peer_key.to_string()[..10];
        assert_eq!(loaded.find(by_prefix).unwrap().name, "Gran");
        assert!(loaded.find("nobody").is_err());
    }

    #[test]
    fn unknown_fields_and_garbage_are_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONTACTS_FILE);
        std::fs::write(&path, "[[contact]]\nname = 1\n").unwrap();
        assert!(matches!(
            ContactBook::load(dir.path()),
            Err(ContactsError::Corrupt { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[[contact]]\nname = 1\n"
        );
    }

    #[test]
    fn an_empty_file_is_damaged_not_an_empty_book() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ContactBook::load(dir.path()).unwrap(),
            ContactBook::default()
        );
        let path = dir.path().join(CONTACTS_FILE);
        for text in ["", " \n\t\n"] {
            std::fs::write(&path, text).unwrap();
            let err = ContactBook::load(dir.path()).unwrap_err();
            assert!(matches!(err, ContactsError::Corrupt { .. }), "{err}");
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("empty"), "{message}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                text,
                "left untouched"
            );
        }
        ContactBook::default().save(dir.path()).unwrap();
        assert_eq!(
            ContactBook::load(dir.path()).unwrap(),
            ContactBook::default(),
            "a saved book without contacts is not empty"
        );
    }

    #[test]
    fn files_without_tokens_still_load_and_tokens_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let person = code("Gran");
        let old = format!(
            "[[contact]]\nname = \"Gran\"\nkey = \"{}\"\nseal_key = \"{}\"\nstatus = \"approved\"\n",
            person.peer_key, person.seal_key
        );
        std::fs::write(dir.path().join(CONTACTS_FILE), old).unwrap();
        let mut book = ContactBook::load(dir.path()).unwrap();
        assert!(!book.find("Gran").unwrap().is_token());
        book.add(Contact::token("TV", "ab".repeat(32))).unwrap();
        book.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(CONTACTS_FILE)).unwrap();
        assert_eq!(text.matches("token_sha256").count(), 1, "{text}");
        let loaded = ContactBook::load(dir.path()).unwrap();
        assert_eq!(loaded, book);
        let tv = loaded.find("tv").unwrap();
        assert!(tv.is_token() && tv.status == ContactStatus::Approved);
        assert!(!tv.allows(Permission::LiveVideo), "private by default");
    }

    #[test]
    fn names_are_unique_when_adding() {
        let mut book = ContactBook::default();
        book.add(Contact::token("TV", "00".repeat(32))).unwrap();
        assert!(matches!(
            book.add(Contact::token("tv", "11".repeat(32))),
            Err(ContactsError::Exists(_))
        ));
    }

    #[test]
    fn permission_names_parse() {
        assert_eq!(
            "talk_back".parse::<Permission>().unwrap(),
            Permission::TalkBack
        );
        assert_eq!(
            "show_on_device".parse::<Permission>().unwrap(),
            Permission::ShowOnDevice
        );
        assert!("everything".parse::<Permission>().is_err());
    }
}
