//! A Hearth node: this peer's identity on the signalling network. It keeps a
//! relay connection up, opens every incoming envelope (seal, signature,
//! recipient, replay), and routes what is inside — pairing requests to the
//! owner, offers to whoever answers calls, answers and candidates to the
//! session they belong to. Both the device and a viewer are nodes.

mod route;
mod routing;
pub mod stranger_budget;

pub use crate::policy::MAX_PENDING_REQUESTS;
pub use route::Offer;
pub use routing::{IncomingOffer, NodeEvent, RelayStatus};

use crate::envelope::{self, Recipient};
use crate::identity::{ContactCode, Identity};
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::relay::client::{ClientConfig, RelayClient, RelayHandle, SendOutcome};
use crate::relay::RelayIce;
use crate::signal::{SessionId, Signal};
use routing::Router;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, Mutex};

/// Errors from signalling.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The peer is not an approved contact, so nothing may be sent to it.
    #[error("{0:?} is not an approved contact; pair first (`hearth contacts add CODE`)")]
    NotAContact(PeerKey),
    /// The relay could not take the message.
    #[error("relay: {0}")]
    Relay(#[from] crate::relay::RelayError),
    /// The peer is not connected to the relay.
    #[error("{0:?} is offline")]
    Offline(PeerKey),
    /// The contact book could not be written.
    #[error(transparent)]
    Contacts(#[from] crate::contacts::ContactsError),
}

/// Settings for starting a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The name this node shows in its contact code.
    pub name: String,
    /// Relay URLs (the nodes of one relay or relay cluster); the first that
    /// answers is connected to, moving on when it fails, and all go into the
    /// contact code.
    pub relays: Vec<String>,
}

/// This peer on the signalling network. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

struct NodeInner {
    identity: Arc<Identity>,
    options: NodeOptions,
    contacts: LiveContacts,
    relay: RelayHandle,
    router: Arc<Router>,
    offers: Mutex<mpsc::Receiver<IncomingOffer>>,
}

impl Node {
    /// Starts the node: connects to the relay (reconnecting forever) and routes envelopes.
    pub fn start(identity: Arc<Identity>, contacts: LiveContacts, options: NodeOptions) -> Node {
        Self::start_with(identity, contacts, options, RelayIce::new())
    }

    /// Like [`Node::start`], keeping the relay's ICE servers fresh in `ice`
    /// (pass [`RtcSettings::relay_ice`](crate::api::RtcSettings::relay_ice)).
    pub fn start_with(
        identity: Arc<Identity>,
        contacts: LiveContacts,
        options: NodeOptions,
        ice: RelayIce,
    ) -> Node {
        let url = options.relays.first().cloned().unwrap_or_default();
        let (relay, relay_events) = RelayClient::spawn_any(
            options.relays.clone(),
            identity.signing_key().clone(),
            ClientConfig::default(),
            ice,
        );
        let (offers_tx, offers_rx) = mpsc::channel(16);
        let router = Arc::new(Router::new(
            identity.clone(),
            contacts.clone(),
            relay.clone(),
            &url,
            offers_tx,
        ));
        tokio::spawn(router.clone().run(relay_events));
        Node {
            inner: Arc::new(NodeInner {
                identity,
                options,
                contacts,
                relay,
                router,
                offers: Mutex::new(offers_rx),
            }),
        }
    }

    /// This node's public key.
    pub fn peer_key(&self) -> PeerKey {
        self.inner.identity.peer_key()
    }

    /// This node's signed contact code.
    pub fn contact_code(&self) -> ContactCode {
        self.inner
            .identity
            .contact_code(&self.inner.options.name, &self.inner.options.relays)
    }

    /// The live contact book.
    pub fn contacts(&self) -> &LiveContacts {
        &self.inner.contacts
    }

    /// Events: relay up/down and pairing requests and results.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.router.subscribe()
    }

    /// Whether the relay connection is up and authenticated.
    pub fn relay_connected(&self) -> bool {
        self.relay_status() == RelayStatus::Connected
    }

    /// Where this node stands with its relay now.
    pub fn relay_status(&self) -> RelayStatus {
        *self.relay_changes().borrow()
    }

    /// Follows [`Node::relay_status`] (the hook for the screen).
    pub fn relay_changes(&self) -> tokio::sync::watch::Receiver<RelayStatus> {
        self.inner.router.relay_status()
    }

    /// The relay this node connects to: the first of its relay URLs.
    pub fn relay_url(&self) -> &str {
        self.inner.options.relays.first().map_or("", String::as_str)
    }

    /// The ICE servers this node's relay handed out, kept fresh.
    pub fn relay_ice(&self) -> RelayIce {
        self.inner.relay.ice()
    }

    /// Leaves the signalling network: closes the relay connection for good
    /// (the router holds a handle too, so dropping the node alone does not).
    pub fn disconnect(&self) {
        self.inner.relay.shutdown();
    }

    /// The next session offer from an approved contact.
    pub async fn next_offer(&self) -> Option<IncomingOffer> {
        self.inner.offers.lock().await.recv().await
    }

    /// Where to send to an approved contact.
    pub fn recipient(&self, key: &PeerKey) -> Result<Recipient, NodeError> {
        self.inner
            .contacts
            .with(|book| {
                book.approved(key).map(|c| Recipient {
                    key: c.key,
                    seal_key: c.seal_key,
                })
            })
            .ok_or(NodeError::NotAContact(*key))
    }

    /// Seals `signal` to `to` and hands it to the relay.
    pub async fn send_to(&self, to: &Recipient, signal: &Signal) -> Result<(), NodeError> {
        let wire = envelope::seal(&self.inner.identity, to, signal, envelope::unix_ms_now());
        match self.inner.relay.send(to.key, wire).await? {
            SendOutcome::Delivered => Ok(()),
            SendOutcome::Offline => Err(NodeError::Offline(to.key)),
        }
    }

    /// Sends `signal` to an approved contact.
    pub async fn send(&self, to: &PeerKey, signal: &Signal) -> Result<(), NodeError> {
        let recipient = self.recipient(to)?;
        self.send_to(&recipient, signal).await
    }

    /// Routes later messages of session `session` with `peer` to the returned receiver.
    pub fn open_session(&self, peer: PeerKey, session: SessionId) -> mpsc::Receiver<Signal> {
        self.inner.router.open_session(peer, session)
    }

    /// Stops routing messages of a session.
    pub fn close_session(&self, peer: &PeerKey, session: &SessionId) {
        self.inner.router.close_session(peer, session)
    }

    /// Asks the owner of `code` to accept this node as a contact. The code's
    /// owner becomes an approved contact here (with nothing allowed).
    pub async fn request_pairing(&self, code: &ContactCode) -> Result<(), NodeError> {
        self.inner
            .contacts
            .update(|book| {
                book.upsert(code, crate::contacts::ContactStatus::Approved);
            })
            .await?;
        let request = Signal::PairRequest {
            code: self.contact_code().to_text(),
        };
        self.send(&code.peer_key, &request).await
    }
}
