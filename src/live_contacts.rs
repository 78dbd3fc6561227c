//! The contact book as the running device sees it: shared, and reloaded when
//! `hearth contacts …` changes the file, so a revoked contact is cut off at
//! once without a restart.

use crate::contacts::{ContactBook, ContactsError, CONTACTS_FILE};
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
}

impl LiveContacts {
    /// Loads the book from `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Self, ContactsError> {
        let book = ContactBook::load(data_dir)?;
        Ok(LiveContacts {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                book: watch::Sender::new(book),
                write_lock: tokio::sync::Mutex::new(()),
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

    /// Changes the book and writes it to disk atomically.
    pub async fn update<R>(
        &self,
        f: impl FnOnce(&mut ContactBook) -> R,
    ) -> Result<R, ContactsError> {
        let _guard = self.inner.write_lock.lock().await;
        let mut book = self.snapshot();
        let result = f(&mut book);
        book.save(&self.inner.data_dir)?;
        self.inner.book.send_replace(book);
        Ok(result)
    }

    /// Re-reads the file; keeps the old book (and logs) if the file is damaged.
    /// Waits for an [`LiveContacts::update`] under way, so a file read just
    /// before that update saved can never put the book back as it was.
    pub async fn reload(&self) {
        let _guard = self.inner.write_lock.lock().await;
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
