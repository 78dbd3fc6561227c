//! The contact book as a running node sees it, shared by its tasks.
//!
//! A running device *owns* its data directory (it holds the
//! [`DataDirLock`]): every change goes through [`LiveContacts::update`] in
//! that one process — `hearth contacts …` sends its change over the control
//! socket — so the book in memory is the truth and the file is its durable
//! copy, saved before anyone is told. A node that does not own its directory
//! (`hearth watch`) takes the lock for each change and starts from the file.
//! A hand edit of the file is still picked up within [`POLL_INTERVAL`].

use crate::contacts::{ContactBook, ContactsError, CONTACTS_FILE};
use crate::data_dir_lock::DataDirLock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How often the contacts file is checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A shared, live contact book.
#[derive(Clone)]
pub struct LiveContacts {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    book: watch::Sender<ContactBook>,
    write_lock: tokio::sync::Mutex<()>,
    /// Whether this process holds the data directory's lock for its whole
    /// life (a device), so its book in memory is the truth.
    owner: bool,
}

/// How long a node that does not own its data directory waits for a CLI
/// command holding the lock to finish.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

impl LiveContacts {
    /// Loads the book from `data_dir`, for a node that does not own the
    /// directory: each change takes the lock and starts from the file.
    pub fn load(data_dir: &Path) -> Result<Self, ContactsError> {
        Self::open(data_dir, false)
    }

    /// Loads the book of the data directory `lock` holds, for the device
    /// that owns it: changes start from the book in memory.
    pub fn load_owned(lock: &DataDirLock) -> Result<Self, ContactsError> {
        Self::open(lock.dir(), true)
    }

    fn open(data_dir: &Path, owner: bool) -> Result<Self, ContactsError> {
        let book = ContactBook::load(data_dir)?;
        Ok(LiveContacts {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                book: watch::Sender::new(book),
                write_lock: tokio::sync::Mutex::new(()),
                owner,
            }),
        })
    }

    /// The current book.
    pub fn snapshot(&self) -> ContactBook {
        self.inner.book.borrow().clone()
    }

    /// Calls `f` with the current book without cloning it.
    pub fn with<R>(&self, f: impl FnOnce(&ContactBook) -> R) -> R {
        f(&self.inner.book.borrow())
    }

    /// A receiver that is told whenever the book changes.
    pub fn subscribe(&self) -> watch::Receiver<ContactBook> {
        self.inner.book.subscribe()
    }

    /// Changes the book and writes it to disk atomically; returns once it is
    /// saved and everyone subscribed has the new book. A change that changes
    /// nothing writes nothing.
    pub async fn update<R>(
        &self,
        f: impl FnOnce(&mut ContactBook) -> R,
    ) -> Result<R, ContactsError> {
        self.try_update(|book| Ok::<R, ContactsError>(f(book)))
            .await
    }

    /// Like [`LiveContacts::update`] for a change that can fail: on error
    /// nothing is saved and the book stays as it was.
    pub async fn try_update<R, E: From<ContactsError>>(
        &self,
        f: impl FnOnce(&mut ContactBook) -> Result<R, E>,
    ) -> Result<R, E> {
        let _guard = self.inner.write_lock.lock().await;
        let _dir_lock = match self.inner.owner {
            true => None,
            false => Some(
                DataDirLock::acquire_within(&self.inner.data_dir, LOCK_PATIENCE)
                    .map_err(ContactsError::from)?,
            ),
        };
        let before = match self.inner.owner {
            true => self.snapshot(),
            false => ContactBook::load(&self.inner.data_dir)?,
        };
        let mut book = before.clone();
        let result = f(&mut book)?;
        if book != before {
            book.save(&self.inner.data_dir)?;
        }
        self.inner.book.send_if_modified(|current| {
            let changed = *current != book;
            *current = book;
            changed
        });
        Ok(result)
    }

    /// Re-reads the file; keeps the old book (and logs) if the file is damaged.
    /// Waits for an [`LiveContacts::update`] under way, so a file read just
    /// before that update saved can never put the book back as it was.
    /// A file that vanished while the book is not empty is kept as it was
    /// too: losing a file must never withdraw what waits for the contacts.
    pub async fn reload(&self) {
        let _guard = self.inner.write_lock.lock().await;
        let path = self.inner.data_dir.join(CONTACTS_FILE);
        if !path.exists() && self.with(|book| book.iter().next().is_some()) {
            tracing::error!(path = %path.display(), "the contacts file vanished; keeping the contacts already loaded (it is written again at the next change)");
            return;
        }
        match ContactBook::load(&self.inner.data_dir) {
            Ok(book) => {
                self.inner.book.send_if_modified(|current| {
                    if *current == book {
                        false
                    } else {
                        *current = book;
                        true
                    }
                });
            }
            Err(e) => tracing::error!(error = %e, "keeping the contacts already loaded"),
        }
    }

    /// Watches the file and reloads it when it changes, until the handle is dropped.
    pub fn spawn_watcher(&self) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let path = self.inner.data_dir.join(CONTACTS_FILE);
        tokio::spawn(async move {
            let mut last = stamp(&path);
            loop {
                tokio::time::sleep(POLL_INTERVAL).await;
                let Some(inner) = weak.upgrade() else { return };
                let now = stamp(&path);
                if now != last {
                    last = now;
                    LiveContacts { inner }.reload().await;
                }
            }
        })
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::ContactStatus;
    use crate::identity::Identity;

    #[tokio::test]
    async fn a_vanished_file_keeps_the_book_and_the_next_change_writes_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DataDirLock::acquire(dir.path()).unwrap();
        let live = LiveContacts::load_owned(&lock).unwrap();
        let gran = Identity::generate().contact_code("Gran", &[]);
        live.update(|book| {
            book.upsert(&gran, ContactStatus::Approved);
        })
        .await
        .unwrap();
        std::fs::remove_file(dir.path().join(CONTACTS_FILE)).unwrap();
        live.reload().await;
        assert!(live.with(|b| b.get(&gran.peer_key).is_some()), "Gran kept");
        let dad = Identity::generate().contact_code("Dad", &[]);
        live.update(|book| {
            book.upsert(&dad, ContactStatus::Approved);
        })
        .await
        .unwrap();
        let saved = ContactBook::load(dir.path()).unwrap();
        assert!(saved.get(&gran.peer_key).is_some() && saved.get(&dad.peer_key).is_some());
    }
}
