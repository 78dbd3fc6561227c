//! The device's shares: making one (snapshot, photo or thought), deciding its
//! audience, queueing it in the outbox, and the rules for who may push what
//! to this device. Moving shares over connections is in [`super::share_link`].

use super::deliveries::{Deliveries, DeliveryReport, Outgoing};
use crate::api::LocalMedia;
use crate::contacts::ContactBook;
use crate::identity::Identity;
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::policy;
use crate::share::inbox::Inbox;
use crate::share::manifest::describe_jpeg;
use crate::share::outbox::{now_ms, Outbox};
use crate::share::{
    photo_check, Manifest, ReceiveRules, ShareBody, ShareConfig, ShareError, ShareKind,
    VerifiedShare, CHUNK_SIZE,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// What the owner asks to share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// Snapshot, photo or thought.
    pub kind: ShareKind,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// A photo's JPEG (b64u), for `photo`.
    #[serde(default)]
    pub photo: Option<String>,
    /// Contact or group names; empty means every contact allowed `snapshots`.
    #[serde(default)]
    pub to: Vec<String>,
}

/// What became of a new share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareReceipt {
    /// The share's id.
    pub id: String,
    /// The names of its audience; each gets it now if online, later otherwise.
    pub audience: Vec<String>,
}

/// A share that just arrived, for the screen (no contents in logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedNotice {
    /// The share's id.
    pub id: String,
    /// The sender's name in the contact book.
    pub from: String,
    /// Snapshot, photo or thought.
    pub kind: ShareKind,
    /// The share's text (a thought, or a photo's caption; may be empty).
    pub text: String,
    /// Where its JPEG is stored in the inbox, for a snapshot or photo.
    pub jpeg: Option<PathBuf>,
}

/// The device's share state, shared by its sessions.
pub struct Shares {
    pub(super) identity: Arc<Identity>,
    pub(super) contacts: LiveContacts,
    pub(super) media: LocalMedia,
    pub(super) config: ShareConfig,
    pub(super) outbox: Outbox,
    pub(super) outbox_lock: tokio::sync::Mutex<()>,
    pub(super) inbox: Inbox,
    /// Bumped whenever a share is queued, so sessions and the deliverer look again.
    pub(super) queued: watch::Sender<u64>,
    /// Contacts with a share session running now, and how many.
    pub(super) online: Mutex<HashMap<PeerKey, usize>>,
    /// Every share received, as it arrives (for the display).
    pub(super) received: tokio::sync::broadcast::Sender<ReceivedNotice>,
    /// What happens to this device's shares, in order: each one queued, then
    /// each contact's delivery or refusal (for the screen's count).
    pub(super) outgoing: tokio::sync::broadcast::Sender<Outgoing>,
    /// The same, kept for the recent shares (for `hearth share`'s report).
    pub(super) deliveries: Mutex<Deliveries>,
    /// Every contact the book has named since the device started (and every
    /// recipient of a share queued since). Shares are withdrawn from a contact
    /// only on the book's word: it is in the book without `snapshots`, or it
    /// was here and the owner removed it. Shares waiting for a key the book
    /// never named in this run (a contacts file restored, replaced or
    /// damaged) stay queued, for the owner to sort out.
    pub(super) known: Mutex<HashSet<PeerKey>>,
    /// While shares are refused because the inbox is full: what is wrong and
    /// what to do (for the screen and `hearth status`). Cleared once one fits
    /// again; every refusal notifies, so the screen says it each time.
    pub(super) inbox_full: watch::Sender<Option<String>>,
}

impl Shares {
    /// Opens the outbox and inbox under `data_dir`.
    pub fn open(
        data_dir: &Path,
        identity: Arc<Identity>,
        contacts: LiveContacts,
        media: LocalMedia,
        config: ShareConfig,
    ) -> Result<Self, ShareError> {
        let outbox = Outbox::open(data_dir, config.outbox())?;
        outbox.check_all()?;
        let known: HashSet<PeerKey> = contacts.with(|book| book.iter().map(|c| c.key).collect());
        for (key, waiting) in outbox.per_contact()? {
            if !known.contains(&key) {
                tracing::warn!(contact = %key.short(), waiting, "shares wait for a key that is not in the contact book; they stay queued. If the contact was removed on purpose, add it again and deny it `snapshots` to withdraw them");
            }
        }
        Ok(Shares {
            outbox,
            inbox: Inbox::open(data_dir, config.inbox_max_bytes)?,
            known: Mutex::new(known),
            identity,
            contacts,
            media,
            config,
            outbox_lock: tokio::sync::Mutex::new(()),
            queued: watch::Sender::new(0),
            online: Mutex::new(HashMap::new()),
            received: tokio::sync::broadcast::channel(16).0,
            outgoing: tokio::sync::broadcast::channel(256).0,
            deliveries: Mutex::new(Deliveries::default()),
            inbox_full: watch::Sender::new(None),
        })
    }

