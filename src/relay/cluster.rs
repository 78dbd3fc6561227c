//! The relay's NATS edge: carries out the hub's cluster actions. A node
//! subscribes to the subject of every key it holds, so NATS itself knows who
//! is online: a `send` to a key held elsewhere is published with a reply
//! subject, and NATS answers "no responders" at once when no node holds it.
//! Nothing is kept about keys held elsewhere, and nothing is persisted.
//!
//! One task (`Edge::run`) owns the held keys and the requests waiting for an
//! answer, so envelopes from one sender leave in the order they came; one
//! small task per held key delivers what other nodes forward and lets go
//! when another node claims the key later ([`Claim::lost_to`]); hearing an
//! older claim, it repeats its own, so one node keeps the key.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::{Client, ConnectOptions, Event, Message, StatusCode, Subscriber};
use futures_util::StreamExt;
use rand::RngCore;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, timeout, MissedTickBehavior};

use super::action::{ConnId, ForwardOutcome};
use super::cluster_wire::{
    confirm_subject, decode_answer, decode_envelope, encode_answer, encode_envelope, key_subject,
    reply_seq, reply_subject, reply_wildcard, Claim,
};
use super::error::RelayError;
use super::hub::Hub;
use super::nats_config::{redact, NatsConfig};
use super::protocol::{PeerKey, ServerFrame};
use super::server::RelayState;

/// How long a node waits for NATS to confirm a new subscription before it
/// tells the client `ready` anyway.
const CONFIRM_WAIT: Duration = Duration::from_secs(2);
/// How long a released key's subscription still answers (offline) what
/// other nodes sent before NATS heard of the release.
const RELEASE_GRACE: Duration = Duration::from_millis(500);
/// How long forwarding waits for room in the NATS client's queue.
const PUBLISH_WAIT: Duration = Duration::from_millis(100);
/// How often requests past their deadline are answered `relay_unavailable`.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// A cluster action handed from the hub (under the relay's lock) to the edge.
pub(super) enum Command {
    /// See [`super::action::Action::Hold`].
    Hold { key: PeerKey, conn: ConnId },
    /// See [`super::action::Action::Release`].
    Release { key: PeerKey },
    /// See [`super::action::Action::ForwardRemote`].
    Forward {
        to: PeerKey,
        from: PeerKey,
        data: Vec<u8>,
        ack: ConnId,
        id: u64,
    },
}

/// The sending side the relay's dispatch uses; never blocks.
#[derive(Clone)]
pub(super) struct ClusterLink {
    tx: mpsc::UnboundedSender<Command>,
}

impl ClusterLink {
    /// Hands `command` to the edge; after shutdown it is dropped.
    pub(super) fn send(&self, command: Command) {
        if self.tx.send(command).is_err() {
            tracing::debug!("cluster edge stopped; dropping a cluster action");
        }
    }
}

/// Connects to the NATS servers of `config`; fails with the fix if none answers.
pub(super) async fn connect(config: &NatsConfig) -> Result<Client, RelayError> {
    let shown: Vec<String> = config.urls.iter().map(|u| redact(u)).collect();
    let mut options =
        ConnectOptions::new()
            .name("hearth-relay")
            .event_callback(|event| async move {
                match event {
                    Event::Connected => tracing::info!("connected to NATS"),
                    Event::Disconnected => {
                        tracing::warn!(
                            "lost NATS; reconnecting (sends to other nodes fail meanwhile)"
                        )
                    }
                    Event::SlowConsumer(_) => {
                        tracing::warn!(
                            "NATS dropped messages to this relay node: it is not keeping up"
                        )
                    }
                    other => tracing::info!(event = %other, "NATS"),
                }
            });
    if let Some(ca) = &config.ca_file {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    options.connect(config.urls.clone()).await.map_err(|e| {
        RelayError::Cluster(format!(
            "cannot reach NATS at {} ({e}); start nats-server there or fix [nats] urls (--nats)",
            shown.join(", ")
        ))
    })
}

/// Starts the edge of `state` on `client`; it runs until the relay shuts down.
pub(super) fn start(
    state: RelayState,
    client: Client,
    rx: mpsc::UnboundedReceiver<Command>,
    request_timeout: Duration,
) {
    let node = rand::rngs::OsRng.next_u64();
    let edge = Edge {
        state,
        client,
        node,
        held: HashMap::new(),
        pending: BTreeMap::new(),
        seq: 0,
        request_timeout,
    };
    tokio::spawn(edge.run(rx));
}

/// The link for a relay state whose edge [`start`] will run on `rx`.
pub(super) fn link() -> (ClusterLink, mpsc::UnboundedReceiver<Command>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ClusterLink { tx }, rx)
}

