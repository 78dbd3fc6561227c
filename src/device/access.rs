//! Tells one open session what its contact may receive now, the moment that
//! changes: privacy on or off, or the owner changed the contact's
//! permissions. The device computes the new [`Current`] for every session at
//! each change ([`super::calls::Calls::reconcile`]) and hands it here; a task
//! per session sends an access message ([`crate::api::Access`]) on its data
//! channel whenever what the contact was last told differs. Sends for one
//! session go out one at a time and in order, and only the newest state is
//! sent, so a quick on–off never leaves the contact believing the older one.

use crate::api::{Access, PeerConnection};
use crate::policy::Current;
use tokio::sync::watch;

/// The per-session sender of access messages; the task ends when this is dropped.
pub(super) struct Announcer {
    current: watch::Sender<Current>,
}

impl Announcer {
    /// Starts telling `connection` about changes from `answered` (what its
    /// answer said); `device` is this device's name, for the words.
    pub(super) fn start(connection: PeerConnection, device: String, answered: Current) -> Self {
        let (current, mut changes) = watch::channel(answered.clone());
        tokio::spawn(async move {
            let mut told = answered;
            while changes.changed().await.is_ok() {
                let now = changes.borrow_and_update().clone();
                if now == told {
                    continue;
                }
                let access = Access {
                    code: told.change_to(&now),
                    video: now.video,
                    audio: now.audio,
                    denied: now.denied.clone(),
                    reason: now.words(&device),
                };
                let contact = connection.contact().short();
                match connection.send(&access.to_json()).await {
                    Ok(()) => {
                        tracing::info!(%contact, code = ?access.code, video = now.video, audio = now.audio, "told the session what it may receive now");
                        told = now;
                    }
                    Err(e) => {
                        tracing::debug!(%contact, error = %e, "could not tell the session; it has ended");
                        return;
                    }
                }
            }
        });
        Announcer { current }
    }

    /// What the contact may receive now; sent if it differs from what it was told.
    pub(super) fn update(&self, now: Current) {
        self.current.send_if_modified(|current| {
            let changed = *current != now;
            *current = now;
            changed
        });
    }
}
