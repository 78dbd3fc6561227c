//! The relay's NATS edge: carries out the hub's cluster actions. A node
//! subscribes to the subject of every key it holds, so NATS itself knows who
//! is online: a `send` to a key held elsewhere is published with a reply
//! subject, and NATS answers "no responders" at once when no node holds it.
//! Nothing is kept about keys held elsewhere, and nothing is persisted.
//!
//! One task (`Edge::run`) owns the held keys and the requests waiting for an
//! answer, so envelopes from one sender leave in the order they came; one
//! small task per held key (`cluster_key.rs`) delivers what other nodes
//! forward and lets go when another node claims the key later.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::{Client, ConnectOptions, Event, Message, StatusCode};
use futures_util::StreamExt;
use rand::RngCore;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, timeout, MissedTickBehavior};

use super::action::{ConnId, ForwardOutcome};
use super::cluster_key::{lock, publish_claim, tell_ready, HeldKey};
use super::cluster_wire::{
    decode_answer, encode_envelope, key_subject, reply_seq, reply_subject, reply_wildcard, Claim,
};
use super::error::RelayError;
use super::hub::Hub;
use super::nats_config::{redact, NatsConfig};
use super::protocol::PeerKey;
use super::server::RelayState;

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

/// Answers the sender's request `id` on `ack` with how forwarding went.
fn answer_sender(state: &RelayState, ack: ConnId, id: u64, outcome: ForwardOutcome) {
    let text = Hub::forward_reply(id, outcome).to_text();
    state.lock().push(ack, text);
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
