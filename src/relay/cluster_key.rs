//! One key a relay node holds in a cluster: the task that announces the
//! node's claim, confirms the subscription before the client hears `ready`,
//! delivers what other nodes forward to the key, lets go when another node
//! claims it later (and repeats its own claim on hearing an older one), and,
//! once the key left, still answers for it a little while.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Client, Message, Subscriber};
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio::time::timeout;

use super::action::{ConnId, ForwardOutcome};
use super::cluster_wire::{confirm_subject, decode_envelope, encode_answer, Claim};
use super::protocol::{PeerKey, ServerFrame};
use super::server::RelayState;

/// How long a node waits for NATS to confirm a new subscription before it
/// tells the client `ready` anyway.
const CONFIRM_WAIT: Duration = Duration::from_secs(2);
/// How long a released key's subscription still answers (offline) what
/// other nodes sent before NATS heard of the release.
const RELEASE_GRACE: Duration = Duration::from_millis(500);

/// What the task serving one held key needs.
pub(super) struct HeldKey {
    pub(super) state: RelayState,
    pub(super) client: Client,
    pub(super) key: PeerKey,
    pub(super) claim: Arc<Mutex<Claim>>,
}

impl HeldKey {
    /// Announces the claim on the key's subject, confirms the subscription,
    /// tells `conn` it is ready, then serves the key until another node takes
    /// it (then the other node answers for it) or it is `released` here. A
    /// key that left is still answered for (offline) for [`RELEASE_GRACE`],
    /// what NATS routed here before it heard of the release, instead of
    /// letting those senders time out; until another node claims the key.
    pub(super) async fn run(
        self,
        subject: String,
        subscriber: Option<Subscriber>,
        conn: ConnId,
        mut released: oneshot::Receiver<()>,
    ) {
        let first = *lock(&self.claim);
        publish_claim(&self.client, &subject, first).await;
        confirm(&self.client, &self.key).await;
        tell_ready(&self.state, &self.key, conn);
        let Some(mut subscriber) = subscriber else {
            return;
        };
        loop {
            tokio::select! {
                message = subscriber.next() => match message {
                    Some(message) => {
                        if self.on_message(message, true).await == Flow::Stop {
                            return; // dropping the subscriber unsubscribes
                        }
                    }
                    None => return,
                },
                _ = &mut released => break,
            }
        }
        let grace = tokio::time::sleep(RELEASE_GRACE);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                message = subscriber.next() => match message {
                    Some(message) => {
                        if self.on_message(message, false).await == Flow::Stop {
                            return;
                        }
                    }
                    None => return,
                },
                _ = &mut grace => return,
            }
        }
    }

    /// An envelope to deliver (it has a reply subject) or a claim. While the
    /// key is `held`, a later claim from another node takes it; after, any
    /// claim from another node ends the grace.
    async fn on_message(&self, message: Message, held: bool) -> Flow {
        let Some(reply) = message.reply else {
            return match on_claim(&self.state, &self.key, &message.payload, &self.claim, held) {
                Heard::Nothing => Flow::Go,
                Heard::Older(ours) => {
                    // Ours is the later claim: say so, so the other node lets go.
                    publish_claim(&self.client, &message.subject, ours).await;
                    Flow::Go
                }
                Heard::Taken => Flow::Stop,
            };
        };
        let outcome = deliver(&self.state, &self.key, &message.payload);
        let answer = encode_answer(outcome).to_vec();
        if let Err(e) = self.client.publish(reply, answer.into()).await {
            tracing::debug!(error = %e, "cannot answer a forwarded envelope");
        }
        Flow::Go
    }
}

/// Whether a held key's task goes on serving its subscription.
#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// What a claim heard on a key's subject meant here.
enum Heard {
    /// Ours, unreadable, or nothing to do.
    Nothing,
    /// Another node's older claim: ours (returned) must be repeated.
    Older(Claim),
    /// Another node has the key now; this node let go of it.
    Taken,
}

/// A claim heard on `key`'s subject: a later one from another node takes
/// the key (while `held`; after release any claim from another node means
/// someone else answers for it now).
fn on_claim(
    state: &RelayState,
    key: &PeerKey,
    body: &[u8],
    claim: &Mutex<Claim>,
    held: bool,
) -> Heard {
    let Some(incoming) = Claim::decode(body) else {
        tracing::warn!(
            "unreadable claim from another relay node; run the same Hearth version on every node"
        );
        return Heard::Nothing;
    };
    let ours = *lock(claim);
    if incoming.node == ours.node {
        return Heard::Nothing;
    }
    if !held {
        return Heard::Taken;
    }
    if !ours.lost_to(incoming) {
        return Heard::Older(ours);
    }
    let mut shared = state.lock();
    let actions = shared.hub.on_taken(key);
    shared.dispatch(actions);
    Heard::Taken
}

/// Waits until our NATS server has handled everything this node sent before
/// (the new subscription with it, and so has passed it on to its routes):
/// a request nobody listens to comes back "no responders" only after that.
async fn confirm(client: &Client, key: &PeerKey) {
    let probe = client.request(confirm_subject(), Default::default());
    match timeout(CONFIRM_WAIT, probe).await {
        Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => {}
        Ok(Ok(_)) => tracing::warn!(
            "something answers on hearth.confirm; keep NATS private to the relay nodes"
        ),
        Ok(Err(e)) => {
            tracing::warn!(key = %key.short(), error = %e, "NATS did not confirm a new key; other nodes may see it offline for a moment")
        }
        Err(_) => {
            tracing::warn!(key = %key.short(), "NATS did not confirm a new key in time; other nodes may see it offline for a moment")
        }
    }
}

/// Hands an envelope another node forwarded to the connection holding `key`.
fn deliver(state: &RelayState, key: &PeerKey, body: &[u8]) -> ForwardOutcome {
    let Some((from, data)) = decode_envelope(key, body) else {
        tracing::warn!("unreadable envelope from another relay node; run the same Hearth version on every node");
        return ForwardOutcome::Unavailable;
    };
    let text = ServerFrame::Deliver { from, data }.to_text();
    let mut shared = state.lock();
    match shared.hub.holder(key) {
        Some(conn) => shared.hand_over(conn, text),
        None => ForwardOutcome::Gone,
    }
}

pub(super) async fn publish_claim(client: &Client, subject: &str, claim: Claim) {
    let body = claim.encode().to_vec();
    if let Err(e) = client.publish(subject.to_string(), body.into()).await {
        tracing::warn!(error = %e, "cannot announce a key on NATS");
    }
}

/// Writes `ready` to `conn` if it still holds `key`.
pub(super) fn tell_ready(state: &RelayState, key: &PeerKey, conn: ConnId) {
    let mut shared = state.lock();
    if shared.hub.holder(key) == Some(conn) {
        shared.push(conn, ServerFrame::Ready.to_text());
    }
}

/// Our claim, even if a panic elsewhere poisoned its lock.
pub(super) fn lock(claim: &Mutex<Claim>) -> std::sync::MutexGuard<'_, Claim> {
    claim.lock().unwrap_or_else(|e| e.into_inner())
}