struct Held {
    claim: Arc<Mutex<Claim>>,
    release: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

struct Pending {
    ack: ConnId,
    id: u64,
    deadline: Instant,
}

struct Edge {
    state: RelayState,
    client: Client,
    node: u64,
    held: HashMap<PeerKey, Held>,
    pending: BTreeMap<u64, Pending>,
    seq: u64,
    request_timeout: Duration,
}

impl Edge {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut shutdown = self.state.inner.shutdown.subscribe();
        let mut replies = match self.client.subscribe(reply_wildcard(self.node)).await {
            Ok(sub) => sub,
            Err(e) => {
                tracing::error!(error = %e, "cannot subscribe to this node's answers; cluster forwarding is off");
                return;
            }
        };
        let mut sweep = interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(node = %format!("{:016x}", self.node), "relay node joined the cluster");
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => break,
                },
                answer = replies.next() => match answer {
                    Some(message) => self.answer(message),
                    None => break,
                },
                _ = sweep.tick() => self.expire(Instant::now()),
                _ = shutdown.changed() => break,
            }
        }
        for (_, held) in self.held.drain() {
            held.task.abort();
        }
        tracing::debug!("cluster edge stopped");
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Hold { key, conn } => self.hold(key, conn).await,
            Command::Release { key } => {
                if let Some(held) = self.held.remove(&key) {
                    // The task drains its subscription, answering what is still on the way.
                    let _ = held.release.send(());
                }
            }
            Command::Forward {
                to,
                from,
                data,
                ack,
                id,
            } => {
                self.seq += 1;
                let seq = self.seq;
                let deadline = Instant::now() + self.request_timeout;
                self.pending.insert(seq, Pending { ack, id, deadline });
                let body = encode_envelope(&to, &from, &data);
                let publish = self.client.publish_with_reply(
                    key_subject(&to),
                    reply_subject(self.node, seq),
                    body.into(),
                );
                // While NATS is away its queue fills up: answer at once, do not wait.
                let sent = match timeout(PUBLISH_WAIT, publish).await {
                    Ok(sent) => sent.map_err(|e| e.to_string()),
                    Err(_) => Err("the NATS client's queue is full".to_string()),
                };
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "cannot forward through NATS");
                    if let Some(p) = self.pending.remove(&seq) {
                        answer_sender(&self.state, p.ack, p.id, ForwardOutcome::Unavailable);
                    }
                }
            }
        }
    }

    async fn hold(&mut self, key: PeerKey, conn: ConnId) {
        let claim = Claim {
            at_ms: unix_ms(),
            node: self.node,
        };
        let subject = key_subject(&key);
        if let Some(held) = self.held.get(&key) {
            // A second connection here took over: the subscription stands.
            *lock(&held.claim) = claim;
            publish_claim(&self.client, &subject, claim).await;
            tell_ready(&self.state, &key, conn);
            return;
        }
        let subscriber = match self.client.subscribe(subject.clone()).await {
            Ok(sub) => Some(sub),
            Err(e) => {
                tracing::warn!(key = %key.short(), error = %e, "cannot subscribe on NATS; other nodes see this key offline");
                None
            }
        };
        let claim = Arc::new(Mutex::new(claim));
        let (release, released) = oneshot::channel();
        let held = HeldKey {
            state: self.state.clone(),
            client: self.client.clone(),
            key,
            claim: claim.clone(),
        };
        let task = tokio::spawn(held.run(subject, subscriber, conn, released));
        self.held.insert(
            key,
            Held {
                claim,
                release,
                task,
            },
        );
    }

    fn answer(&mut self, message: Message) {
        let Some(pending) = reply_seq(&message.subject).and_then(|s| self.pending.remove(&s))
        else {
            return; // answered already (timed out) or not ours
        };
        let outcome = if message.status == Some(StatusCode::NO_RESPONDERS) {
            ForwardOutcome::Gone
        } else {
            decode_answer(&message.payload)
        };
        answer_sender(&self.state, pending.ack, pending.id, outcome);
    }

    fn expire(&mut self, now: Instant) {
        while let Some(entry) = self.pending.first_entry() {
            if entry.get().deadline > now {
                break;
            }
            let p = entry.remove();
            tracing::info!("another relay node did not answer in time");
            answer_sender(&self.state, p.ack, p.id, ForwardOutcome::Unavailable);
        }
    }
}

/// What the task serving one held key needs.
struct HeldKey {
    state: RelayState,
    client: Client,
    key: PeerKey,
    claim: Arc<Mutex<Claim>>,
}

impl HeldKey {
    /// Announces the claim on the key's subject, confirms the subscription,
    /// tells `conn` it is ready, then serves the key until another node takes
    /// it (then the other node answers for it) or it is `released` here. A
    /// key that left is still answered for (offline) for [`RELEASE_GRACE`],
    /// what NATS routed here before it heard of the release, instead of
    /// letting those senders time out; until another node claims the key.
    async fn run(
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

async fn publish_claim(client: &Client, subject: &str, claim: Claim) {
    let body = claim.encode().to_vec();
    if let Err(e) = client.publish(subject.to_string(), body.into()).await {
        tracing::warn!(error = %e, "cannot announce a key on NATS");
    }
}

/// Writes `ready` to `conn` if it still holds `key`.
fn tell_ready(state: &RelayState, key: &PeerKey, conn: ConnId) {
    let mut shared = state.lock();
    if shared.hub.holder(key) == Some(conn) {
        shared.push(conn, ServerFrame::Ready.to_text());
    }
}

/// Answers the sender's request `id` on `ack` with how forwarding went.
fn answer_sender(state: &RelayState, ack: ConnId, id: u64, outcome: ForwardOutcome) {
    let text = Hub::forward_reply(id, outcome).to_text();
    state.lock().push(ack, text);
}

fn lock(claim: &Mutex<Claim>) -> std::sync::MutexGuard<'_, Claim> {
    claim.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