    /// Makes, signs and queues a share for its audience.
    pub async fn share(&self, request: ShareRequest) -> Result<ShareReceipt, ShareError> {
        let book = self.contacts.snapshot();
        let audience = resolve_audience(&book, &self.config, &request.to)?;
        let jpeg = match request.kind {
            ShareKind::Thought => None,
            ShareKind::Snapshot => {
                Some(super::snapshot::capture(&self.media, self.config.snapshot()).await?)
            }
            ShareKind::Photo => Some(decode_photo(request.photo, &self.config).await?),
        };
        if request.kind == ShareKind::Thought && request.text.trim().is_empty() {
            return Err(ShareError::Malformed(
                "a thought needs text: --text \"…\"".into(),
            ));
        }
        let body = ShareBody {
            v: 1,
            author: self.identity.peer_key(),
            created_at: now_ms(),
            kind: request.kind,
            text: request.text,
            jpeg: jpeg.as_deref().map(|j| describe_jpeg(j, CHUNK_SIZE)),
            audience: audience.iter().map(|(k, _)| *k).collect(),
        };
        let share = Manifest::sign(&self.identity, &body)?;
        share.manifest.verify(&self.config.limits())?;
        {
            let _guard = self.outbox_lock.lock().await;
            let keys: Vec<PeerKey> = audience.iter().map(|(k, _)| *k).collect();
            self.remember(&keys);
            if let Err(e) = self.outbox.add(&share, jpeg.as_deref(), &keys) {
                match &e {
                    ShareError::OutboxFull(_) => {
                        tracing::warn!(error = %e, "OUTBOX FULL: a share was not queued; the owner was told")
                    }
                    _ => {
                        tracing::error!(error = %e, "a share could not be queued; the owner was told")
                    }
                }
                return Err(e);
            }
        }
        tracing::info!(
            kind = share.body.kind.name(),
            recipients = audience.len(),
            "share queued"
        );
        // Announced before any session can push it, so its count starts at 0.
        self.announce(Outgoing::Queued {
            id: share.id.clone(),
            kind: share.body.kind,
            audience: audience.clone(),
        });
        self.queued.send_modify(|n| *n += 1);
        Ok(ShareReceipt {
            id: share.id,
            audience: audience.into_iter().map(|(_, name)| name).collect(),
        })
    }

    /// Records what happened to one of this device's shares and tells the
    /// screen. Recorded and sent under one lock, so whoever reads the record
    /// and then follows the channel misses nothing.
    pub(super) fn announce(&self, event: Outgoing) {
        let mut deliveries = self.deliveries.lock().expect("deliveries lock");
        deliveries.apply(&event);
        let _ = self.outgoing.send(event);
    }

