//! The device side of the control socket ([`crate::device::socket`]): the privacy
//! switch, the status, new shares and contact changes.

use super::calls::Calls;
use super::shares::Shares;
use crate::contacts::{ChangeOutcome, ContactChange, ContactsError};
use crate::device::socket::{
    socket_path, Request, Response, Status, MAX_DELIVERY_WAIT_SECS, MAX_REQUEST_BYTES,
};
use crate::keys::PeerKey;
use crate::privacy::{Privacy, PrivacyInput};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;

/// What the control socket serves.
pub(super) struct ControlState {
    pub own_key: PeerKey,
    pub privacy: Arc<Privacy>,
    pub shares: Arc<Shares>,
    pub calls: Arc<Calls>,
    pub links: Arc<super::link::Links>,
}

impl ControlState {
    pub(super) async fn handle(&self, request: Request) -> Response {
        match request {
            Request::Status => Response::Status(self.status()),
            Request::Privacy { on } => {
                let input = on.map_or(PrivacyInput::Press, PrivacyInput::Set);
                match self.privacy.apply(input) {
                    Ok(on) => Response::Privacy { on },
                    Err(e) => Response::Error {
                        error: e.to_string(),
                    },
                }
            }
            Request::Share(request) => match self.shares.share(request).await {
                Ok(receipt) => Response::Shared(receipt),
                Err(e) => Response::Error {
                    error: e.to_string(),
                },
            },
            Request::Contacts { change } => match self.change_contacts(change).await {
                Ok(outcome) => Response::Contacts(outcome),
                Err(e) => Response::Error {
                    error: e.to_string(),
                },
            },
            Request::Call { who, end } => {
                let done = match end {
                    false => self.links.clone().link_to(&who),
                    true => self.links.end_link(&who),
                };
                match done {
                    Ok(name) => Response::Call { name, on: !end },
                    Err(e) => Response::Error {
                        error: e.to_string(),
                    },
                }
            }
            Request::Delivery { id, wait_secs } => {
                let wait = Duration::from_secs(wait_secs.min(MAX_DELIVERY_WAIT_SECS));
                match self.shares.delivery(&id, wait).await {
                    Some(report) => Response::Delivery(report),
                    None => Response::Error {
                        error: format!("no recent share of this device has id {id}; `hearth status` shows the outbox"),
                    },
                }
            }
        }
    }

    /// Applies the owner's change to the book, saves it and publishes it
    /// (sessions it revokes end, pairing answers go out) before answering.
    pub(super) async fn change_contacts(
        &self,
        change: ContactChange,
    ) -> Result<ChangeOutcome, ContactsError> {
        let own = self.own_key;
        let outcome = self
            .calls
            .contacts
            .try_update(|book| change.apply(book, &own))
            .await;
        match &outcome {
            Ok(done) => tracing::info!(contact = %done.key, "contacts changed by the owner"),
            Err(e) => tracing::warn!(error = %e, "a change to the contacts was refused"),
        }
        outcome
    }

    pub(super) fn status(&self) -> Status {
        let mut connected = self.calls.connected();
        connected.extend(self.shares.online_names());
        connected.sort();
        connected.dedup();
        let waiting = self.shares.outbox.per_contact().unwrap_or_default();
        let outbox = self.shares.contacts.with(|book| {
            waiting
                .into_iter()
                .map(|(k, n)| {
                    (
                        book.get(&k).map_or_else(|| k.short(), |c| c.name.clone()),
                        n,
                    )
                })
                .collect()
        });
        let inbox = self.shares.inbox.usage();
        if let Err(e) = &inbox {
            tracing::warn!(error = %e, "cannot measure the inbox");
        }
        let inbox_full = self.shares.inbox_full.borrow().clone();
        Status {
            private: self.privacy.is_on(),
            connected,
            watching: self.calls.watchers(),
            talking: self.calls.talk_back.stats().talking,
            showing: self.calls.picture.shown().and_then(|key| {
                self.calls
                    .contacts
                    .with(|book| book.get(&key).map(|c| c.name.clone()))
            }),
            paths: self.calls.paths(),
            outbox,
            inbox_bytes: inbox.as_ref().map_or(0, |u| u.bytes),
            inbox_max_bytes: self.shares.config.inbox_max_bytes,
            inbox_full,
            damaged: self
                .shares
                .outbox
                .damaged()
                .into_iter()
                .chain(self.shares.inbox.damaged())
                .map(|p| p.display().to_string())
                .collect(),
        }
    }
}

/// Binds `control.sock` in `data_dir` (replacing a stale one), mode 0600.
pub(super) fn bind(data_dir: &std::path::Path) -> Option<(tokio::net::UnixListener, u64)> {
    use std::os::unix::fs::MetadataExt;
    let path = socket_path(data_dir);
    let _ = std::fs::remove_file(&path);
    match tokio::net::UnixListener::bind(&path) {
        Ok(listener) => {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            let inode = std::fs::metadata(&path).map(|m| m.ino()).unwrap_or(0);
            Some((listener, inode))
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "control socket unavailable; `hearth privacy/status/share` will not reach this device");
            None
        }
    }
}

/// Serves the bound control socket until stopped, then removes it if it is
/// still this device's (a device started since on the same directory keeps its own).
pub(super) async fn serve(
    state: Arc<ControlState>,
    (listener, inode): (tokio::net::UnixListener, u64),
    data_dir: PathBuf,
    mut stopped: watch::Receiver<bool>,
) {
    use std::os::unix::fs::MetadataExt;
    let path = socket_path(&data_dir);
    loop {
        let stream = tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        tokio::spawn(answer(state.clone(), stream));
    }
    if std::fs::metadata(&path).is_ok_and(|m| m.ino() == inode) {
        let _ = std::fs::remove_file(&path);
    }
}

async fn answer(state: Arc<ControlState>, stream: tokio::net::UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST_BYTES as u64));
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let response = match serde_json::from_str::<Request>(&line) {
        Ok(request) => state.handle(request).await,
        Err(e) => Response::Error {
            error: format!("bad control request: {e}"),
        },
    };
    let mut out = serde_json::to_vec(&response).expect("responses serialize");
    out.push(b'\n');
    let _ = write.write_all(&out).await;
}