    /// Where share `id` stands, waiting up to `wait` for every contact in its
    /// audience to have it (or refuse it). `None` if it is not a recent share.
    pub async fn delivery(&self, id: &str, wait: Duration) -> Option<DeliveryReport> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = {
            let deliveries = self.deliveries.lock().expect("deliveries lock");
            deliveries.get(id)?;
            self.outgoing.subscribe()
        };
        loop {
            let settled = {
                let deliveries = self.deliveries.lock().expect("deliveries lock");
                deliveries.get(id)?.settled()
            };
            if settled {
                break;
            }
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => break,
                Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {}
            }
        }
        let online: HashSet<PeerKey> = self
            .online
            .lock()
            .expect("online lock")
            .keys()
            .copied()
            .collect();
        let deliveries = self.deliveries.lock().expect("deliveries lock");
        Some(deliveries.get(id)?.report(|k| online.contains(k)))
    }

    /// What `peer` may push to this device: snapshots if approved, photos and
    /// thoughts only with `talk_back`.
    pub fn rules_for(&self, peer: &PeerKey) -> ReceiveRules {
        self.contacts.with(|book| policy::receive_rules(book, peer))
    }

    /// Whether `peer` may still receive this device's shares.
    pub fn may_send_to(&self, peer: &PeerKey) -> bool {
        self.contacts
            .with(|book| book.approved(peer).is_some_and(policy::may_receive_shares))
    }

    /// Notes contacts the book names (see [`Shares::known`]).
    pub(super) fn remember(&self, keys: &[PeerKey]) {
        self.known
            .lock()
            .expect("known lock")
            .extend(keys.iter().copied());
    }

    /// Whether the book says `peer` may no longer receive this device's
    /// shares, so they are withdrawn: it is in the book and not allowed
    /// `snapshots`, or it was in the book earlier in this run and was removed.
    /// A key the book never named since start is not withdrawn from.
    pub fn withdrawn_from(&self, peer: &PeerKey) -> bool {
        if self.may_send_to(peer) {
            return false;
        }
        self.contacts.with(|book| book.get(peer).is_some())
            || self.known.lock().expect("known lock").contains(peer)
    }

    /// The shares waiting for `peer`, with their JPEGs. Shares `peer` may no
    /// longer receive (it lost `snapshots`, or was removed) leave its queue;
    /// shares for a key the book never named in this run stay (see [`Shares::known`]).
    pub async fn pending_for(&self, peer: &PeerKey) -> Vec<(VerifiedShare, Option<Vec<u8>>)> {
        let _guard = self.outbox_lock.lock().await;
        let shares = match self.outbox.pending_for(peer) {
            Ok(shares) => shares,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                return vec![];
            }
        };
        let allowed = self.may_send_to(peer);
        let withdraw = !allowed && self.withdrawn_from(peer);
        let mut out = vec![];
        for share in shares {
            if withdraw {
                tracing::info!(contact = %peer.short(), "a waiting share was withdrawn: the contact no longer has `snapshots`");
                let _ = self.outbox.done(&share.id, peer);
                self.announce(Outgoing::Refused {
                    id: share.id.clone(),
                    to: *peer,
                    reason: WITHDRAWN.into(),
                });
                continue;
            }
            if !allowed {
                continue;
            }
            match self.outbox.jpeg(&share) {
                Ok(jpeg) => out.push((share, jpeg)),
                Err(e) => tracing::error!(error = %e, "a queued share was not sent"),
            }
        }
        out
    }

    /// `peer` is done with share `id`.
    pub async fn done(&self, id: &str, peer: &PeerKey) {
        let _guard = self.outbox_lock.lock().await;
        if let Err(e) = self.outbox.done(id, peer) {
            tracing::error!(error = %e, "cannot update the outbox");
        }
    }

    /// Names of the contacts with a share session running now.
    pub fn online_names(&self) -> Vec<String> {
        let keys: Vec<PeerKey> = self
            .online
            .lock()
            .expect("online lock")
            .keys()
            .copied()
            .collect();
        self.contacts.with(|book| {
            keys.iter()
                .map(|k| book.get(k).map_or_else(|| k.short(), |c| c.name.clone()))
                .collect()
        })
    }
}

/// Turns contact and group names into the audience: by default every
/// approved contact with `snapshots`; a named one must have it too.
pub fn resolve_audience(
    book: &ContactBook,
    config: &ShareConfig,
    to: &[String],
) -> Result<Vec<(PeerKey, String)>, ShareError> {
    let allowed = |c: &crate::contacts::Contact| policy::may_receive_shares(c);
    let mut audience: Vec<(PeerKey, String)> = vec![];
    if to.is_empty() {
        audience.extend(
            book.iter()
                .filter(|c| allowed(c))
                .map(|c| (c.key, c.name.clone())),
        );
    }
    for name in to {
        let members = config
            .groups
            .get(name)
            .cloned()
            .unwrap_or_else(|| vec![name.clone()]);
        for member in members {
            let contact = book
                .find(&member)
                .map_err(|e| ShareError::NotAllowed(e.to_string()))?;
            if !allowed(contact) {
                return Err(ShareError::NotAllowed(format!(
                    "{} may not receive shares; allow it with `hearth contacts allow {} snapshots`",
                    contact.name, contact.name
                )));
            }
            if !audience.iter().any(|(k, _)| *k == contact.key) {
                audience.push((contact.key, contact.name.clone()));
            }
        }
    }
    if audience.is_empty() {
        return Err(ShareError::NotAllowed(
            "nobody may receive shares yet; allow a contact with `hearth contacts allow NAME snapshots`".into(),
        ));
    }
    Ok(audience)
}

/// Why a contact that lost `snapshots` does not get a share.
pub(super) const WITHDRAWN: &str = "withdrawn: the contact no longer has `snapshots`";

/// The photo of a share request, decoded in full before it is accepted (off
/// the async threads): a JPEG that decodes is kept as it is, a PNG becomes a
/// JPEG (see [`crate::share::photo_check`]); anything else is refused.
async fn decode_photo(photo: Option<String>, config: &ShareConfig) -> Result<Vec<u8>, ShareError> {
    let text =
        photo.ok_or_else(|| ShareError::Malformed("a photo share needs --photo FILE".into()))?;
    let max_bytes = usize::try_from(config.max_jpeg_bytes).unwrap_or(usize::MAX);
    let result = tokio::task::spawn_blocking(move || {
        let bytes =
            crate::keys::from_b64(&text).map_err(|e| ShareError::Malformed(e.to_string()))?;
        photo_check::prepare_photo(&bytes, max_bytes)
    })
    .await
    .map_err(|e| ShareError::Malformed(format!("photo task: {e}")))?;
    if let Err(e) = &result {
        tracing::warn!(code = e.code(), error = %e, "a photo to share was refused");
    }
    result
}
